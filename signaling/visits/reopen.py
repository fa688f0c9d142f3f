"""An end that could not be written, and that nobody was told of: the visit goes on, and what
came due while it looked ended is judged again."""

from __future__ import annotations

from services.clock import Clock
from services.domain.model import EndReason
from signaling.visits.folding import Folding
from signaling.visits.room import VisitRoom
from signaling.visits.seating import Seating
from signaling.visits.timers import Timers


class Reopening:
    """Reopens a room whose durable end failed to be written."""

    def __init__(self, clock: Clock, seating: Seating, folding: Folding, timers: Timers) -> None:
        self._clock = clock
        self._seating = seating
        self._folding = folding
        self._timers = timers

    def reopen(self, room: VisitRoom) -> None:
        """What came due while the room looked ended was skipped, so it is judged again now: an
        empty seat gets a fresh reconnect grace (a failed hangup is retried when it runs out),
        a missed tick resumes, a seat whose socket went meanwhile is announced and logged as
        left, what is folded is flushed, and a missed scheduled end, media timeout or no-show
        ends it (a media timeout whose own `failed` failed to be written: after a fresh one)."""
        failed = room.reason
        room.ended, room.reason, room.ending = False, None, None
        now = self._clock.now()
        for seat in list(room.seats.values()):
            if seat.conn is None and seat.dropped_unheard:
                self._seating.seat_left(room, seat)
            elif seat.conn is None and (seat.grace is None or seat.grace.when <= now):
                seat.grace = None
                self._seating.vacate(room, seat.participant_id)
        self._folding.rearm(room)  # a fold flush that found the room ended
        if room.tick is None or room.tick.when <= now:
            self._timers.tick(room)
        self._judge_deadlines(room, failed, now)

    def _judge_deadlines(self, room: VisitRoom, failed: EndReason | None, now: float) -> None:
        connect = room.connect_deadline
        if now >= room.visit.end:
            self._timers.end_on_time(room)
        elif connect is not None and connect.when <= now and not connect.cancelled:
            if failed is EndReason.FAILED:  # this very check failed to write: retry it later
                self._timers.arm_media_check(room, now)
            else:
                self._timers.check_media(room)
        elif now >= room.visit.start + room.rules.join_grace_s:
            self._timers.check_no_show(room)
