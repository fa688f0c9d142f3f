"""A visit's clock: `time` ticks, warnings before the end, the end on time, the no-show check
after the join grace, and the media timeout. Armed only on the node that owns the visit."""

from __future__ import annotations

import functools

from services.clock import Clock
from services.domain.model import EndReason
from signaling import protocol
from signaling.cluster.bus import Bus
from signaling.runtime.deadlines import DeadlineScheduler
from signaling.visits.endings import Endings
from signaling.visits.journal import Journal
from signaling.visits.room import VisitRoom


class Timers:
    """The deadlines of each visit, in the node's one scheduler."""

    def __init__(
        self,
        clock: Clock,
        scheduler: DeadlineScheduler,
        bus: Bus,
        journal: Journal,
        endings: Endings,
        time_interval_s: float,
    ) -> None:
        self._clock = clock
        self._scheduler = scheduler
        self._bus = bus
        self._journal = journal
        self._endings = endings
        self._interval = time_interval_s

    def arm(self, room: VisitRoom) -> None:
        """Schedule a loaded visit's end, warnings, no-show check and first tick."""
        visit, now = room.visit, self._clock.now()
        if visit.end <= now:
            self.end_on_time(room)
            return
        at = self._scheduler.at
        room.deadlines.append(at(visit.end, functools.partial(self.end_on_time, room)))
        for before in room.rules.warnings_s:
            when = visit.end - before
            if when > now:
                room.deadlines.append(at(when, functools.partial(self._warn, room, before)))
        no_show_at = visit.start + room.rules.join_grace_s
        if no_show_at < visit.end:
            check = functools.partial(self.check_no_show, room)
            room.deadlines.append(at(max(no_show_at, now), check))
        self.tick(room)

    def tick(self, room: VisitRoom) -> None:
        """Tell everyone the time left, and schedule the next tick."""
        if room.ended:
            return
        now = self._clock.now()
        frame = protocol.time_left(room.remaining_ms(now), room.end_ms)
        self._bus.publish(room.visit.id, frame)
        nxt = now + self._interval
        if nxt < room.visit.end:
            room.tick = self._scheduler.at(nxt, functools.partial(self.tick, room))

    def _warn(self, room: VisitRoom, before_s: int) -> None:
        if room.ended:
            return
        remaining = room.remaining_ms(self._clock.now())
        self._bus.publish(room.visit.id, protocol.warning(remaining, room.end_ms))
        self._journal.audit(room, "warned", self._journal.system, {"remaining_s": before_s})

    def end_on_time(self, room: VisitRoom) -> None:
        """The scheduled end: `completed` if the call happened; else why it did not."""
        if not room.both_sides_joined():
            self._endings.end(room, EndReason.NO_SHOW)
        elif not room.media_up:
            self._endings.end(room, EndReason.FAILED)
        else:
            self._endings.end(room, EndReason.COMPLETED)

    def check_no_show(self, room: VisitRoom) -> None:
        """After the join grace: a visit one side never joined ends `no_show`."""
        if not room.both_sides_joined():
            self._endings.end(room, EndReason.NO_SHOW)

    def arm_media_check(self, room: VisitRoom, now: float) -> None:
        """Both sides are present: media must come up within the connect timeout."""
        room.connect_deadline = self._scheduler.at(
            now + room.rules.connect_timeout_s, functools.partial(self.check_media, room)
        )

    def check_media(self, room: VisitRoom) -> None:
        """The connect timeout passed: a visit whose media never came up ends `failed`."""
        # Durable: a restarted node does not re-arm the media timeout of a live visit, so this
        # `failed` could not be recomputed. One visit's timeout, never a burst of them.
        if not room.media_up and not room.ended:
            self._endings.end_for_good(room, EndReason.FAILED, self._journal.system)
