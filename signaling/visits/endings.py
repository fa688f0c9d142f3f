"""How a visit ends: who hears `ended` when, and how the end gets on disk.

Two kinds of end. One the schedule recomputes after a restart (completed, no_show, failed):
`ended` goes out at once and the record follows (`end`). One nothing could recompute after a
crash (terminated, hangup, a media timeout): it is on disk before anyone hears of it
(`end_for_good`); should that write fail, nobody heard anything and the room reopens
(``signaling.visits.reopen``). A visit ended elsewhere is only let go of here (`drop`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog

from services.audit.chain import AuditEvent
from services.clock import Clock
from services.domain.model import EndReason, VisitStatus
from services.errors import Conflict, NotRecorded
from services.ids import Actor, VisitId
from services.store.protocols import Store, VisitChange
from signaling import protocol
from signaling.runtime.tasks import TaskSet
from signaling.transport.connection import Connection
from signaling.visits.folding import Folding
from signaling.visits.journal import Journal
from signaling.visits.registry import Registry
from signaling.visits.room import Seated, VisitRoom

log = structlog.get_logger("tatap.hub")

_ENDED = {reason: protocol.ended(reason.value) for reason in EndReason}
_OPEN = frozenset({VisitStatus.SCHEDULED, VisitStatus.LIVE})

Reseat = Callable[
    [list[Connection]], Coroutine[Any, Any, None]
]  # terminals go on to their next visit
Reopen = Callable[[VisitRoom], None]  # an end that could not be written: the visit goes on


class Endings:
    """Ends the visits of this node, in the order that keeps what anyone heard true."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        tasks: TaskSet,
        journal: Journal,
        folding: Folding,
        registry: Registry,
        seated: Seated,
        reseat: Reseat,
        reopen: Reopen,
    ) -> None:
        self._store = store
        self._clock = clock
        self._tasks = tasks
        self._journal = journal
        self._folding = folding
        self._registry = registry
        self._seated = seated
        self._reseat = reseat
        self._reopen = reopen
        # Visits whose `ended` went out and whose end is still to be written (see `end`).
        self._ends: list[tuple[VisitRoom, EndReason, Actor, str, float, list[Connection]]] = []

    def end(
        self,
        room: VisitRoom,
        reason: EndReason,
        actor: Actor | None = None,
        note: str = "",
    ) -> None:
        """End a visit now for a reason the schedule recomputes after a restart (completed,
        no_show, failed): everyone gets `ended`, sockets close, the end is written to the log.

        Only the `ended` frames go out here. The rest (closing the sockets, audit events, the log
        line, the database) waits until the loop's next turn, so that when many visits end at the
        same instant every one of them has had its `ended` sent before any bookkeeping starts.
        """
        if room.ended:
            return
        conns = self._close_room(room, reason)
        actor = actor or self._journal.system
        self._ends.append((room, reason, actor, note, self._clock.now(), conns))
        if len(self._ends) == 1:
            asyncio.get_running_loop().call_soon(self._record_ends)

    def _record_ends(self) -> None:
        batch, self._ends = self._ends, []
        for room, reason, actor, note, now, conns in batch:
            devices = self._let_go(room, conns)
            events = self._end_events(room, reason, actor, note, now)
            log.info("visit.ended", visit_id=room.visit.id, reason=reason.value)
            self._tasks.spawn(self._persist_end(room, reason, now, events, devices), name="end")

    def _end_events(
        self, room: VisitRoom, reason: EndReason, actor: Actor, note: str, now: float
    ) -> list[AuditEvent]:
        visit = room.visit
        details: dict[str, object] = {
            "reason": reason.value,
            "planned_s": round(visit.end - visit.start),
            "real_s": round(now - room.started_at) if room.started_at else None,
        }
        # What was folded and not yet written comes first (the last leave above all).
        events = self._folding.unwritten(room)
        if reason is EndReason.TERMINATED:
            events.append(self._journal.event(room, "terminated", actor, {"note": note[:200]}))
        events.append(self._journal.event(room, "ended", actor, details))
        return events

    def end_for_good(
        self, room: VisitRoom, reason: EndReason, actor: Actor, note: str = ""
    ) -> asyncio.Future[EndReason]:
        """End a visit for a reason nothing could recompute after a crash (terminated, hangup):
        the end is on disk before anyone hears of it.

        The room stops admitting, relaying and ticking at once; `ended` goes out once the end has
        committed. The future resolves to the end on record: this one, or one that came first (a
        second request joins the first). If the write fails, nobody has been told anything: the
        room reopens and the future fails with NotRecorded.
        """
        if room.ending is not None:
            return room.ending
        if room.ended:  # a scheduled end came first and is already announced
            done: asyncio.Future[EndReason] = asyncio.get_running_loop().create_future()
            done.set_result(room.reason or reason)
            return done
        room.ended, room.reason = True, reason
        task = self._tasks.spawn(self._end_durably(room, reason, actor, note), name="end-for-good")
        room.ending = task
        return task

    async def _end_durably(
        self, room: VisitRoom, reason: EndReason, actor: Actor, note: str
    ) -> EndReason:
        visit, now = room.visit, self._clock.now()
        change = VisitChange(visit.id, VisitStatus.ENDED, _OPEN, now, reason)
        events = self._end_events(room, reason, actor, note, now)
        try:
            try:
                await self._store.change_visit(change, events)
            except Conflict:
                # Cancelled or ended elsewhere meanwhile: that end is on disk, so it is the one
                # told (should reading it fail, the room reopens and the sweeper drops it).
                current = await self._store.get_visit(visit.id)
                reason = (current.end_reason if current else None) or EndReason.CANCELLED
                log.info("visit.end_conflict", visit_id=visit.id, reason=reason.value)
        except Exception as exc:
            log.error("visit.end_not_recorded", visit_id=visit.id, error=type(exc).__name__)
            self._reopen(room)
            raise NotRecorded("the end could not be recorded; try again") from exc
        room.ending = None
        devices = self._let_go(room, self._close_room(room, reason))
        self._registry.forget(room)
        log.info("visit.ended", visit_id=visit.id, reason=reason.value)
        # The terminal's next visit is its own business: whoever ended this one is not kept
        # waiting for it, nor told of its errors (a failed reseat is logged by the task set).
        self._tasks.spawn(self._reseat(devices), name="reseat")
        return reason

    def drop(self, visit_id: VisitId, reason: EndReason) -> None:
        """A visit cancelled or ended elsewhere (the API, the CLI, another node): close its
        sessions here; the record and its audit event were written by whoever ended it."""
        room = self._registry.rooms.get(visit_id)
        if room is None or room.ended:
            return
        devices = self._let_go(room, self._close_room(room, reason))
        self._registry.forget(room)
        log.info("visit.dropped", visit_id=visit_id, reason=reason.value)
        self._tasks.spawn(self._reseat(devices), name="reseat")

    def _close_room(self, room: VisitRoom, reason: EndReason) -> list[Connection]:
        """Send `ended` to everyone here; returns their connections, for `_let_go`."""
        room.ended, room.reason = True, reason
        frame = _ENDED[reason]
        conns: list[Connection] = []
        for seat in room.seats.values():
            conn = seat.conn
            if conn is not None:
                conn.send(frame)
                self._seated.pop(conn, None)
                conns.append(conn)
        return conns

    def _let_go(self, room: VisitRoom, conns: list[Connection]) -> list[Connection]:
        """After `ended`: close the sockets and stop the deadlines. Returns the terminals'
        device sessions, which stay open for their next visit."""
        room.cancel_deadlines()
        devices = []
        for conn in conns:
            if conn.terminal is not None:
                devices.append(conn)
            else:
                conn.close(protocol.Close.ENDED, "visit ended")
        return devices

    async def _persist_end(
        self,
        room: VisitRoom,
        reason: EndReason,
        now: float,
        events: Sequence[AuditEvent],
        devices: list[Connection],
    ) -> None:
        change = VisitChange(room.visit.id, VisitStatus.ENDED, _OPEN, now, reason)
        try:
            await self._store.change_visit(change, events)
        except Conflict:
            # Cancelled or ended elsewhere meanwhile: that end is the one on record.
            log.info("visit.end_conflict", visit_id=room.visit.id)
        finally:
            self._registry.forget(room)
        await self._reseat(devices)


async def settled(room: VisitRoom) -> None:
    """Wait until no end is being written: until one commits, telling a joiner the visit is over
    could be untrue (a failed write reopens the room, and the reopening may at once begin
    another end, a media timeout that came due meanwhile: that one is waited for too)."""
    while room.ending is not None:
        ending = room.ending
        with contextlib.suppress(NotRecorded):
            await asyncio.shield(ending)
        if room.ending is ending:  # never spin on an end that is over but still marked
            return


def tell_if_not_recorded(conn: Connection, ending: asyncio.Future[EndReason]) -> None:
    """The participant who asked for an end that could not be written hears so (nobody else
    heard anything)."""
    if not ending.cancelled() and isinstance(ending.exception(), NotRecorded):
        conn.send(protocol.error(NotRecorded.code, "the end could not be recorded; try again"))
