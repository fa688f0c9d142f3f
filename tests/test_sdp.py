"""Reading an SDP's direction: a monitor's description must receive only."""

from __future__ import annotations

import pytest

from signaling.sdp import SdpError, check, lines, sends_media

AUDIO = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
VIDEO = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
DATA = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"


@pytest.mark.parametrize(
    ("sdp", "sends"),
    [
        ("v=0\r\n" + AUDIO + "a=recvonly\r\n" + VIDEO + "a=recvonly\r\n", False),
        ("v=0\r\n" + AUDIO + "a=inactive\r\n", False),
        ("v=0\r\n" + DATA, False),
        ("v=0\r\n" + AUDIO, True),  # no direction: sendrecv by default
        ("v=0\r\n" + AUDIO + "a=recvonly\r\n" + VIDEO + "a=sendonly\r\n", True),
        ("v=0\r\na=recvonly\r\n" + AUDIO + VIDEO, False),  # session level applies to both
        ("v=0\r\na=recvonly\r\n" + AUDIO + VIDEO + "a=sendrecv\r\n", True),
    ],
)
def test_direction(sdp: str, sends: bool) -> None:
    assert sends_media(sdp) is sends


def test_lines_split_on_crlf_or_lf_only() -> None:
    """Lines end at LF (a CR before it dropped), as in a browser; LF-only SDP reads the same."""
    assert sends_media("v=0\n" + AUDIO.replace("\r\n", "\n") + "a=recvonly\n") is False
    assert lines("v=0\r\na=recvonly\nm=audio 9 x") == ["v=0", "a=recvonly", "m=audio 9 x"]


@pytest.mark.parametrize(
    "hidden",
    ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\r", "\x00", "\t", "\x7f"],
)
def test_control_character_is_refused(hidden: str) -> None:
    """A direction hidden behind a line break only Python knows (VT, FF, FS…, NEL) or behind any
    other control character is refused, never read as a line of its own."""
    sdp = "v=0\r\n" + AUDIO + f"a=x-note:1{hidden}a=recvonly\r\n"
    with pytest.raises(SdpError):
        sends_media(sdp)


@pytest.mark.parametrize("hidden", ["\x0b", "\x85", "\r", "\x00", "\x9f"])
def test_control_character_is_refused_in_non_ascii_sdp_too(hidden: str) -> None:
    """An SDP with non-ASCII text (which takes the slower check) is refused for the same control
    characters, C1 controls included."""
    sdp = "v=0\r\ns=Lapas Cilegon — Ruang 1\r\n" + AUDIO + f"a=x-note:1{hidden}a=recvonly\r\n"
    with pytest.raises(SdpError):
        sends_media(sdp)


def test_line_breaks_are_not_control_characters() -> None:
    """CRLF and LF line breaks, ASCII or not, pass the check."""
    for text in ("v=0\r\n" + AUDIO, "v=0\n" + AUDIO.replace("\r\n", "\n"), "s=Ruang — 1\r\n"):
        check(text)
