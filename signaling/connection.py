"""One websocket: a bounded outbox drained by its own writer task, so one slow client stalls
nobody else; a client that falls too far behind is disconnected rather than buffered forever."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

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
        "_tokens", "_refill_at", "remote",
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

    @property
    def closing(self) -> bool:
        return self._closing

    def send(self, frame: str) -> None:
        if self._closing:
            return
        try:
            self._outbox.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("connection.slow_client", role=self.role)
            self.close(CLOSE_SLOW, "too slow")

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
