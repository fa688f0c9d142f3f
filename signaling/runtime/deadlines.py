"""One timer for every deadline of a node: a heap and a single task that sleeps until the earliest.

Thousands of visits need no thousands of timers: warnings, ends, grace periods and `time` ticks are
heap entries; cancelling one marks it dead (removed lazily when it surfaces). Callbacks are plain
functions and must not block; they start tasks for anything that awaits.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable

import structlog

from services.clock import Clock

log = structlog.get_logger("tatap.deadlines")


class Deadline:
    __slots__ = ("when", "callback", "cancelled", "_owner")

    def __init__(
        self, when: float, callback: Callable[[], None], owner: DeadlineScheduler | None = None
    ) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False
        self._owner = owner  # None once the deadline has left the heap

    def cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        if self._owner is not None:
            self._owner._cancelled_one()


class DeadlineScheduler:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._cancelled = 0  # cancelled entries still in the heap

    def __len__(self) -> int:
        """Deadlines still to fire."""
        return len(self._heap) - self._cancelled

    def _cancelled_one(self) -> None:
        self._cancelled += 1
        # Far-off cancelled entries would sit in the heap until their time: once they are most
        # of it, rebuild it without them.
        if self._cancelled > 64 and 2 * self._cancelled > len(self._heap):
            self._heap = [entry for entry in self._heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def _popped(self, deadline: Deadline) -> None:
        if deadline.cancelled:
            self._cancelled -= 1
        deadline._owner = None

    def at(self, when: float, callback: Callable[[], None]) -> Deadline:
        deadline = Deadline(when, callback, self)
        earliest = self._heap[0][0] if self._heap else None
        heapq.heappush(self._heap, (when, next(self._seq), deadline))
        if earliest is None or when < earliest:
            self._wake.set()
        return deadline

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="deadlines")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def fire_due(self) -> int:
        """Run every callback that is due now; returns how many ran."""
        now = self._clock.now()
        started = time.perf_counter()
        fired = 0
        while self._heap and self._heap[0][0] <= now:
            _, _, deadline = heapq.heappop(self._heap)
            cancelled = deadline.cancelled
            self._popped(deadline)
            if cancelled:
                continue
            fired += 1
            try:
                deadline.callback()
            except Exception:  # one bad callback must not stop every other deadline
                log.exception("deadline.callback_failed")
        took = time.perf_counter() - started
        if took > 0.1:  # a burst (many visits ending at once): how long the last one waited
            log.warning(
                "deadlines.burst",
                fired=fired,
                ms=round(took * 1000),
                late_ms=round((self._clock.now() - now) * 1000),
            )
        return fired

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self.fire_due()
            while self._heap and self._heap[0][2].cancelled:
                self._popped(heapq.heappop(self._heap)[2])
            when = self._heap[0][0] if self._heap else self._clock.now() + 3600.0
            sleeper = asyncio.ensure_future(self._clock.sleep_until(when))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()
