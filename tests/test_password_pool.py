"""The password pool's order and bounds, with real threads: known sources first, places kept for
them, and a waiter that gives up gives its place back."""

from __future__ import annotations

import asyncio
import threading

import pytest

from services.access.password_pool import PasswordPool
from services.errors import RateLimited


class Gate:
    """A check that blocks its worker thread until opened."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.opened = threading.Event()

    def __call__(self) -> str:
        self.started.set()
        self.opened.wait(5)
        return "gate"


async def blocked(pool: PasswordPool) -> tuple[Gate, asyncio.Task[str]]:
    """The pool's one worker busy with a gate."""
    gate = Gate()
    task = asyncio.create_task(pool.run("blocker", False, gate))
    await asyncio.to_thread(gate.started.wait, 5)
    return gate, task


async def until_pending(pool: PasswordPool, n: int) -> None:
    """Until ``n`` checks run or wait: each task counts itself as soon as it first runs."""
    async with asyncio.timeout(5):
        while pool.pending < n:
            await asyncio.sleep(0)


async def test_known_sources_are_served_before_waiting_strangers() -> None:
    """With the worker busy, two strangers and then a known source wait: the known source's
    check runs first."""
    pool = PasswordPool(workers=1, queue=4, reserved=1, per_source=2)
    gate, first = await blocked(pool)
    ran: list[str] = []
    waiting = [
        asyncio.create_task(pool.run(name, name == "known", ran.append, name))
        for name in ("stranger1", "stranger2", "known")
    ]
    await until_pending(pool, 4)
    gate.opened.set()
    await asyncio.gather(first, *waiting)
    assert ran == ["known", "stranger1", "stranger2"]
    pool.close()


async def test_strangers_cannot_take_the_reserved_places() -> None:
    """Once strangers fill the pool's places, a further stranger gets 429 at once while a known
    source still gets a reserved place."""
    pool = PasswordPool(workers=1, queue=1, reserved=1, per_source=2)
    gate, first = await blocked(pool)
    stranger = asyncio.create_task(pool.run("s1", False, str, "s1"))
    await until_pending(pool, 2)
    with pytest.raises(RateLimited):
        await pool.run("s2", False, str, "s2")
    known = asyncio.create_task(pool.run("k", True, str, "k"))
    await until_pending(pool, 3)
    gate.opened.set()
    assert await asyncio.gather(first, stranger, known) == ["gate", "s1", "k"]
    assert pool.pending == 0
    pool.close()


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    """A waiting check whose request goes away leaves the queue: the pool counts nothing for it
    and the next check runs."""
    pool = PasswordPool(workers=1, queue=2, reserved=0, per_source=2)
    gate, first = await blocked(pool)
    gone = asyncio.create_task(pool.run("s1", False, str, "s1"))
    await until_pending(pool, 2)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert pool.pending == 1
    gate.opened.set()
    await first
    assert await pool.run("s2", False, str, "s2") == "s2"
    assert pool.pending == 0
    pool.close()
