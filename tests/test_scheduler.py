"""The deadline scheduler: one timer task, time order, cancellation without leaks."""

from __future__ import annotations

import asyncio

from services.clock import FakeClock
from signaling.runtime.deadlines import DeadlineScheduler


async def test_deadlines_fire_in_time_order_once() -> None:
    clock = FakeClock()
    scheduler = DeadlineScheduler(clock)
    scheduler.start()
    fired: list[str] = []
    t0 = clock.now()
    scheduler.at(t0 + 3, lambda: fired.append("c"))
    scheduler.at(t0 + 1, lambda: fired.append("a"))
    scheduler.at(t0 + 2, lambda: fired.append("b"))
    cancelled = scheduler.at(t0 + 1.5, lambda: fired.append("x"))
    cancelled.cancel()
    await asyncio.sleep(0)
    await clock.advance(2.5)
    assert fired == ["a", "b"]
    await clock.advance(10)
    assert fired == ["a", "b", "c"]
    assert len(scheduler) == 0
    await scheduler.aclose()


async def test_cancelled_far_deadlines_do_not_pile_up() -> None:
    """Cancelling thousands of far-off deadlines leaves the heap small, not full of the dead."""
    clock = FakeClock()
    scheduler = DeadlineScheduler(clock)
    keep = scheduler.at(clock.now() + 10, lambda: None)
    for _ in range(5000):
        scheduler.at(clock.now() + 86400, lambda: None).cancel()
    assert len(scheduler) == 1
    assert len(scheduler._heap) < 200
    assert not keep.cancelled


async def test_a_failing_callback_does_not_stop_the_others() -> None:
    clock = FakeClock()
    scheduler = DeadlineScheduler(clock)
    fired: list[int] = []

    def boom() -> None:
        raise RuntimeError("bad callback")

    scheduler.at(clock.now() + 1, boom)
    scheduler.at(clock.now() + 1, lambda: fired.append(1))
    await clock.advance(1)
    assert scheduler.fire_due() == 2
    assert fired == [1]
