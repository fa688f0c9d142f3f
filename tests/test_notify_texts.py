"""What a family reads: each message names the facility, the local date and time with its zone,
and the code; a rejection its reason, a closure its cause; wa.me links carry it whole; retries
spread out and stop growing at an hour."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from services.notify.messages import MAX_NOTE, Facts, compose, wa_me, with_link
from services.notify.notifier import RETRY_CAP_S, retry_delay
from services.notify.records import MessageKind
from services.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, Delivery, sign

MAKASSAR_10AM = 1_800_064_800_000  # Saturday 16 January 2027, 10:00 WITA (02:00 UTC)


def facts(**details: object) -> Facts:
    return Facts("Lapas Makassar", "Asia/Makassar", "K7Q2MX", MAKASSAR_10AM, details)


def test_every_message_names_the_facility_the_local_time_and_the_code() -> None:
    """Indonesian first, then an English line; the time is the facility's, with its zone."""
    for kind in MessageKind:
        text = compose(kind, facts())
        indonesian, english = text.split("\n")
        assert indonesian.startswith("Lapas Makassar: kunjungan Sabtu, 16 Januari 2027")
        assert "pukul 10.00 WITA" in indonesian and "K7Q2MX" in indonesian
        assert "Sat 16 Jan 2027 10:00 WITA" in english and "K7Q2MX" in english


def test_a_rejection_gives_its_reason_and_the_officers_note_cut_short() -> None:
    """The canned reason in both languages; the note on one line, at most MAX_NOTE characters."""
    note = "Mohon\nbawa KTP asli. " + "x" * 500
    text = compose(MessageKind.REJECTED, facts(reason="incomplete_data", note=note))
    assert "Alasan: Data tidak lengkap." in text and "Reason: The details are incomplete." in text
    quoted = text.split("Catatan: ", 1)[1].split("\n")[0]
    assert quoted.startswith("Mohon bawa KTP asli.") and len(quoted) == MAX_NOTE
    assert "Alasan: Alasan lain." in compose(MessageKind.REJECTED, facts(reason="bogus"))


def test_a_cancellation_says_who_cancelled_and_a_closure_why() -> None:
    closed = compose(MessageKind.CANCELLED, facts(by="closure", reason="Banjir"))
    assert "penutupan darurat: Banjir" in closed and "emergency" in closed
    assert "Anda batalkan" in compose(MessageKind.CANCELLED, facts(by="family"))
    assert "oleh petugas" in compose(MessageKind.CANCELLED, facts(by="officer"))


def test_a_wa_me_link_carries_the_whole_message() -> None:
    """Digits of the phone only; the text, newlines, `&` and `#` included, comes back whole."""
    text = with_link("Kode A&B #1\nbaris dua", "https://visit.example/v/abc")
    link = wa_me("+62 812-3456-7890", text)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", "/6281234567890")
    assert parts.query.startswith("text=") and "&" not in parts.query and not parts.fragment
    assert unquote(parts.query.removeprefix("text=")) == text
    assert text.endswith("\nhttps://visit.example/v/abc") and with_link("t", None) == "t"


def test_retries_back_off_with_jitter_up_to_an_hour() -> None:
    """Each delay lies in the upper half of 5 s · 2^(n-1), capped at an hour; delays vary."""
    rng = random.Random(7)
    for attempts in range(1, 30):
        ceiling = min(RETRY_CAP_S, 5.0 * 2 ** (attempts - 1))
        delays = [retry_delay(attempts, rng) for _ in range(20)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_the_documented_gateway_check_accepts_our_signature_only() -> None:
    """The verification shown to gateway builders in docs/notifications.md accepts what the
    notifier signs, and refuses a changed body, another secret and an old timestamp."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "notifications.md").read_text()
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(code, scope)  # noqa: S102 - our own documentation
    verified = scope["verified"]
    secret = b"gateway-shared-secret-0123456789"
    body = Delivery("n_1", "approved", "v_1", "+6281234567890", "teks", None).body()
    now = int(time.time())
    headers = {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign(secret, now, body)}
    assert verified(secret, headers, body)
    assert not verified(secret, headers, body.replace(b"teks", b"palsu"))
    assert not verified(b"another-secret-0123456789", headers, body)
    old = now - 3600
    stale = {TIMESTAMP_HEADER: str(old), SIGNATURE_HEADER: sign(secret, old, body)}
    assert not verified(secret, stale, body)
