"""Visit requests: the one service the API, the CLI and the tests use, made of its parts.

A request is a visit in status ``requested``, placed in a room that has the slot free, with the
family's seat tied to the visitor record of that NIK. Families submit, look up and cancel
(``submission.py``) and take a make-up visit offered them (``makeup_taking.py``); officers
approve or reject (``decisions.py``); staff set the facility's request rules
(``request_policies.py``); what the parts share is in ``request_base.py``. Here: the facilities
taking requests and their free slots and days.
"""

from __future__ import annotations

import datetime as dt

from services.booking.days import DayCount, free_days
from services.booking.decisions import OfficerDecisions, permission_ref
from services.booking.makeup_taking import MakeupRequests
from services.booking.policy import BookingPolicy
from services.booking.request_base import RequestRecords
from services.booking.request_policies import RequestPolicies
from services.booking.slots import BookingWindow, Slot
from services.booking.submission import RequestState
from services.domain.model import Facility, VisitKind
from services.errors import NotFound


class RequestService(MakeupRequests, OfficerDecisions, RequestPolicies):
    """Takes, shows, cancels, approves and rejects visit requests, each change audited."""

    async def facilities(self) -> list[Facility]:
        """Facilities that take online requests."""
        return await self._store.request_facilities()

    async def offers(self) -> list[tuple[Facility, BookingPolicy, BookingWindow]]:
        """Facilities that take online requests, each with the relationships it accepts and
        its booking window (education days)."""
        return [
            (f, await self._store.booking_policy(f.id), await self._store.booking_window(f.id))
            for f in await self._store.request_facilities()
        ]

    async def free_slots(self, facility_id: str, date: dt.date, kind: VisitKind) -> list[Slot]:
        """The slots of local ``date`` a ``kind`` request may still take."""
        facility = await self._facility(facility_id)
        rooms = [t.room_id for t in await self._store.bookable_terminals(facility.id)]
        return await self._calendar.free_slots(facility.id, rooms, date, kind, self._clock.now())

    async def free_days(self, facility_id: str, kind: VisitKind) -> list[DayCount]:
        """Every date of the facility's booking window with its count of free start times for
        ``kind``, from one read of the store (``services.booking.days``)."""
        now = self._clock.now()
        span = await self._store.booking_span(facility_id, now)
        if span is None:
            raise NotFound("no such facility")
        return free_days(span, kind, now)


__all__ = ["RequestRecords", "RequestService", "RequestState", "permission_ref"]
