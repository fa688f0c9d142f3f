"""One websocket: a bounded outbox drained by its own writer task, so one slow client stalls
nobody else; a client that falls too far behind is disconnected rather than buffered forever."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from aiohttp import WSMsgType, web

from services.model import Role, Terminal

if TYPE_CHECKING:
    from signaling.rooms import VisitRoom

log = structlog.get_logger("tatap.connection")

CLOSE_SLOW = 1013  # "try again later": the client did not read its messages


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


class Connection:
    __slots__ = (
        "ws", "_outbox", "_closing", "participant_id", "role", "room", "terminal", "errors",
        "_tokens", "_refill_at", "remote", "_direct", "_limit", "_wakeup",
    )  # fmt: skip

    def __init__(self, ws: web.WebSocketResponse, outbox_size: int, remote: str = "") -> None:
        self.ws = ws
        # Frames waiting for the writer task, made on first use: with direct writes most sockets
        # never queue anything, and an asyncio.Queue costs about 3 KB per socket.
        self._outbox: deque[str | _Close] | None = None
        self._limit = outbox_size  # 0: unbounded, as for asyncio.Queue
        self._wakeup: asyncio.Future[None] | None = None  # the idle writer task waits on it
        self._closing = False
        self.participant_id = ""
        self.role: Role | None = None
        self.room: VisitRoom | None = None
        self.terminal: Terminal | None = None  # set for a terminal's device session
        self.errors = 0
        # Token bucket: bursts of 200 messages, 100 a second sustained.
        self._tokens = 200.0
        self._refill_at = time.monotonic()
        self.remote = remote
        # The direct path needs aiohttp's synchronous frame writer (3.11+) and no compression.
        writer = getattr(ws, "_writer", None)
        self._direct = (
            writer is not None
            and not writer.compress
            and hasattr(writer, "_write_websocket_frame")
            and hasattr(writer, "_output_size")
        )

    @property
    def closing(self) -> bool:
        return self._closing

    def send(self, frame: str) -> None:
        if self._closing:
            return
        if self._direct and not self._outbox and self._write_now(frame):
            return
        if not self._enqueue(frame):
            log.warning("connection.slow_client", role=self.role)
            self.close(CLOSE_SLOW, "too slow")

    def _enqueue(self, item: str | _Close) -> bool:
        """Queue for the writer task; False when the outbox is full."""
        outbox = self._outbox
        if outbox is None:
            outbox = self._outbox = deque()
        if 0 < self._limit <= len(outbox):
            return False
        outbox.append(item)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)
        return True

    def _write_now(self, frame: str) -> bool:
        """Hand a frame straight to the socket when nothing waits before it and the socket
        takes more: a relayed message then costs no hop through the writer task. False sends it
        the queued way (aiohttp's own path, which handles back-pressure and errors)."""
        writer = self.ws._writer
        if (
            writer is None
            or writer._closing
            or writer.protocol.writing_paused
            or writer.transport.is_closing()
        ):
            return False
        try:
            writer._write_websocket_frame(frame.encode(), WSMsgType.TEXT, 0)
        except (ConnectionError, RuntimeError):
            return False
        if writer._output_size > writer._limit:
            writer._output_size = 0  # as aiohttp's send_frame does after its own writes
        return True

    def close(self, code: int, reason: str) -> None:
        """Close after what is already queued has been sent."""
        if self._closing:
            return
        self._closing = True
        while not self._enqueue(_Close(code, reason)):
            assert self._outbox is not None
            self._outbox.popleft()  # drop the oldest: the close matters more

    def allow(self) -> bool:
        """Rate limit: False when the client sends faster than the bucket refills."""
        now = time.monotonic()
        self._tokens = min(200.0, self._tokens + (now - self._refill_at) * 100.0)
        self._refill_at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    async def write_loop(self) -> None:
        ws = self.ws
        loop = asyncio.get_running_loop()
        try:
            while True:
                outbox = self._outbox
                if not outbox:
                    self._wakeup = loop.create_future()
                    await self._wakeup
                    self._wakeup = None
                    continue
                item = outbox.popleft()
                if isinstance(item, _Close):
                    await ws.close(code=item.code, message=item.reason.encode())
                    return
                await ws.send_str(item)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            # The peer went away (or we are shutting down): nothing left to deliver to.
            self._closing = True
