"""The little SDP reading the server does: whether an offer or answer would send media."""

from __future__ import annotations

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def sends_media(sdp: str) -> bool:
    """True when any audio or video section would send: its direction (or the session's, or the
    default, which is sendrecv) is sendrecv or sendonly. Data channels carry no media."""
    session_dir = ""
    sections: list[tuple[str, str]] = []  # (media kind, direction)
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            sections.append((line[2:].split(" ", 1)[0], ""))
        elif line.startswith("a=") and line[2:] in DIRECTIONS:
            if sections:
                sections[-1] = (sections[-1][0], line[2:])
            else:
                session_dir = line[2:]
    for kind, direction in sections:
        if kind == "application":
            continue
        if (direction or session_dir or "sendrecv") in ("sendrecv", "sendonly"):
            return True
    return False
