"""The composition root chooses backends once and refuses what it cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.errors import ConfigError
from signaling.app import create_app
from signaling.bus import LocalBus
from tests.conftest import make_settings


def test_redis_url_is_refused_clearly(tmp_path: Path) -> None:
    """Asking for the several-node shape gets a clear error, not a half-working node."""
    with pytest.raises(ConfigError, match="one node only"):
        create_app(make_settings(tmp_path, redis_url="redis://127.0.0.1:1"))


def test_unknown_database_scheme_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported database"):
        create_app(make_settings(tmp_path, db_url="mysql://x"))


def test_local_bus_delivers_to_the_subscribed_visit_only() -> None:
    """A frame published for one visit reaches that visit's subscriber and no other."""
    bus = LocalBus()
    got: list[tuple[str, str, str, str]] = []
    bus.subscribe("v1", lambda f, to, skip: got.append(("v1", f, to, skip)))
    bus.subscribe("v2", lambda f, to, skip: got.append(("v2", f, to, skip)))
    bus.publish("v1", "hello", to="p1")
    bus.publish("v3", "lost")
    bus.unsubscribe("v2")
    bus.publish("v2", "gone")
    assert got == [("v1", "hello", "p1", "")]
