"""One websocket after its opening handshake: frames in through a FrameReader, frames out
straight to the transport.

Every message is handled in the event loop's read callback (no task per message, no queue), and
every frame to the client is one transport write. A client that stops reading is not buffered
for: once the kernel and the transport hold more than ``MAX_BUFFERED`` bytes for it, it is
disconnected (1013) and may reconnect. The socket's own task only waits for the end.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from services.model import Role, Terminal
from signaling.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    close_payload,
    encode,
)

if TYPE_CHECKING:
    from signaling.rooms import VisitRoom

log = structlog.get_logger("tatap.connection")

CLOSE_SLOW = 1013  # "try again later": the client did not read its messages
MAX_BUFFERED = 512 * 1024  # bytes waiting for a client before it counts as not reading
CLOSE_WAIT_S = 2.0  # how long a close frame waits for the client's answer

# on_message(is_text, payload) for whole data messages once the connection is being served.
Handler = Callable[[bool, bytes], None]


class Connection:
    __slots__ = (
        "transport", "reader", "_handler", "_pending", "_waiter", "_closing", "_done",
        "participant_id", "role", "room", "terminal", "errors", "_tokens", "_refill_at",
        "remote", "last_seen", "pinged",
    )  # fmt: skip

    def __init__(self, transport: asyncio.Transport, max_size: int, remote: str = "") -> None:
        self.transport = transport
        self.reader = FrameReader(self._frame, self._broken, self._eof, max_size)
        self._handler: Handler | None = None
        self._pending: deque[tuple[bool, bytes]] = deque()  # messages before serve()
        self._waiter: asyncio.Future[None] | None = None
        self._closing = False  # our close frame is out (or the socket is gone)
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.participant_id = ""
        self.role: Role | None = None
        self.room: VisitRoom | None = None
        self.terminal: Terminal | None = None  # set for a terminal's device session
        self.errors = 0
        # Token bucket: bursts of 200 messages, 100 a second sustained.
        self._tokens = 200.0
        self._refill_at = time.monotonic()
        self.remote = remote
        self.last_seen = time.monotonic()
        self.pinged = False
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # One small frame answers another: no waiting for Nagle's algorithm.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def closing(self) -> bool:
        return self._closing

    # ---- frames in ------------------------------------------------------------------------

    def _frame(self, opcode: int, payload: bytes) -> None:
        self.last_seen = time.monotonic()
        self.pinged = False
        if opcode == OP_TEXT or opcode == OP_BINARY:
            if self._handler is not None:
                self._handler(opcode == OP_TEXT, payload)
                return
            self._pending.append((opcode == OP_TEXT, payload))
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(None)
        elif opcode == OP_PING:
            if not self._closing:
                self.transport.write(encode(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self.reader.finish()
            if not self._closing:  # the client closes first: answer with its code
                self._closing = True
                self.transport.write(encode(OP_CLOSE, payload[:2]))
            self.transport.close()
            self._finish()

    def _broken(self, code: int, reason: str) -> None:
        self.close(code, reason)

    def _eof(self) -> None:
        self._closing = True
        self._finish()

    def _finish(self) -> None:
        if not self._done.done():
            self._done.set_result(None)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def first_message(self, timeout: float) -> tuple[bool, bytes] | None:
        """The first data message (is_text, payload), or None on timeout or close."""
        try:
            async with asyncio.timeout(timeout):
                while not self._pending and not self._done.done():
                    self._waiter = asyncio.get_running_loop().create_future()
                    await self._waiter
        except TimeoutError:
            return None
        finally:
            self._waiter = None
        return self._pending.popleft() if self._pending else None

    def serve(self, handler: Handler) -> None:
        """From now on every message goes to ``handler`` as it arrives (those that came early
        first, in order)."""
        while self._pending and not self._closing:
            is_text, payload = self._pending.popleft()
            handler(is_text, payload)
        self._handler = handler

    async def closed(self) -> None:
        await asyncio.shield(self._done)

    # ---- frames out -----------------------------------------------------------------------

    def send(self, frame: str) -> None:
        if self._closing:
            return
        transport = self.transport
        transport.write(encode(OP_TEXT, frame.encode()))
        if transport.get_write_buffer_size() > MAX_BUFFERED:
            log.warning("connection.slow_client", role=self.role)
            self.close(CLOSE_SLOW, "too slow")

    def ping(self) -> None:
        if not self._closing:
            self.pinged = True
            self.transport.write(encode(OP_PING, b""))

    def close(self, code: int, reason: str) -> None:
        """Send a close frame (after what was sent before it); the socket closes when the client
        answers, or after a short wait."""
        if self._closing:
            return
        self._closing = True
        self._handler = None
        transport = self.transport
        if transport.is_closing():
            self._finish()
            return
        transport.write(encode(OP_CLOSE, close_payload(code, reason)))
        asyncio.get_running_loop().call_later(CLOSE_WAIT_S, self.abort)

    def abort(self) -> None:
        self._closing = True
        self.reader.finish()
        self.transport.close()
        self._finish()

    def allow(self) -> bool:
        """Rate limit: False when the client sends faster than the bucket refills."""
        now = time.monotonic()
        self._tokens = min(200.0, self._tokens + (now - self._refill_at) * 100.0)
        self._refill_at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
