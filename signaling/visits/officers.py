"""What officers do to a live visit: a notice to everyone in it, and ending it (from their
monitor socket or from the REST API)."""

from __future__ import annotations

import asyncio
import functools

from services.clock import Clock
from services.domain.model import EndReason, Role
from services.domain.rules import is_open_yet
from services.errors import VisitNotOpen, VisitOver
from services.ids import Actor
from signaling import protocol
from signaling.cluster.bus import Bus
from signaling.transport.connection import Connection
from signaling.visits.endings import Endings, tell_if_not_recorded
from signaling.visits.journal import Journal
from signaling.visits.room import Seated, VisitRoom


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
    ) -> None:
        self._clock = clock
        self._bus = bus
        self._journal = journal
        self._endings = endings
        self._seated = seated
        self._early = early_join_s

    def notice(self, conn: Connection, code: str) -> None:
        """An officer's notice (a warning about conduct, say) to everyone in the visit."""
        room = self._officer_room(conn)
        if room.ended:
            return
        self._bus.publish(room.visit.id, protocol.notice(code))
        actor = Actor(Role.OFFICER.value, conn.participant_id)
        self._journal.audit(room, "notice", actor, {"code": code})

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
