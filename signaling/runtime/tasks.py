"""A set of background tasks that are kept, logged when they fail, and awaited on shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger("tatap.tasks")


class TaskSet:
    """Background tasks nobody awaits one by one: none is lost, each failure is logged, and
    `idle()` / `drain()` wait for them as a whole."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle: asyncio.Event | None = None  # made on first `idle()`: set while none runs

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background, kept until it finishes."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        if self._idle is not None:
            self._idle.clear()
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not self._tasks and self._idle is not None:
            self._idle.set()
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("task.failed", task=task.get_name(), error=type(exc).__name__, exc_info=exc)

    async def idle(self) -> None:
        """Resolve once no task is running, tasks spawned meanwhile included (a write that
        spawns the next one is waited for too)."""
        if self._idle is None:
            self._idle = asyncio.Event()
        # Done callbacks run a loop turn after the task finishes: look again after each wake-up.
        while self._tasks:
            self._idle.clear()
            await self._idle.wait()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for running tasks (they finish their writes), then cancel stragglers."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
