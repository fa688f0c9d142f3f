"""Websocket frames (RFC 6455) read and written by the server itself.

aiohttp performs the opening handshake; after it the bytes of each socket come straight here, in
the event loop's `data_received`, and each complete message is handed to the connection at once:
no task wakes up per message and nothing is copied into a queue. This is the hot path of the
relay (see tests/bench/RESULTS.md). Frames to clients are written straight to the transport.
"""

from __future__ import annotations

from collections.abc import Callable

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_TOO_BIG = 1009


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


# on_message(opcode, payload) for whole text/binary messages and control frames.
OnMessage = Callable[[int, bytes], None]
# on_error(close code, reason) when the peer breaks the framing rules.
OnError = Callable[[int, str], None]


class FrameReader:
    """Turns the bytes of one client socket into messages (the ``payload parser`` aiohttp feeds).

    ``max_size`` is the most a message may hold; a bigger one ends the socket with 1009 before
    it is buffered.
    """

    def __init__(
        self, on_message: OnMessage, on_error: OnError, on_eof: Callable[[], None], max_size: int
    ) -> None:
        self._on_message = on_message
        self._on_error = on_error
        self._on_eof = on_eof
        self._max = max_size
        self._buf = b""
        self._parts: list[bytes] = []  # a fragmented message so far
        self._part_op = 0
        self._done = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        """aiohttp's parser interface: returns (eof, tail)."""
        if self._done:
            return True, b""
        buf = self._buf + data if self._buf else data
        try:
            used = self._parse(buf)
        except FrameError as exc:
            self._done = True
            self._on_error(exc.code, exc.reason)
            return False, b""  # the connection closes itself after its close frame
        self._buf = buf[used:]
        return False, b""

    def feed_eof(self) -> None:
        if not self._done:
            self._done = True
            self._on_eof()

    def finish(self) -> None:
        """Ignore whatever comes after the closing handshake."""
        self._done = True

    def _parse(self, buf: bytes) -> int:
        pos, n = 0, len(buf)
        while not self._done and n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            if b0 & 0x70:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "no extension was negotiated")
            if not b1 & 0x80:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "client frames must be masked")
            opcode, length, head = b0 & 0x0F, b1 & 0x7F, 2
            if length == 126:
                if n - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if n - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if opcode >= OP_CLOSE and (length > 125 or not b0 & 0x80):
                raise FrameError(CLOSE_PROTOCOL_ERROR, "bad control frame")
            if length + sum(map(len, self._parts)) > self._max:
                raise FrameError(CLOSE_TOO_BIG, "message too big")
            start = pos + head + 4
            if n < start + length:
                break
            payload = unmask(buf[start : start + length], buf[pos + head : start])
            pos = start + length
            self._frame(bool(b0 & 0x80), opcode, payload)
        return pos

    def _frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode >= OP_CLOSE:
            self._on_message(opcode, payload)
            return
        if opcode == OP_CONTINUATION:
            if not self._parts:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "continuation without a start")
            self._parts.append(payload)
            if fin:
                whole, op = b"".join(self._parts), self._part_op
                self._parts = []
                self._on_message(op, whole)
            return
        if opcode not in (OP_TEXT, OP_BINARY):
            raise FrameError(CLOSE_PROTOCOL_ERROR, "unknown opcode")
        if self._parts:
            raise FrameError(CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one")
        if fin:
            self._on_message(opcode, payload)
        else:
            self._parts, self._part_op = [payload], opcode
