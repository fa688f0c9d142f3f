"""Reading an SDP's direction: a monitor's description must receive only."""

from __future__ import annotations

import pytest

from signaling.sdp import sends_media

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
