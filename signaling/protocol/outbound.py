"""Server → client messages (PROTOCOL.md §4): one type and one builder each, and ``parse_server``,
which a client (the terminal agent, the tests) uses to read them back as those types.

Each type is a msgspec Struct tagged by its wire ``type``, so a client decodes a frame into its
type in one pass. The relay's frame (``relayed_signal``) and dict messages are written by orjson
instead: it writes them faster than msgspec builds and encodes the Struct (0.55 against 0.88 µs for
a candidate; the relay benchmark could not tell them apart). tests/test_protocol_codes.py checks
that the relay's frame reads back as its type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import orjson

from signaling.protocol.codes import E_BAD_MESSAGE, VERSION
from signaling.protocol.inbound import ProtocolError


class _Message(msgspec.Struct, frozen=True, tag_field="type"):
    """A server message; its ``type`` on the wire is the subclass's tag."""


class PeerRef(msgspec.Struct, frozen=True):
    id: str
    role: str


class PeerState(msgspec.Struct, frozen=True):
    id: str
    role: str
    present: bool


class VisitInfo(msgspec.Struct, frozen=True):
    id: str
    kind: str
    start_ms: int
    end_ms: int


class NextVisit(msgspec.Struct, frozen=True):
    id: str
    start_ms: int
    end_ms: int


class Welcome(_Message, frozen=True, tag="welcome"):
    protocol: int
    visit: VisitInfo
    you: PeerRef
    peers: list[PeerState]
    resumed: bool
    ice_servers: list[dict[str, Any]]


class Idle(_Message, frozen=True, tag="idle"):
    """A device session with no visit open now; ``next`` is its next visit, if any."""

    next: NextVisit | None


class TimeLeft(_Message, frozen=True, tag="time"):
    remaining_ms: int
    end_ms: int


class Warning(_Message, frozen=True, tag="warning"):
    remaining_ms: int
    end_ms: int


class PeerJoined(_Message, frozen=True, tag="peer-joined"):
    peer: PeerRef
    resumed: bool


class PeerLeft(_Message, frozen=True, tag="peer-left"):
    peer: PeerRef
    reason: str  # "dropped" (may come back within the grace) or "left"


class SignalFrom(_Message, frozen=True, tag="signal"):
    sender: str = msgspec.field(name="from")
    data: dict[str, Any] = {}


class NoticeFrom(_Message, frozen=True, tag="notice"):
    """An officer's canned notice, for everyone in the visit."""

    code: str


class Muted(_Message, frozen=True, tag="muted"):
    """One side of the visit muted (or unmuted) by an officer; sent to everyone in it."""

    side: str  # "family" (the guest seat) or "inmate" (the terminal)
    muted: bool


class InmateReady(_Message, frozen=True, tag="inmate-ready"):
    """An officer has brought the inmate to the visit room (sent to the guests)."""

    at_ms: int


class Pong(_Message, frozen=True, tag="pong"):
    id: int | str | None


class Ended(_Message, frozen=True, tag="ended"):
    reason: str


class Error(_Message, frozen=True, tag="error", omit_defaults=True):
    code: str
    message: str
    details: dict[str, Any] = {}


ServerMessage = (
    Welcome
    | Idle
    | TimeLeft
    | Warning
    | PeerJoined
    | PeerLeft
    | SignalFrom
    | NoticeFrom
    | Muted
    | InmateReady
    | Pong
    | Ended
    | Error
)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ServerMessage)


def encode(message: ServerMessage) -> str:
    """One server message as the text of its frame."""
    return _encoder.encode(message).decode()


def dumps(message: dict[str, Any]) -> str:
    """A client's message, built as a dict (the server's each have a builder below)."""
    return orjson.dumps(message).decode()


def parse_server(raw: str | bytes) -> ServerMessage:
    """Client side: a server frame as its typed message, or ProtocolError."""
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise ProtocolError(E_BAD_MESSAGE, f"server frame not understood: {exc}") from exc


# ---- builders: the one place each message's shape is written ---------------------------------


def welcome(
    visit: VisitInfo,
    you: PeerRef,
    peers: Sequence[PeerState],
    resumed: bool,
    ice_servers: Sequence[dict[str, Any]],
) -> str:
    return encode(Welcome(VERSION, visit, you, list(peers), resumed, list(ice_servers)))


def idle(next_visit: NextVisit | None) -> str:
    return encode(Idle(next_visit))


def time_left(remaining_ms: int, end_ms: int) -> str:
    return encode(TimeLeft(max(0, remaining_ms), end_ms))


def warning(remaining_ms: int, end_ms: int) -> str:
    return encode(Warning(max(0, remaining_ms), end_ms))


def peer_joined(peer: PeerRef, resumed: bool) -> str:
    return encode(PeerJoined(peer, resumed))


def peer_left(peer: PeerRef, reason: str) -> str:
    return encode(PeerLeft(peer, reason))


def relayed_signal(sender: str, data: dict[str, Any]) -> str:
    """``SignalFrom`` on the wire; the hot path of the relay, hence written by orjson."""
    return orjson.dumps({"type": "signal", "from": sender, "data": data}).decode()


def notice(code: str) -> str:
    return encode(NoticeFrom(code))


def muted(side: str, is_muted: bool) -> str:
    return encode(Muted(side, is_muted))


def inmate_ready(at_ms: int) -> str:
    return encode(InmateReady(at_ms))


def pong(ref: int | str | None) -> str:
    return encode(Pong(ref))


def ended(reason: str) -> str:
    return encode(Ended(reason))


def error(code: str, message: str, details: dict[str, Any] | None = None) -> str:
    return encode(Error(code, message, details or {}))
