"""A websocket client on a bare TCP socket, for tests that send what no library would: crafted
frames, floods, and a client that never reads."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

from signaling.transport.frames import OP_CLOSE
from tests.helpers.world import World


def client_frame(opcode: int, payload: bytes, fin: bool = True, mask: bytes | None = None) -> bytes:
    """A masked client frame with the shortest length encoding."""
    mask = mask or os.urandom(4)
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        head = bytes((b0, 0x80 | n))
    elif n < 65536:
        head = bytes((b0, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((b0, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawSocket:
    """One upgraded /ws socket: write bytes as they are, read the server's frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, world: World, rcvbuf: int = 0) -> RawSocket:
        """Connect and upgrade; ``rcvbuf`` shrinks the receive buffer (a client that reads
        nothing then fills up early)."""
        server = world.client.server
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (server.host, server.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /ws HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def frame(self) -> tuple[int, bytes]:
        """The server's next frame as (opcode, payload); server frames are never fragmented."""
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(await self.reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await self.reader.readexactly(8), "big")
        return b0 & 0x0F, await self.reader.readexactly(n)

    async def close_code(self, timeout: float = 5.0) -> int | None:
        """Read until the server's close frame; its code (None for a close without one)."""
        async with asyncio.timeout(timeout):
            while True:
                opcode, payload = await self.frame()
                if opcode == OP_CLOSE:
                    return int.from_bytes(payload[:2], "big") if payload else None

    def stop_reading(self) -> None:
        """Read nothing more from the socket, so that its kernel buffers fill up."""
        self.writer.transport.pause_reading()  # type: ignore[attr-defined]

    async def gone(self, timeout: float = 5.0) -> None:
        """Return once the server has ended the TCP connection (FIN or reset)."""
        self.writer.transport.resume_reading()  # type: ignore[attr-defined]
        async with asyncio.timeout(timeout):
            try:
                while await self.reader.read(65536):
                    pass
            except ConnectionError:
                pass

    def close(self) -> None:
        self.writer.close()
