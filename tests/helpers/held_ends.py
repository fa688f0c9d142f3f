"""The store's visit-ending write held, or failed, at will: the store is a seam we own."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence

from services.audit.chain import AuditEvent
from services.domain.model import Visit, VisitStatus
from services.store.protocols import VisitChange
from tests.helpers.world import World


class HeldEnds:
    """Holds every write that ends a visit until released; ``fail`` makes the next one fail."""

    def __init__(self, world: World, fail: bool = False) -> None:
        self.entered = asyncio.Event()
        self.released = asyncio.Event()
        self.fail = fail
        self._change = world.store.change_visit
        world.store.change_visit = self._held  # type: ignore[method-assign]

    async def _held(self, change: VisitChange, events: Sequence[AuditEvent]) -> Visit:
        if change.to is VisitStatus.ENDED:
            self.entered.set()
            await self.released.wait()
            if self.fail:
                self.fail = False
                raise sqlite3.OperationalError("disk I/O error")
        return await self._change(change, events)
