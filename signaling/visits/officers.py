"""What officers do to a live visit: a notice to everyone in it, muting one side of it, and
ending it (from their monitor socket or from the REST API)."""

from __future__ import annotations

import asyncio
import functools

import structlog

from services.clock import Clock
from services.domain.model import EndReason, Role
from services.domain.rules import is_open_yet
from services.errors import NotRecorded, VisitNotOpen, VisitOver
from services.ids import Actor
from signaling import protocol
from signaling.cluster.bus import Bus
from signaling.runtime.tasks import TaskSet
from signaling.transport.connection import Connection
from signaling.visits.endings import Endings, tell_if_not_recorded
from signaling.visits.journal import Journal
from signaling.visits.room import Seated, VisitRoom

log = structlog.get_logger("tatap.officers")


class Officers:
    """Officers' actions on the visits of this node."""

    def __init__(
        self,
        clock: Clock,
        bus: Bus,
        journal: Journal,
        endings: Endings,
        seated: Seated,
        early_join_s: float,
        tasks: TaskSet,
    ) -> None:
        self._clock = clock
        self._bus = bus
        self._journal = journal
        self._endings = endings
        self._seated = seated
        self._early = early_join_s
        self._tasks = tasks

    def notice(self, conn: Connection, code: str) -> None:
        """An officer's notice (a warning about conduct, say) to everyone in the visit."""
        room = self._officer_room(conn)
        if room.ended:
            return
        self._bus.publish(room.visit.id, protocol.notice(code))
        actor = Actor(Role.OFFICER.value, conn.participant_id)
        self._journal.audit(room, "notice", actor, {"code": code})

    def mute(self, conn: Connection, side: str, muted: bool) -> None:
        """An officer mutes (or unmutes) one side: once the `muted` event is on disk, the room
        keeps it and everyone in the visit hears `muted` (the terminal and the page obey it)."""
        room = self._officer_room(conn)
        if room.ended:
            return
        actor = Actor(Role.OFFICER.value, conn.participant_id)
        self._tasks.spawn(self._mute(room, conn, actor, side, muted), name="mute")

    async def _mute(
        self, room: VisitRoom, conn: Connection, actor: Actor, side: str, muted: bool
    ) -> None:
        async with room.muting:  # fair: two mutes in a row are written and told in order
            if room.ended:
                return
            event = self._journal.event(room, "muted", actor, {"side": side, "muted": muted})
            try:
                await self._journal.append([event])
            except Exception as exc:
                log.error("visit.mute_not_recorded", visit_id=room.visit.id, error=repr(exc))
                conn.send(protocol.error(NotRecorded.code, "the mute could not be recorded"))
                return
            if room.ended:
                return
            if muted:
                room.muted.add(side)
            else:
                room.muted.discard(side)
            self._bus.publish(room.visit.id, protocol.muted(side, muted))

    def terminate_from(self, conn: Connection, reason: str) -> None:
        """An officer's `terminate` on /ws: everyone (the officer too) gets `ended` once the end
        is on disk; if it cannot be written, the officer gets `not_recorded` and may try again."""
        room = self._officer_room(conn)
        actor = Actor(Role.OFFICER.value, conn.participant_id)
        ending = self._endings.end_for_good(room, EndReason.TERMINATED, actor, reason)
        ending.add_done_callback(functools.partial(tell_if_not_recorded, conn))

    async def terminate(self, room: VisitRoom, actor: Actor, reason: str) -> None:
        """An officer ends a visit from the REST API (one not yet open is cancelled instead).
        Returns once the end is on disk; VisitOver if another end came first."""
        if not room.live and not is_open_yet(room.visit, self._clock.now(), self._early):
            raise VisitNotOpen("this visit has not opened yet: cancel it instead")
        # Shielded: a caller that goes away does not interrupt the write (the end task owns it).
        ending = self._endings.end_for_good(room, EndReason.TERMINATED, actor, reason)
        on_record = await asyncio.shield(ending)
        if on_record is not EndReason.TERMINATED:
            raise VisitOver(f"this visit ended first: {on_record.value}", reason=on_record.value)

    def _officer_room(self, conn: Connection) -> VisitRoom:
        room = self._seated.get(conn)
        if room is None:
            raise protocol.ProtocolError(protocol.E_NOT_JOINED, "not in a visit")
        if conn.role is not Role.OFFICER:
            raise protocol.ProtocolError(protocol.E_NOT_ALLOWED, "only an officer may do that")
        return room
