"""The key family links are derived with: made once in the data directory, private, kept across
restarts (so a link sent to a family keeps working), and refused when too short."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from services.access.links import FamilyLinks
from services.errors import ConfigError
from services.ids import ParticipantId
from services.settings import Settings


def test_the_link_key_is_made_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh data directory gets a private link.key; a restart reads the same key back, so the
    same seat gets the same link."""
    monkeypatch.delenv("TATAP_LINK_KEY", raising=False)
    first = Settings.from_env(data_dir=tmp_path)
    path = tmp_path / "link.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = Settings.from_env(data_dir=tmp_path)
    seat = ParticipantId("p_1")
    assert first.link_key == again.link_key
    assert FamilyLinks(first.link_key).secret(seat) == FamilyLinks(again.link_key).secret(seat)


def test_a_short_link_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A guessable key would make every family link guessable: refused at start-up."""
    monkeypatch.setenv("TATAP_LINK_KEY", "short")
    with pytest.raises(ConfigError):
        Settings.from_env(data_dir=tmp_path)
    with pytest.raises(ConfigError):
        FamilyLinks(b"short")


def test_a_family_link_looks_like_a_random_one() -> None:
    """256 bits in URL-safe base64 (43 characters), different for each seat."""
    links = FamilyLinks(b"k" * 32)
    one, two = links.secret(ParticipantId("p_1")), links.secret(ParticipantId("p_2"))
    assert len(one) == 43 and one != two
    assert all(c.isalnum() or c in "-_" for c in one)
