"""One websocket after its opening handshake: frames in through a FrameReader, frames out
straight to the transport.

Every message is handled in the event loop's read callback (no task per message, no queue), and
every frame to the client is one transport write. A client that stops reading is not buffered
for: once more than ``MAX_BUFFERED`` bytes wait in the transport for it, past what the kernel
took (every write counts, pongs too), it is disconnected (1013) and may reconnect. A socket
dropped for abuse or slowness is aborted at once: nothing more is flushed to a client that does
not read. Before ``serve`` the messages a socket sends (its hello among them) may hold
``UNSERVED_BYTES`` in all, a frame still being read no more than that either, and be at most
``MAX_PENDING``; pings share the message rate limit. So an unauthenticated socket can make the
server hold or do only a little: a hello needs under 5 KiB, while the served limit (256 KiB)
times hundreds of sockets per address would be most of the node's memory.
The socket's own task only waits for the end.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque
from collections.abc import Callable

import structlog

from services.domain.model import Role, Terminal
from services.ids import ParticipantId
from signaling.protocol import Close
from signaling.transport.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    close_payload,
    encode,
)

log = structlog.get_logger("tatap.connection")

MAX_BUFFERED = 512 * 1024  # bytes waiting for a client before it counts as not reading
CLOSE_WAIT_S = 2.0  # how long a close frame waits for the client's answer
MAX_PENDING = 16  # messages a socket may send before it is served (its hello among them)
UNSERVED_BYTES = 8 * 1024  # what those messages may hold in all; more closes 1009

# on_message(is_text, payload) for whole data messages once the connection is being served.
Handler = Callable[[bool, bytes], None]


class Connection:
    __slots__ = (
        "transport",
        "reader",
        "_handler",
        "_pending",
        "_waiter",
        "_closing",
        "_done",
        "participant_id",
        "role",
        "terminal",
        "errors",
        "_tokens",
        "_refill_at",
        "last_seen",
        "pinged",
        "_pending_bytes",
        "_max_size",
    )

    def __init__(self, transport: asyncio.Transport, max_size: int) -> None:
        self.transport = transport
        # Raised to max_size by serve(): until then a bigger frame closes 1009 from its header.
        self.reader = FrameReader(
            self._frame, self._broken, self._eof, min(max_size, UNSERVED_BYTES)
        )
        self._handler: Handler | None = None
        self._pending: deque[tuple[bool, bytes]] = deque()  # messages before serve()
        self._pending_bytes = 0
        self._max_size = max_size
        self._waiter: asyncio.Future[None] | None = None
        self._closing = False  # our close frame is out (or the socket is gone)
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.participant_id = ParticipantId("")
        self.role: Role | None = None
        self.terminal: Terminal | None = None  # set for a terminal's device session
        self.errors = 0
        # Token bucket: bursts of 200 messages, 100 a second sustained.
        self._tokens = 200.0
        self._refill_at = time.monotonic()
        self.last_seen = time.monotonic()
        self.pinged = False
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # One small frame answers another: no waiting for Nagle's algorithm.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def role_name(self) -> str:
        """The role of the seat this socket holds, as logs and audit rows name it ("" before
        it has one)."""
        return self.role.value if self.role else ""

    # ---- frames in ------------------------------------------------------------------------

    def _frame(self, opcode: int, payload: bytes) -> None:
        self.last_seen = time.monotonic()
        self.pinged = False
        if opcode == OP_TEXT or opcode == OP_BINARY:
            if self._handler is not None:
                self._handler(opcode == OP_TEXT, payload)
            elif not self._closing:
                self._hold(opcode == OP_TEXT, payload)
        elif opcode == OP_PING or opcode == OP_PONG:
            # Each one costs a read (and a ping a write): they take from the message budget.
            if not self.allow():
                self.drop(Close.POLICY, "too many control frames")
            elif opcode == OP_PING:
                self._write(encode(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self.reader.finish()
            if not self._closing:  # the client closes first: answer with its code
                self._closing = True
                self.transport.write(encode(OP_CLOSE, payload[:2]))
            self.transport.close()
            # close() flushes first; a client that does not read would hold the socket open.
            asyncio.get_running_loop().call_later(CLOSE_WAIT_S, self.abort)
            self._finish()

    def _hold(self, is_text: bool, payload: bytes) -> None:
        """Keep a message that came before ``serve``, within bounds."""
        self._pending_bytes += len(payload)
        if self._pending_bytes > UNSERVED_BYTES:
            self.drop(Close.TOO_BIG, "too much before hello")
            return
        if len(self._pending) >= MAX_PENDING:
            self.drop(Close.POLICY, "too many messages before hello")
            return
        self._pending.append((is_text, payload))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _broken(self, code: int, reason: str) -> None:
        self.drop(code, reason)

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
        self._pending.clear()
        self._pending_bytes = 0
        if not self._closing:
            self._handler = handler
            self.reader.raise_limit(self._max_size)

    async def closed(self) -> None:
        await asyncio.shield(self._done)

    # ---- frames out -----------------------------------------------------------------------

    def send(self, frame: str) -> None:
        self._write(encode(OP_TEXT, frame.encode()))

    def ping(self) -> None:
        if not self._closing:
            self.pinged = True
            self._write(encode(OP_PING, b""))

    def _write(self, frame: bytes) -> None:
        """Every frame but the close goes out here, so every one counts against the limit."""
        if self._closing:
            return
        transport = self.transport
        transport.write(frame)
        if transport.get_write_buffer_size() > MAX_BUFFERED:
            log.warning("connection.slow_client", role=self.role)
            self.drop(Close.SLOW, "too slow")

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

    def drop(self, code: int, reason: str) -> None:
        """Close at once, for abuse or slowness: the close frame goes out only if nothing is
        waiting before it (a client that does not read would never get it anyway), and the socket
        is aborted without flushing."""
        if not self._closing and not self.transport.is_closing():
            if self.transport.get_write_buffer_size() == 0:
                self.transport.write(encode(OP_CLOSE, close_payload(code, reason)))
        self.abort()

    def abort(self) -> None:
        """End the socket now, dropping whatever it still had to send."""
        self._closing = True
        self._handler = None
        self.reader.finish()
        self.transport.abort()
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
