"""The background task set: kept tasks, and `idle()` awaiting them instead of sleeping."""

from __future__ import annotations

import asyncio

from signaling.runtime.tasks import TaskSet


async def test_idle_resolves_at_once_when_nothing_runs() -> None:
    """With no task running, `idle()` does not wait."""
    async with asyncio.timeout(1):
        await TaskSet().idle()


async def test_idle_waits_for_tasks_spawned_while_waiting() -> None:
    """`idle()` resolves only once the last task is done, one spawned by another included."""
    tasks, gate, done = TaskSet(), asyncio.Event(), []

    async def second() -> None:
        await gate.wait()
        done.append("second")

    async def first() -> None:
        await asyncio.sleep(0)
        tasks.spawn(second(), name="second")
        done.append("first")

    tasks.spawn(first(), name="first")
    waiter = asyncio.ensure_future(tasks.idle())
    await asyncio.sleep(0.01)
    assert not waiter.done() and done == ["first"]
    gate.set()
    async with asyncio.timeout(1):
        await waiter
    assert done == ["first", "second"] and len(tasks) == 0


async def test_idle_resolves_after_a_failed_task() -> None:
    """A failing task counts as finished (its failure is logged, not raised to the waiter)."""
    tasks = TaskSet()

    async def fail() -> None:
        raise RuntimeError("boom")

    tasks.spawn(fail(), name="fail")
    async with asyncio.timeout(1):
        await tasks.idle()
    assert len(tasks) == 0
