"""Websocket frames (RFC 6455) read and written by the server itself.

aiohttp performs the opening handshake; after it the bytes of each socket come straight here, in
the event loop's `data_received`, and each complete message is handed to the connection at once:
no task wakes up per message and nothing is copied into a queue. This is the hot path of the
relay (see tests/bench/RESULTS.md). Frames to clients are written straight to the transport.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable

from signaling.protocol import Close

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
# Every other opcode is reserved (RFC 6455 §5.2): 0x3-0x7 and 0xB-0xF.
KNOWN_OPCODES = frozenset({OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG})

# Browsers send each message as one frame; a message in more pieces than this is an attack on the
# reader (thousands of empty continuations), refused like a message that is too big.
MAX_FRAGMENTS = 64


class FrameError(Exception):
    """The peer broke the framing rules; the socket closes with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR the payload with the 4-byte mask, as one big integer operation (fast in CPython)."""
    n = len(payload)
    if n == 0:
        return payload
    key = (mask * ((n + 3) // 4))[:n]
    value = int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")
    return value.to_bytes(n, "little")


def encode(opcode: int, payload: bytes) -> bytes:
    """A final, unmasked server frame."""
    n = len(payload)
    if n < 126:
        return bytes((0x80 | opcode, n)) + payload
    if n < 65536:
        return bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big") + payload


def close_payload(code: int, reason: str = "") -> bytes:
    return code.to_bytes(2, "big") + reason.encode()[:123]


def valid_close_code(code: int) -> bool:
    """A code a peer may send in its close frame (RFC 6455 §7.4 and the IANA registry): 1004-1006
    and 1015 are reserved for reporting, never sent; 1012-1014 are registered; 3000-4999 are for
    libraries and applications."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def check_close(payload: bytes) -> None:
    """A close frame's body is empty, or a valid code followed by a UTF-8 reason."""
    if not payload:
        return
    if len(payload) == 1:
        raise FrameError(Close.PROTOCOL_ERROR, "close payload of one byte")
    if not valid_close_code(int.from_bytes(payload[:2], "big")):
        raise FrameError(Close.PROTOCOL_ERROR, "invalid close code")
    try:
        payload[2:].decode()
    except UnicodeDecodeError:
        raise FrameError(Close.PROTOCOL_ERROR, "close reason is not UTF-8") from None


# on_message(opcode, payload) for whole text/binary messages and control frames.
OnMessage = Callable[[int, bytes], None]
# on_error(close code, reason) when the peer breaks the framing rules.
OnError = Callable[[int, str], None]
_Utf8Decoder = codecs.getincrementaldecoder("utf-8")


