"""A minimal websocket client as a bare asyncio protocol, for holding thousands of sockets.

The benchmark must measure the server, not its clients: with 10,000 sockets on a 2-core machine a
full client library per socket steals the CPU the server needs when 5,000 visits end at once, and
stamps `ended` only once its reader task gets a turn. This client does the opening handshake,
answers pings and the closing handshake, and stamps every frame's arrival in ``data_received``,
the moment the event loop reads the socket. Frames it sends are masked with an all-zero key (valid
per RFC 6455 §5.3, and no XOR to compute).
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable

_ZERO_MASK = b"\x00\x00\x00\x00"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + _ZERO_MASK + payload


class RawWebSocket(asyncio.Protocol):
    """One client socket; ``on_text(payload, arrived_at)`` gets every text frame."""

    def __init__(self, host: str, port: int, path: str,
                 on_text: Callable[[bytes, float], None]) -> None:  # fmt: skip
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"
            "\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self._on_text = on_text
        self._buffer = b""
        self._upgraded = False
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport
        transport.write(self._request)  # type: ignore[attr-defined]

    def send_text(self, text: str | bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(TEXT, text.encode() if isinstance(text, str) else text))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(CLOSE, struct.pack("!H", 1000)))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the upgrade"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        arrived = time.time()
        buf = self._buffer + data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self._buffer = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(buf[:end].decode(errors="replace")))
                assert self.transport is not None
                self.transport.close()
                return
            self._upgraded = True
            self.opened.set_result(None)
            buf = buf[end + 4 :]
        self._buffer = self._frames(buf, arrived)

    def _frames(self, buf: bytes, arrived: float) -> bytes:
        """Handle every whole frame in ``buf``; return the incomplete rest."""
        while len(buf) >= 2:
            opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
            start = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, start = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, start = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < start + n:
                break
            payload, buf = buf[start : start + n], buf[start + n :]
            if opcode == TEXT:
                self._on_text(payload, arrived)
            elif opcode == PING and self.transport is not None:
                self.transport.write(frame(PONG, payload))
            elif opcode == CLOSE:
                self.close()
        return buf


async def connect(host: str, port: int, path: str,
                  on_text: Callable[[bytes, float], None]) -> RawWebSocket:  # fmt: skip
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: RawWebSocket(host, port, path, on_text),
                                            host, port)  # fmt: skip
    await proto.opened
    return proto
