"""The slow password check (argon2: ~0.1 s and 64 MiB on purpose) on a small pool of its own.

A few checks run at once, so memory stays at a few checks' worth; a bounded number wait; beyond
that the answer is 429 at once, never a growing queue. Sources the caller vouches for (an
address or device that logged into the account before) wait in a queue of their own that is
served first, and have a few places that strangers cannot take: a flood from many addresses can
fill the strangers' queue, never delay an officer's usual login by more than the checks already
running.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from services.errors import RateLimited

T = TypeVar("T")


class PasswordPool:
    """``run`` a check on ``workers`` threads, known sources first."""

    def __init__(self, workers: int, queue: int, reserved: int, per_source: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password")
        self._free = workers  # worker slots not handed to a check
        self._limit = workers + queue  # checks running or waiting, for strangers
        self._reserved = reserved  # places beyond that for known sources
        self._per_source = per_source
        self._pending = 0
        self._by_source: dict[str, int] = {}
        self._known: deque[asyncio.Future[None]] = deque()
        self._strangers: deque[asyncio.Future[None]] = deque()

    @property
    def pending(self) -> int:
        """Checks running or waiting."""
        return self._pending

    async def run(self, source: str, known: bool, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the pool, or RateLimited at once when there is no place for it."""
        limit = self._limit + (self._reserved if known else 0)
        mine = self._by_source.get(source, 0)
        if self._pending >= limit or mine >= self._per_source:
            raise RateLimited("too many logins at once; try again shortly", retry_after_s=1)
        self._pending += 1
        self._by_source[source] = mine + 1
        try:
            await self._acquire(known)
            try:
                return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
            finally:
                self._release()
        finally:
            self._pending -= 1
            left = self._by_source[source] - 1
            if left:
                self._by_source[source] = left
            else:
                del self._by_source[source]

    async def _acquire(self, known: bool) -> None:
        if self._free and not self._known and not self._strangers:
            self._free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        line = self._known if known else self._strangers
        line.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over as we were cancelled: pass it on
            elif waiter in line:
                line.remove(waiter)
            raise

    def _release(self) -> None:
        """Hand the slot to the next waiter, known sources first; else it is free."""
        for line in (self._known, self._strangers):
            while line:
                waiter = line.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._free += 1

    def close(self) -> None:
        """Waiting checks are dropped; a running one finishes in its thread."""
        self._executor.shutdown(wait=False, cancel_futures=True)
