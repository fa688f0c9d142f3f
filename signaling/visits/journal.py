"""The audit events of live visits: built with the visit's facility and the clock's time, and
written in the background so that nothing a client waits for waits on the disk."""

from __future__ import annotations

from services.audit.chain import AuditEvent
from services.clock import Clock
from services.ids import Actor
from services.store.protocols import Store
from signaling.runtime.tasks import TaskSet
from signaling.visits.room import VisitRoom


class Journal:
    """Audit events of a node's visits; `system` is the node itself (timers, the sweeper)."""

    def __init__(self, store: Store, clock: Clock, tasks: TaskSet, node_id: str) -> None:
        self._store = store
        self._clock = clock
        self._tasks = tasks
        self.system = Actor.system(node_id)

    def event(
        self, room: VisitRoom, action: str, actor: Actor, details: dict[str, object]
    ) -> AuditEvent:
        """An event of this visit, now."""
        return AuditEvent(
            action,
            actor.role,
            actor.id,
            room.visit.facility_id,
            room.visit.id,
            details,
            ts=self._clock.now(),
        )

    async def append(self, events: list[AuditEvent]) -> None:
        """Append events and return once they are on disk (for what is told only then)."""
        await self._store.append(events)

    def write(self, events: list[AuditEvent], name: str) -> None:
        """Append events in the background (a failure is logged by the task set)."""
        self._tasks.spawn(self._store.append(events), name=name)

    def audit(self, room: VisitRoom, action: str, actor: Actor, details: dict[str, object]) -> None:
        """Write one event of this visit in the background."""
        self.write([self.event(room, action, actor, details)], f"audit-{action}")
