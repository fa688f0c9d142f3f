"""A minimal websocket client on a bare socket, for holding thousands of sockets.

The benchmark must measure the server, not its clients: with 10,000 sockets on a 2-core machine a
full client library per socket steals the CPU the server needs when 5,000 visits end at once, and
stamps `ended` only once its reader task gets a turn. This client does the opening handshake,
answers pings and the closing handshake, and stamps every frame with the kernel's receive time
(when the data reached the socket, not when this process got round to reading it). Frames it sends
are masked with an all-zero key (valid per RFC 6455 §5.3, and no XOR to compute).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from collections.abc import Callable

_ZERO_MASK = b"\x00\x00\x00\x00"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not name it


def frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + _ZERO_MASK + payload


class RawWebSocket:
    """One client socket read with ``recvmsg`` from the event loop's reader callback.

    ``on_text(payload, arrived_at)`` gets every text frame; ``arrived_at`` is the kernel's receive
    time stamp of the data (``SO_TIMESTAMPNS``), so when this process gets the CPU does not move
    it. Without a stamp (another kernel) it falls back to the time of the read.
    """

    def __init__(self, sock: socket.socket, on_text: Callable[[bytes, float], None]) -> None:
        self._sock = sock
        self._on_text = on_text
        self._buffer = b""
        self._upgraded = False
        self._closed = False
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.opened: asyncio.Future[None] = loop.create_future()

    def start(self, request: bytes) -> None:
        self._sock.sendall(request)
        self._loop.add_reader(self._sock.fileno(), self._readable)

    def _write(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            self._sock.sendall(data)  # small frames into an empty buffer: never blocks here
        except OSError:
            self._shutdown()

    def send_text(self, text: str | bytes) -> None:
        self._write(frame(TEXT, text.encode() if isinstance(text, str) else text))

    def close(self) -> None:
        self._write(frame(CLOSE, struct.pack("!H", 1000)))
        self._shutdown()

    def _shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the upgrade"))

    def _readable(self) -> None:
        try:
            data, ancillary, _, _ = self._sock.recvmsg(65536, 256)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._shutdown()
            return
        if not data:
            self._shutdown()
            return
        arrived = time.time()
        for level, kind, raw in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
                sec, nsec = struct.unpack_from("qq", raw)
                arrived = sec + nsec / 1e9
        self._data(data, arrived)

    def _data(self, data: bytes, arrived: float) -> None:
        buf = self._buffer + data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self._buffer = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(buf[:end].decode(errors="replace")))
                self._shutdown()
                return
            self._upgraded = True
            self.opened.set_result(None)
            buf = buf[end + 4 :]
        self._buffer = self._frames(buf, arrived)

    def _frames(self, buf: bytes, arrived: float) -> bytes:
        """Handle every whole frame in ``buf``; return the incomplete rest."""
        while len(buf) >= 2 and not self._closed:
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
            elif opcode == PING:
                self._write(frame(PONG, payload))
            elif opcode == CLOSE:
                self.close()
        return buf


async def connect(
    host: str, port: int, path: str, on_text: Callable[[bytes, float], None]
) -> RawWebSocket:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (host, port))
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        sock.close()
        raise
    ws = RawWebSocket(sock, on_text)
    key = base64.b64encode(os.urandom(16)).decode()
    ws.start(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await ws.opened
    return ws
