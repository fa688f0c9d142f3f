"""Finding visits other processes changed: the sweeper loads every visit whose window has
opened (so one nobody joins still ends `no_show` on time) and lets go of visits cancelled or
ended elsewhere (the CLI, the API of another node)."""

from __future__ import annotations

import asyncio

import structlog

from services.clock import Clock
from services.domain.model import EndReason, VisitStatus
from services.errors import NotFound, VisitOver
from services.ids import VisitId
from services.store.protocols import Store
from signaling.visits.endings import Endings
from signaling.visits.registry import Registry

log = structlog.get_logger("tatap.hub")


class Sweeper:
    """A loop that sweeps every `interval_s`; `sweep` runs one pass."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        registry: Registry,
        endings: Endings,
        interval_s: float,
        early_join_s: float,
    ) -> None:
        self._store = store
        self._clock = clock
        self._registry = registry
        self._endings = endings
        self._interval = interval_s
        self._early = early_join_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="sweeper")

    async def stop(self) -> None:
        """Stop sweeping (idempotent)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            started = self._clock.now()
            try:
                await self.sweep()
            except Exception:
                log.exception("sweeper.failed")
            await self._clock.sleep_until(started + self._interval)

    async def sweep(self) -> None:
        """Arm every visit whose window has opened and that this node does not hold yet, and
        drop the rooms of visits that were cancelled or ended elsewhere."""
        now, registry = self._clock.now(), self._registry
        due = {VisitId(v) for v in await self._store.due_visit_ids(now, self._early)}
        for visit_id in due:
            if visit_id not in registry.rooms and visit_id not in registry.loading:
                try:
                    await registry.room(visit_id)
                except (VisitOver, NotFound):
                    pass
        for visit_id in [v for v, r in registry.rooms.items() if v not in due and not r.ended]:
            visit = await self._store.get_visit(visit_id)
            if visit is not None and visit.status in (VisitStatus.CANCELLED, VisitStatus.ENDED):
                self._endings.drop(visit_id, visit.end_reason or EndReason.CANCELLED)
