"""One participant's comings and goings in a live visit: joins rationed, flapping folded into
few audit events (the rules and their reasons are in ``signaling.visits.rejoins``)."""

from __future__ import annotations

import functools
import math

from services.audit.chain import AuditEvent
from services.clock import Clock
from services.domain.model import Role
from services.errors import RateLimited
from services.ids import Actor, ParticipantId
from signaling.runtime.deadlines import DeadlineScheduler
from signaling.visits.journal import Journal
from signaling.visits.rejoins import MAX_TRACKED, REJOIN_BURST, Rejoins
from signaling.visits.room import VisitRoom


class Folding:
    """Rations a participant's joins and writes its folded reconnects and leaves."""

    def __init__(self, clock: Clock, scheduler: DeadlineScheduler, journal: Journal) -> None:
        self._clock = clock
        self._scheduler = scheduler
        self._journal = journal

    def admit(self, room: VisitRoom, pid: ParticipantId) -> None:
        """A join of `pid`, or RateLimited if it comes back in a loop."""
        now = self._clock.now()
        rejoins = room.rejoins.get(pid)
        if rejoins is None:
            if len(room.rejoins) >= MAX_TRACKED:
                for key in [k for k, r in room.rejoins.items() if r.idle(now)]:
                    del room.rejoins[key]
            if len(room.rejoins) >= MAX_TRACKED:
                raise RateLimited(
                    "too many joins in this visit; try again later", retry_after_ms=1000
                )
            rejoins = room.rejoins[pid] = Rejoins(REJOIN_BURST, now)
        wait = rejoins.admit(now)
        if wait > 0:
            raise RateLimited(
                "too many joins; try again later", retry_after_ms=math.ceil(wait * 1000)
            )

    def reconnected(self, room: VisitRoom, pid: ParticipantId) -> bool:
        """A participant came back: False if the `reconnected` is folded (written later)."""
        if room.rejoins[pid].reconnected(self._clock.now()):
            return True
        self.arm_flush(room, pid)  # written once the flapping stops
        return False

    def left(self, room: VisitRoom, role: Role, pid: ParticipantId, reason: str) -> None:
        """Log a seat's leaving, unless it cancels a folded reconnect."""
        rejoins = room.rejoins.get(pid)
        if role is not Role.OFFICER and rejoins is not None:
            if not rejoins.dropped(self._clock.now()):
                self.arm_flush(room, pid)  # it cancels a folded reconnect
                return
        self._journal.audit(room, "left", Actor(role.value, pid), {"reason": reason})

    def arm_flush(self, room: VisitRoom, pid: ParticipantId) -> None:
        """Write what is folded for `pid` once its fold window has passed."""
        rejoins = room.rejoins[pid]
        if rejoins.flush is None:
            flush = functools.partial(self._flush, room, pid)
            rejoins.flush = self._scheduler.at(rejoins.fold_until, flush)

    def rearm(self, room: VisitRoom) -> None:
        """After a failed end: the flushes that found the room ended are due again."""
        for pid, rejoins in room.rejoins.items():
            if rejoins.pending() and rejoins.flush is None:
                self.arm_flush(room, pid)

    def _flush(self, room: VisitRoom, pid: ParticipantId) -> None:
        """The fold window of a participant has passed: write what was folded, as one event."""
        rejoins = room.rejoins.get(pid)
        if rejoins is None:
            return
        rejoins.flush = None
        if room.ended:  # the end writes what is folded; should that fail, `rearm` re-arms this
            return
        if not rejoins.due(self._clock.now()):  # it came or went again meanwhile
            self.arm_flush(room, pid)
            return
        event = self.folded_event(room, pid, rejoins)
        rejoins.written()
        if event is not None:
            self._journal.write([event], "audit-folded")

    def folded_event(
        self, room: VisitRoom, pid: ParticipantId, rejoins: Rejoins
    ) -> AuditEvent | None:
        """What is folded for `pid` and not yet written, as one event (None if nothing is)."""
        seat, participant = room.seats.get(pid), room.visit.participant(pid)
        folded = rejoins.folded(present=seat is not None and seat.conn is not None)
        if folded is None or participant is None:
            return None
        actor = Actor(participant.role.value, pid)
        return self._journal.event(room, folded[0], actor, folded[1])

    def unwritten(self, room: VisitRoom) -> list[AuditEvent]:
        """Everything folded in the visit and not yet written (the end writes it first)."""
        folded = (self.folded_event(room, pid, r) for pid, r in room.rejoins.items())
        return [event for event in folded if event is not None]
