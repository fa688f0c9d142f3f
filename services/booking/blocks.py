"""Blocked visitors: a facility's officers shut a person out by NIK, with a reason.

A block is a visitor revocation (``services.access.revocation``) of every visitor record with
that NIK, in one facility: the person's seats in that facility's visits stop working at once, and
the store refuses their new requests there (``VisitorBlocked``, checked in the request's write
transaction). A NIK nobody has registered yet gets a bare visitor record, so that the block holds
before the person's first request. A block may name its last day (``until``, the facility's
local date): it stops applying when that day ends. Audit events name the NIK masked.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from services.access.revocation import NewRevocation, RevocationKind, Revocations, visitor_subject
from services.audit.chain import AuditEvent
from services.booking.identity import mask_nik, parse_nik
from services.booking.scheduling import new_id
from services.booking.slots import day_bounds, zone
from services.clock import Clock
from services.domain.model import Facility, Visitor
from services.errors import BadRequest, Conflict, NotFound
from services.ids import Actor, VisitorId
from services.store.protocols import FacilityStore, RevocationStore

MAX_REASON = 200
MAX_UNTIL_DAYS = 10 * 366  # a block's last day is at most about ten years ahead


class BlockRecords(FacilityStore, RevocationStore, Protocol):
    """What blocking reads and writes: facilities, visitors and revocations."""


class VisitorBlocks:
    """Block and unblock visitors by NIK in one facility, each change audited."""

    def __init__(self, store: BlockRecords, revocations: Revocations, clock: Clock) -> None:
        self._store = store
        self._revocations = revocations
        self._clock = clock

    async def block(
        self, facility_id: str, nik: str, reason: str, actor: Actor, until: dt.date | None = None
    ) -> int:
        """Block the person with ``nik`` in ``facility_id``, through the local date ``until``
        (None: until lifted); returns how many visitor records the block covers. Blocking a
        person blocked already sets the block's end anew."""
        facility, number, why = await self._checked(facility_id, nik, reason)
        ends = self._end(facility, until)
        people = await self._store.visitors_with_nik(number)
        if not people:
            bare = Visitor(VisitorId(new_id("vr")), "", number, "", "")
            await self._store.add_visitor(bare)
            people = [bare]
        details: dict[str, object] = {"nik": mask_nik(number), "facility": facility.id}
        details["reason"] = why
        if until is not None:
            details["until"] = until.isoformat()
        new: list[NewRevocation] = [
            (
                RevocationKind.VISITOR,
                visitor_subject(p.id, facility.id),
                None,
                self._event("visitor-blocked", actor, facility.id, {**details, "visitor": p.id}),
            )
            for p in people
        ]
        await self._revocations.record(*new, until=ends)
        return len(people)

    def _end(self, facility: Facility, until: dt.date | None) -> float | None:
        """When a block through local date ``until`` stops applying: that day's end."""
        if until is None:
            return None
        today = dt.datetime.fromtimestamp(self._clock.now(), zone(facility.timezone)).date()
        if not today <= until <= today + dt.timedelta(days=MAX_UNTIL_DAYS):
            raise BadRequest(
                "a block's last day is today or later, within ten years", field="until"
            )
        return day_bounds(until, facility.timezone)[1] / 1000

    async def unblock(self, facility_id: str, nik: str, reason: str, actor: Actor) -> int:
        """Lift the block of ``nik`` in ``facility_id``; Conflict if there is none. Links and
        tokens issued while blocked stay refused: the family looks its request up again."""
        facility, number, why = await self._checked(facility_id, nik, reason)
        details = {"nik": mask_nik(number), "facility": facility.id, "reason": why}
        lifted = 0
        for person in await self._store.visitors_with_nik(number):
            event = self._event(
                "visitor-unblocked", actor, facility.id, {**details, "visitor": person.id}
            )
            subject = visitor_subject(person.id, facility.id)
            lifted += await self._store.lift_revocation(RevocationKind.VISITOR, subject, event)
        if not lifted:
            raise Conflict("that NIK is not blocked in this facility")
        return lifted

    async def _checked(self, facility_id: str, nik: str, reason: str) -> tuple[Facility, str, str]:
        facility = await self._store.get_facility(facility_id)
        if facility is None:
            raise NotFound("no such facility")
        today = dt.datetime.fromtimestamp(self._clock.now(), zone(facility.timezone)).date()
        why = reason.strip()
        if not why or len(why) > MAX_REASON:
            raise BadRequest(f"give a reason of 1 to {MAX_REASON} characters", field="reason")
        return facility, parse_nik(nik, today).value, why

    def _event(
        self, action: str, actor: Actor, facility_id: str, details: dict[str, object]
    ) -> AuditEvent:
        return AuditEvent(
            action, actor.role, actor.id, facility_id, "", details, ts=self._clock.now()
        )
