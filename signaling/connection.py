"""One websocket: a bounded outbox drained by its own writer task, so one slow client stalls
nobody else; a client that falls too far behind is disconnected rather than buffered forever."""

from __future__ import annotations

import asyncio
import time
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
        "_tokens", "_refill_at", "remote", "_direct",
    )  # fmt: skip

    def __init__(self, ws: web.WebSocketResponse, outbox_size: int, remote: str = "") -> None:
        self.ws = ws
        self._outbox: asyncio.Queue[str | _Close] = asyncio.Queue(outbox_size)
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
        if self._direct and self._outbox.empty() and self._write_now(frame):
            return
        try:
            self._outbox.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("connection.slow_client", role=self.role)
            self.close(CLOSE_SLOW, "too slow")

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
        while True:
            try:
                self._outbox.put_nowait(_Close(code, reason))
                return
            except asyncio.QueueFull:
                self._outbox.get_nowait()  # drop the oldest: the close matters more

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
        try:
            while True:
                item = await self._outbox.get()
                if isinstance(item, _Close):
                    await ws.close(code=item.code, message=item.reason.encode())
                    return
                await ws.send_str(item)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            # The peer went away (or we are shutting down): nothing left to deliver to.
            self._closing = True
