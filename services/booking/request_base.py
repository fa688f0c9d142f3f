"""What the parts of the request service share: the store roles they use, the clock, the
family links, the audit log's ``system`` actor for what is approved at once, and the one way a
request's audit event and its facility are found."""

from __future__ import annotations

from typing import Protocol

from services.access.links import FamilyLinks
from services.audit.chain import AuditEvent
from services.booking.calendar import CalendarService
from services.clock import Clock
from services.domain.model import Facility, Visit
from services.errors import NotFound
from services.ids import Actor
from services.store.protocols import (
    CalendarStore,
    FacilityStore,
    MakeupStore,
    RequestStore,
    RevocationStore,
    VisitStore,
)


class RequestRecords(
    FacilityStore, CalendarStore, RequestStore, VisitStore, RevocationStore, MakeupStore, Protocol
):
    """What requests read and write."""


class RequestBase:
    """The state every part of ``services.booking.requests.RequestService`` works with."""

    def __init__(
        self, store: RequestRecords, clock: Clock, family: FamilyLinks, node_id: str = ""
    ) -> None:
        self._store = store
        self._clock = clock
        self._family = family
        # Who approves a known visitor's request at once (the audit log's ``system`` actor).
        self._system = Actor.system(node_id or "booking")
        self._calendar = CalendarService(store)

    async def _facility(self, facility_id: str) -> Facility:
        facility = await self._store.get_facility(facility_id)
        if facility is None:
            raise NotFound("no such facility")
        return facility


def request_event(
    action: str, actor: Actor, visit: Visit, details: dict[str, object]
) -> AuditEvent:
    """A request's audit event: of its facility and visit."""
    return AuditEvent(action, actor.role, actor.id, visit.facility_id, visit.id, details)
