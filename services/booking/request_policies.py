"""A facility's request rules as its staff set them: quotas, the relationships accepted,
whether a known visitor's request is approved at once, and the make-up rule; each change
audited."""

from __future__ import annotations

import dataclasses

from services.audit.chain import AuditEvent
from services.booking.policy import BookingPolicy, check_makeup_after
from services.booking.quotas import Quotas
from services.booking.relationships import Relationship
from services.booking.request_base import RequestBase
from services.errors import BadRequest
from services.ids import Actor


class RequestPolicies(RequestBase):
    """Quotas and the booking policy of a facility."""

    async def set_quotas(self, facility_id: str, quotas: Quotas, actor: Actor) -> Quotas:
        """Set how many visits an inmate, and a visitor, may have in a rolling 7 days."""
        await self._facility(facility_id)
        if not (1 <= quotas.per_inmate <= 100 and 1 <= quotas.per_visitor <= 100):
            raise BadRequest("a quota is from 1 to 100 visits in 7 days")
        event = AuditEvent("quotas-set", actor.role, actor.id, facility_id, "", quotas.to_json())
        await self._store.set_quotas(facility_id, quotas, event)
        return quotas

    async def policy(self, facility_id: str) -> BookingPolicy:
        """The facility's booking policy (the defaults if it never set one)."""
        await self._facility(facility_id)
        return await self._store.booking_policy(facility_id)

    async def set_relationships(
        self, facility_id: str, relationships: frozenset[Relationship], actor: Actor
    ) -> BookingPolicy:
        """Set which relationships the facility accepts (at least one)."""
        current = await self.policy(facility_id)
        if not relationships:
            raise BadRequest("name at least one relationship")
        policy = dataclasses.replace(current, relationships=relationships)
        event = AuditEvent(
            "relationships-set",
            actor.role,
            actor.id,
            facility_id,
            "",
            {"relationships": policy.listed()},
        )
        await self._store.set_booking_policy(facility_id, policy, event)
        return policy

    async def set_auto_approve(self, facility_id: str, on: bool, actor: Actor) -> BookingPolicy:
        """Approve, or stop approving, known visitors' requests at once."""
        policy = dataclasses.replace(await self.policy(facility_id), auto_approve_known=on)
        event = AuditEvent(
            "auto-approve-set", actor.role, actor.id, facility_id, "", {"auto_approve_known": on}
        )
        await self._store.set_booking_policy(facility_id, policy, event)
        return policy

    async def set_makeup_after(
        self, facility_id: str, minutes: int | None, actor: Actor
    ) -> BookingPolicy:
        """Offer a make-up visit when a visit loses more than ``minutes`` to system faults
        (1 to 120), or no longer (None)."""
        wanted = check_makeup_after(minutes)
        policy = dataclasses.replace(await self.policy(facility_id), makeup_after_min=wanted)
        details: dict[str, object] = {"makeup_after_min": wanted}
        event = AuditEvent("makeup-rule-set", actor.role, actor.id, facility_id, "", details)
        await self._store.set_booking_policy(facility_id, policy, event)
        return policy
