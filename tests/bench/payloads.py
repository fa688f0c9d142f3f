"""Signaling payloads of realistic size: a browser's audio+video offer (about 3.5 KB of SDP), the
answer (about 2.5 KB) and trickled ICE candidates (about 200 bytes)."""

from __future__ import annotations

from typing import Any

_AUDIO = """m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:{ufrag}
a=ice-pwd:{pwd}
a=ice-options:trickle
a=fingerprint:sha-256 {fingerprint}
a=setup:{setup}
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a={direction}
a=msid:{stream} 6f1a2b3c-audio-track
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:1842736455 cname:Xk3pQ9vLr2TmWz8e
a=ssrc:1842736455 msid:{stream} 6f1a2b3c-audio-track
"""

_VIDEO = """m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:{ufrag}
a=ice-pwd:{pwd}
a=ice-options:trickle
a=fingerprint:sha-256 {fingerprint}
a=setup:{setup}
a=mid:1
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:13 urn:3gpp:video-orientation
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type
a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing
a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
a={direction}
a=msid:{stream} 9e8d7c6b-video-track
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 transport-cc
a=rtcp-fb:102 ccm fir
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
a=rtpmap:104 H264/90000
a=rtcp-fb:104 goog-remb
a=rtcp-fb:104 transport-cc
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f
a=rtpmap:105 rtx/90000
a=fmtp:105 apt=104
a=rtpmap:39 AV1/90000
a=rtcp-fb:39 goog-remb
a=rtcp-fb:39 transport-cc
a=rtcp-fb:39 nack
a=rtpmap:40 rtx/90000
a=fmtp:40 apt=39
a=ssrc-group:FID 3127364501 2287139045
a=ssrc:3127364501 cname:Xk3pQ9vLr2TmWz8e
a=ssrc:3127364501 msid:{stream} 9e8d7c6b-video-track
a=ssrc:2287139045 cname:Xk3pQ9vLr2TmWz8e
a=ssrc:2287139045 msid:{stream} 9e8d7c6b-video-track
"""

_FINGERPRINT = ":".join(
    "4F 2A 91 0C DE 77 1B 53 A8 3E C9 60 12 F4 8D B7".split()
    + "25 6A E0 39 9C 41 7D 88 B2 0E 53 C6 1F A4 D9 70".split()
)

_HEAD = """v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=extmap-allow-mixed
a=msid-semantic: WMS {stream}
"""


def _sdp(setup: str, answer: bool) -> str:
    fields = {
        "ufrag": "sXk3",
        "pwd": "Zr6pVq9LmN2wT8yB4cF1hJ0k",
        "setup": setup,
        "direction": "sendrecv",
        "stream": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
        "fingerprint": _FINGERPRINT,
    }
    video = _VIDEO
    if answer:  # an answer keeps only the codecs it picked
        video = (
            "\n".join(
                line
                for line in video.splitlines()
                if not any(
                    f":{pt} " in line or f":{pt}\n" in line for pt in ("104", "105", "39", "40")
                )
            )
            + "\n"
        )
    text = (_HEAD + _AUDIO + video).format(**fields)
    return text.replace("\n", "\r\n")


OFFER: dict[str, Any] = {"sdp": {"type": "offer", "sdp": _sdp("actpass", answer=False)}}
ANSWER: dict[str, Any] = {"sdp": {"type": "answer", "sdp": _sdp("active", answer=True)}}
CANDIDATES: list[dict[str, Any]] = [
    {
        "candidate": {
            "candidate": f"candidate:{842163049 + i} 1 udp {2122260223 - i * 256}"
            f" 192.168.1.{23 + i}"
            f" {53705 + i} typ host generation 0 ufrag sXk3 network-id {i + 1}"
            " network-cost 10",
            "sdpMid": str(i % 2),
            "sdpMLineIndex": i % 2,
            "usernameFragment": "sXk3",
        }
    }
    for i in range(4)
]
