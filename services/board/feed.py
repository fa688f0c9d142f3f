"""The board's live feed: a change reported by the place that made it (a seat taken or left,
media up, a visit ended, a terminal connected or gone, an inmate marked ready, a request
decided) reaches every subscriber of the facility as the changed row.

Changes are coalesced: a change only marks its row dirty, and one flush task per node builds
each dirty row once (one store read) and hands the same bytes to every subscriber of its
facility, so 20 officers watching 200 visits cost one read per change, not twenty. A facility
nobody watches costs nothing. Each subscriber has a bounded queue: one that falls behind is
dropped with a ``resync`` event (it reconnects and reads the board again), never buffered
without end.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
import structlog

from services.access.revocation import Key, Revocation
from services.board.rows import BoardRows
from services.errors import RateLimited
from services.ids import FacilityId, TerminalId, VisitId

log = structlog.get_logger("tatap.board")

# Events a subscriber may hold unread before it is dropped with `resync`.
QUEUE_SIZE = 256
# Subscribers per facility on one node (20 officers is a busy facility).
MAX_SUBSCRIBERS = 100

VISIT, TERMINAL, RESYNC, CLOSED = "visit", "terminal", "resync", "closed"
# Events after which a stream ends.
FINAL = frozenset({RESYNC, CLOSED})


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One server-sent event: its name and its JSON data."""

    name: str
    data: bytes


_RESYNC = FeedEvent(RESYNC, b"{}")


@dataclass(eq=False)
class Subscription:
    """One subscriber's queue. ``dropped``: it fell behind; it gets `resync` and is let go."""

    facility_id: FacilityId
    keys: tuple[Key, ...] = ()  # the revocations that shut its credentials out
    issued_at: float = 0.0  # its token's: a lifted revocation shuts out tokens issued before
    queue: asyncio.Queue[FeedEvent] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: bool = False

    def offer(self, event: FeedEvent) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            log.info("board.subscriber_dropped", facility_id=self.facility_id)
            self.close()  # what it missed is replaced by one resync

    def close(self, last: FeedEvent = _RESYNC) -> None:
        """Let go of the subscriber: whatever it has not read is replaced by ``last``."""
        self.dropped = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(last)

    async def next(self, timeout: float) -> FeedEvent | None:
        """The next event, or None after ``timeout`` seconds without one (time for a ping)."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


Build = Callable[[], Awaitable[bytes | None]]


class BoardFeed:
    """Subscribers by facility, and the dirty rows waiting to be sent to them.

    ``BoardChanges`` for the hub and the API; ``start(rows)`` gives it what builds rows (the
    composition root builds the feed before the hub, and the rows after it).
    """

    def __init__(self, heartbeat_s: float = 15.0) -> None:
        self.heartbeat_s = heartbeat_s  # a subscriber's stream pings after this long idle
        self._subs: dict[FacilityId, set[Subscription]] = {}
        self._by_key: dict[Key, set[Subscription]] = {}  # for revocations (as the sockets')
        self._dirty: dict[tuple[str, str], tuple[FacilityId, Build]] = {}
        self._rows: BoardRows | None = None
        self._flushing: asyncio.Task[None] | None = None

    def start(self, rows: BoardRows) -> None:
        self._rows = rows

    def subscribe(
        self, facility_id: FacilityId, keys: tuple[Key, ...] = (), issued_at: float = 0.0
    ) -> Subscription:
        """A subscriber of the facility, let go when a revocation under one of ``keys`` (its
        credentials' ``keys_of``, issued at ``issued_at``) is written."""
        subs = self._subs.setdefault(facility_id, set())
        if len(subs) >= MAX_SUBSCRIBERS:
            raise RateLimited("too many board subscribers for this facility", retry_after_s=30)
        sub = Subscription(facility_id, keys, issued_at)
        subs.add(sub)
        for key in keys:
            self._by_key.setdefault(key, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.facility_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.facility_id]
        for key in sub.keys:
            held = self._by_key.get(key)
            if held is not None:
                held.discard(sub)
                if not held:
                    del self._by_key[key]

    def close_revoked(self, revocation: Revocation) -> int:
        """End the streams a revocation (a logout, a disabled account, a password reset) shuts
        out, each with a `closed` event naming why; returns how many. Called where the node's
        sockets are closed for it (``signaling.transport.socket_index``)."""
        held = self._by_key.get((revocation.kind, revocation.subject), ())
        subs = [sub for sub in held if revocation.shuts_out(sub.issued_at)]
        closed = FeedEvent(CLOSED, orjson.dumps({"code": revocation.error.code}))
        for sub in subs:
            sub.close(closed)
        return len(subs)

    def subscribers(self, facility_id: FacilityId | None = None) -> int:
        """Subscribers of one facility, or of every facility."""
        if facility_id is None:
            return sum(len(subs) for subs in self._subs.values())
        return len(self._subs.get(facility_id, ()))

    # ---- BoardChanges -------------------------------------------------------------------------

    def visit_changed(self, facility_id: FacilityId, visit_id: VisitId) -> None:
        rows = self._rows
        if rows is None or facility_id not in self._subs:
            return
        self._mark(VISIT, visit_id, facility_id, lambda: rows.visit_event(visit_id))

    def terminal_changed(self, facility_id: FacilityId, terminal_id: TerminalId) -> None:
        rows = self._rows
        if rows is None or facility_id not in self._subs:
            return
        self._mark(TERMINAL, terminal_id, facility_id, lambda: rows.terminal_event(terminal_id))

    # ---- flushing -----------------------------------------------------------------------------

    def _mark(self, kind: str, key: str, facility_id: FacilityId, build: Build) -> None:
        self._dirty[(kind, key)] = (facility_id, build)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush(), name="board")

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the changes of this turn of the loop gather first
        while self._dirty:
            batch, self._dirty = self._dirty, {}
            for (kind, _), (facility_id, build) in batch.items():
                try:
                    data = await build()
                except Exception:  # a failed read loses one push; the next change resends
                    log.exception("board.row_failed", kind=kind)
                    continue
                if data is None:
                    continue
                event = FeedEvent(kind, data)
                for sub in list(self._subs.get(facility_id, ())):
                    sub.offer(event)

    def close_all(self) -> None:
        """Shutdown: every subscriber gets `resync` (reconnect, to this node when it is back
        or to another) and its stream ends."""
        for subs in self._subs.values():
            for sub in subs:
                sub.close()

    async def aclose(self) -> None:
        self.close_all()
        task = self._flushing
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
