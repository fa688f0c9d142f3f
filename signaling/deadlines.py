"""One timer for every deadline of a node: a heap and a single task that sleeps until the earliest.

Thousands of visits need no thousands of timers: warnings, ends, grace periods and `time` ticks are
heap entries; cancelling one marks it dead (removed lazily when it surfaces). Callbacks are plain
functions and must not block; they start tasks for anything that awaits.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

import structlog

from services.clock import Clock

log = structlog.get_logger("tatap.deadlines")


class Deadline:
    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class DeadlineScheduler:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, when: float, callback: Callable[[], None]) -> Deadline:
        deadline = Deadline(when, callback)
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
        fired = 0
        while self._heap and self._heap[0][0] <= now:
            _, _, deadline = heapq.heappop(self._heap)
            if deadline.cancelled:
                continue
            fired += 1
            try:
                deadline.callback()
            except Exception:  # one bad callback must not stop every other deadline
                log.exception("deadline.callback_failed")
        return fired

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self.fire_due()
            while self._heap and self._heap[0][2].cancelled:
                heapq.heappop(self._heap)
            delay = self._heap[0][0] - self._clock.now() if self._heap else 3600.0
            sleeper = asyncio.ensure_future(self._clock.sleep(delay))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()
