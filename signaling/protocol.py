"""The wire protocol (see PROTOCOL.md): pure parse and serialise functions over typed messages.

Nothing here touches a socket, so the terminal agent and the tests use the same code as the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from signaling import sdp as sdp_text

VERSION = 1

# Close codes (4000–4999 are ours; see PROTOCOL.md).
CLOSE_ENDED = 4000  # the visit is over; an `ended` message came first
CLOSE_REPLACED = 4001  # the same participant connected again elsewhere
CLOSE_ABUSE = 4400  # too many protocol errors
CLOSE_UNAUTHORIZED = 4401  # no valid token or credentials (or none in time)
# Refusals close with the code of their error (services.errors: 4403, 4404, 4409, 4410, 4425).
CLOSE_SHUTDOWN = 1012  # the server is restarting: reconnect (to any node)

# Error codes carried by `error` messages.
E_BAD_JSON = "bad_json"
E_BAD_MESSAGE = "bad_message"
E_UNKNOWN_TYPE = "unknown_type"
E_TOO_LARGE = "too_large"
E_NOT_JOINED = "not_joined"
E_NOT_ALLOWED = "not_allowed"
E_UNKNOWN_TARGET = "unknown_target"
E_RATE_LIMITED = "rate_limited"

MAX_ID = 64
MAX_TEXT = 500


class ProtocolError(Exception):
    """A client message we cannot accept; ``code`` goes back in an `error` message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Hello:
    token: str = ""
    device_id: str = ""
    device_secret: str = ""


@dataclass(frozen=True, slots=True)
class Signal:
    to: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ping:
    id: int | str | None = None


@dataclass(frozen=True, slots=True)
class MediaUp:
    """The client's media is flowing (`connected`)."""


@dataclass(frozen=True, slots=True)
class Leave:
    """The participant leaves for good (hang-up button)."""


@dataclass(frozen=True, slots=True)
class Terminate:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    code: str


Inbound = Hello | Signal | Ping | MediaUp | Leave | Terminate | Notice

# Canned officer notices; the pages translate the code.
NOTICES = frozenset({"dress_code", "unregistered_person", "behaviour", "time_check", "audio_only"})


def parse(raw: str | bytes) -> Inbound:
    """One client frame → one message, or ProtocolError naming what is wrong."""
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(E_BAD_JSON, "frame is not valid JSON") from exc
    if not isinstance(msg, dict):
        raise ProtocolError(E_BAD_MESSAGE, "a message is a JSON object")
    kind = msg.get("type")
    if kind == "signal":
        return Signal(_id(msg, "to"), _signal_data(msg.get("data")))
    if kind == "ping":
        ref = msg.get("id")
        return Ping(ref if isinstance(ref, int | str) and not isinstance(ref, bool) else None)
    if kind == "hello":
        return _hello(msg)
    if kind == "connected":
        return MediaUp()
    if kind == "leave":
        return Leave()
    if kind == "terminate":
        return Terminate(_text(msg, "reason", required=False))
    if kind == "notice":
        code = _text(msg, "code", required=True)
        if code not in NOTICES:
            raise ProtocolError(E_BAD_MESSAGE, f"notice code must be one of {sorted(NOTICES)}")
        return Notice(code)
    if not isinstance(kind, str):
        raise ProtocolError(E_BAD_MESSAGE, "a message needs a string `type`")
    raise ProtocolError(E_UNKNOWN_TYPE, "unknown message type")


def _hello(msg: dict[str, Any]) -> Hello:
    token = msg.get("token")
    device = msg.get("device")
    if isinstance(token, str) and token:
        return Hello(token=token[:4096])
    if isinstance(device, dict):
        did, secret = device.get("id"), device.get("secret")
        if isinstance(did, str) and isinstance(secret, str) and did and secret:
            return Hello(device_id=did[:MAX_ID], device_secret=secret[:256])
    raise ProtocolError(E_BAD_MESSAGE, "hello needs `token` or `device: {id, secret}`")


def _id(msg: dict[str, Any], key: str) -> str:
    value = msg.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID:
        raise ProtocolError(E_BAD_MESSAGE, f"`{key}` must be a participant id")
    return value


def _text(msg: dict[str, Any], key: str, required: bool) -> str:
    value = msg.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_TEXT or (required and not value):
        raise ProtocolError(E_BAD_MESSAGE, f"`{key}` must be a string of at most {MAX_TEXT}")
    return value


def _signal_data(data: Any) -> dict[str, Any]:
    """`data` carries an SDP (`{"sdp": {"type", "sdp"}}`) or ICE candidate (`{"candidate": …}`)."""
    if not isinstance(data, dict):
        raise ProtocolError(E_BAD_MESSAGE, "signal `data` must be an object")
    sdp = data.get("sdp")
    if sdp is not None:
        if (
            not isinstance(sdp, dict)
            or sdp.get("type") not in ("offer", "answer", "rollback")
            or not isinstance(sdp.get("sdp", ""), str)
        ):
            raise ProtocolError(E_BAD_MESSAGE, "`data.sdp` must be {type: offer|answer, sdp}")
        try:
            sdp_text.check(sdp.get("sdp", ""))
        except sdp_text.SdpError as exc:
            raise ProtocolError(E_BAD_MESSAGE, "`data.sdp.sdp` holds a control character") from exc
        return data
    if "candidate" in data:
        cand = data["candidate"]
        if cand is not None and not isinstance(cand, dict):
            raise ProtocolError(E_BAD_MESSAGE, "`data.candidate` must be an object or null")
        return data
    raise ProtocolError(E_BAD_MESSAGE, "signal `data` needs `sdp` or `candidate`")


# ---- server → client -----------------------------------------------------------------------


def dumps(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


def error(code: str, message: str) -> str:
    return dumps({"type": "error", "code": code, "message": message})


def relayed_signal(sender: str, data: dict[str, Any]) -> str:
    return dumps({"type": "signal", "from": sender, "data": data})


def time_left(remaining_ms: int, end_ms: int) -> str:
    return dumps({"type": "time", "remaining_ms": max(0, remaining_ms), "end_ms": end_ms})


def warning(remaining_ms: int, end_ms: int) -> str:
    return dumps({"type": "warning", "remaining_ms": max(0, remaining_ms), "end_ms": end_ms})


def ended(reason: str) -> str:
    return dumps({"type": "ended", "reason": reason})


def parse_server(raw: str | bytes) -> dict[str, Any]:
    """Client side: a server frame as a dict with a `type` (clients match on it)."""
    msg = orjson.loads(raw)
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ProtocolError(E_BAD_MESSAGE, "server frame without a type")
    return msg