class FrameReader:
    """Turns the bytes of one client socket into messages (the ``payload parser`` aiohttp feeds).

    ``max_size`` is the most a message may hold, all its fragments together; a bigger one ends
    the socket with 1009 before it is buffered. The work per frame and per read is linear in its
    own bytes, never in what came before: the size of a fragmented message so far is a running
    count, text is checked for UTF-8 fragment by fragment, and an incomplete frame waits until
    enough bytes have come to parse it (no rejoining the buffer on every read).
    """

    def __init__(
        self, on_message: OnMessage, on_error: OnError, on_eof: Callable[[], None], max_size: int
    ) -> None:
        self._on_message = on_message
        self._on_error = on_error
        self._on_eof = on_eof
        self._max = max_size
        self._held: list[bytes] = []  # bytes of an incomplete frame
        self._have = 0  # their length
        self._need = 0  # bytes the incomplete frame needs before parsing can go on
        self._parts: list[bytes] = []  # a fragmented message so far
        self._part_op = 0
        self._part_len = 0
        self._utf8: codecs.IncrementalDecoder | None = None  # for a fragmented text message
        self._done = False

    def raise_limit(self, max_size: int) -> None:
        """From now on messages may hold up to ``max_size`` (a socket that proved who it is)."""
        self._max = max(self._max, max_size)

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        """aiohttp's parser interface: returns (eof, tail)."""
        if self._done:
            return True, b""
        if self._held:
            self._held.append(data)
            self._have += len(data)
            if self._have < self._need:
                return False, b""
            buf = b"".join(self._held)
        else:
            buf = data
        try:
            used = self._parse(buf)
        except FrameError as exc:
            self._done = True
            self._held = []
            self._on_error(exc.code, exc.reason)
            return False, b""  # the connection closes itself after its close frame
        if used < len(buf) and not self._done:
            rest = buf[used:]
            self._held, self._have = [rest], len(rest)
        else:
            self._held, self._have = [], 0
        return False, b""

    def feed_eof(self) -> None:
        if not self._done:
            self._done = True
            self._on_eof()

    def finish(self) -> None:
        """Ignore whatever comes after the closing handshake."""
        self._done = True
        self._held = []

    def _parse(self, buf: bytes) -> int:
        pos, n = 0, len(buf)
        self._need = 2
        while not self._done and n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            if b0 & 0x70:
                raise FrameError(Close.PROTOCOL_ERROR, "no extension was negotiated")
            if not b1 & 0x80:
                raise FrameError(Close.PROTOCOL_ERROR, "client frames must be masked")
            opcode, length, head = b0 & 0x0F, b1 & 0x7F, 2
            if opcode not in KNOWN_OPCODES:
                raise FrameError(Close.PROTOCOL_ERROR, "reserved opcode")
            if length == 126:
                if n - pos < 4:
                    self._need = 4
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if n - pos < 10:
                    self._need = 10
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
                if length >> 63:
                    raise FrameError(Close.PROTOCOL_ERROR, "64-bit length with its top bit set")
            if opcode >= OP_CLOSE:
                if length > 125 or not b0 & 0x80:
                    raise FrameError(Close.PROTOCOL_ERROR, "bad control frame")
            else:
                self._check_data_header(opcode, length)
            start = pos + head + 4
            if n < start + length:
                self._need = start + length - pos
                break
            payload = unmask(buf[start : start + length], buf[pos + head : start])
            pos = start + length
            self._frame(bool(b0 & 0x80), opcode, payload)
        return pos

    def _check_data_header(self, opcode: int, length: int) -> None:
        """Refuse a data frame from its header alone, before its payload is buffered."""
        if opcode == OP_CONTINUATION:
            if not self._parts:
                raise FrameError(Close.PROTOCOL_ERROR, "continuation without a start")
            if len(self._parts) >= MAX_FRAGMENTS:
                raise FrameError(Close.TOO_BIG, "message in too many fragments")
        elif self._parts:
            raise FrameError(Close.PROTOCOL_ERROR, "new message inside a fragmented one")
        if self._part_len + length > self._max:
            raise FrameError(Close.TOO_BIG, "message too big")

    def _frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode >= OP_CLOSE:
            if opcode == OP_CLOSE:
                check_close(payload)
            self._on_message(opcode, payload)
            return
        if opcode != OP_CONTINUATION:  # the first frame of a message
            if fin:
                if opcode == OP_TEXT:
                    _check_utf8(payload)
                self._on_message(opcode, payload)
                return
            self._parts, self._part_op, self._part_len = [payload], opcode, len(payload)
            if opcode == OP_TEXT:
                self._utf8 = _Utf8Decoder()
                _feed_utf8(self._utf8, payload, False)
            return
        self._parts.append(payload)
        self._part_len += len(payload)
        if self._utf8 is not None:
            _feed_utf8(self._utf8, payload, fin)
        if fin:
            whole, op = b"".join(self._parts), self._part_op
            self._parts, self._part_len, self._utf8 = [], 0, None
            self._on_message(op, whole)


def _check_utf8(payload: bytes) -> None:
    try:
        payload.decode()
    except UnicodeDecodeError:
        raise FrameError(Close.BAD_DATA, "text is not UTF-8") from None


def _feed_utf8(decoder: codecs.IncrementalDecoder, payload: bytes, final: bool) -> None:
    """One fragment more of a text message: fails at the first byte that cannot be UTF-8."""
    try:
        decoder.decode(payload, final)
    except UnicodeDecodeError:
        raise FrameError(Close.BAD_DATA, "text is not UTF-8") from None
