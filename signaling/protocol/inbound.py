"""Client → server messages (PROTOCOL.md §3): their types and ``parse``, which checks them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from signaling import sdp as sdp_text
from signaling.protocol.codes import (
    E_BAD_JSON,
    E_BAD_MESSAGE,
    E_UNKNOWN_TYPE,
    MAX_ID,
    MAX_TEXT,
)


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
    agent: str = ""  # a terminal's agent version (``device.agent``), shown to officers


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


@dataclass(frozen=True, slots=True)
class Mute:
    """An officer mutes (or unmutes) one side of the visit: ``family`` or ``inmate``."""

    side: str
    muted: bool


Inbound = Hello | Signal | Ping | MediaUp | Leave | Terminate | Notice | Mute

# How long a terminal's agent version may be (`tatap-terminal/0.1.0` and the like).
MAX_AGENT = 64

# Canned officer notices, in the order the officer's wall offers them; the pages translate the code.
NOTICE_CODES = ("dress_code", "unregistered_person", "behaviour", "time_check", "audio_only")
NOTICES = frozenset(NOTICE_CODES)

# The sides of a visit an officer may mute: the guest seat (family or teacher) and the inmate's.
SIDES = ("family", "inmate")


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
        reason = _text(msg, "reason", required=True)
        if not reason.strip():
            raise ProtocolError(E_BAD_MESSAGE, "`reason` must not be blank")
        return Terminate(reason)
    if kind == "mute":
        return _mute(msg)
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
            agent = _agent(device.get("agent", ""))
            return Hello(device_id=did[:MAX_ID], device_secret=secret[:256], agent=agent)
    raise ProtocolError(E_BAD_MESSAGE, "hello needs `token` or `device: {id, secret}`")


def _mute(msg: dict[str, Any]) -> Mute:
    side, muted = msg.get("side"), msg.get("muted")
    if side not in SIDES:
        raise ProtocolError(E_BAD_MESSAGE, f"`side` must be one of {list(SIDES)}")
    if not isinstance(muted, bool):
        raise ProtocolError(E_BAD_MESSAGE, "`muted` must be true or false")
    return Mute(str(side), muted)


def _agent(value: Any) -> str:
    """A terminal's agent version: printable ASCII, at most ``MAX_AGENT`` characters."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_AGENT
        or not all(" " <= ch <= "~" for ch in value)
    ):
        raise ProtocolError(
            E_BAD_MESSAGE, f"`device.agent` must be printable ASCII of at most {MAX_AGENT}"
        )
    return value


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
