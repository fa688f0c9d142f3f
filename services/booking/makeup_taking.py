"""A family takes its make-up visit (``services.booking.makeup``): on ``/status``, by the
original visit's code and the NIK's last four digits, at a free slot of the facility.

The make-up visit is for the same inmate and of the same kind, with the family seat of the
visitor the offer names (an education visit's teacher seated again). It is approved at once
(by the ``system`` actor), counts against no quota, and marks the offer used in the same
transaction as its ``requested``, ``approved`` and ``makeup-taken`` events; a second take, or a
race of two, finds the offer used (MakeupUnavailable). The slot's calendar rules (window,
blocked dates, closures, kinds) and visitor blocks apply as to any request.
"""

from __future__ import annotations

from services.access.tokens import hash_secret
from services.booking.quotas import NewRequest
from services.booking.request_base import request_event
from services.booking.scheduling import GuestSpec, new_id, new_visit_code, seats
from services.booking.submission import FamilyRequests, RequestState, requested_event
from services.domain.model import Role, Visit, VisitStatus
from services.errors import InmateUnavailable, MakeupUnavailable
from services.ids import Actor, VisitId


class MakeupRequests(FamilyRequests):
    """The family's side of a make-up offer: seen with the ended visit, then taken."""

    async def lookup(self, code: str, nik_last4: str) -> RequestState:
        """As ``FamilyRequests.lookup``; an ended visit with the make-up offer it earned."""
        state = await super().lookup(code, nik_last4)
        if state.visit.status is not VisitStatus.ENDED:
            return state
        offer = await self._store.makeup_offer(state.visit.id)
        return RequestState(state.visit, makeup=offer) if offer else state

    async def take_makeup(self, code: str, nik_last4: str, start_ms: int) -> Visit:
        """The make-up visit of the visit ``code`` at ``start_ms``, approved at once; NotFound
        as a lookup, MakeupUnavailable without an unused offer, else as a request."""
        original = await self._own(code, nik_last4)
        offer = await self._store.makeup_offer(original.id)
        if offer is None or offer.used_visit_id is not None:
            raise MakeupUnavailable("no make-up visit is offered for that visit")
        visitor = await self._store.get_visitor(offer.visitor_id)
        inmate = await self._store.get_inmate(original.inmate_id)
        if visitor is None or inmate is None or inmate.status.gone:
            raise InmateUnavailable("the inmate cannot be visited here")
        facility = await self._facility(original.facility_id)
        places, end_ms = await self._places(facility, original.kind, start_ms)
        guests = [GuestSpec(Role.FAMILY, visitor.name, visitor.id)]
        guests += [
            GuestSpec(Role.TEACHER, p.name, contact=p.contact)
            for p in original.participants
            if p.role is Role.TEACHER
        ]
        visit_id = VisitId(new_id("v"))
        visit = Visit(
            id=visit_id,
            code=new_visit_code(),
            facility_id=facility.id,
            room_id=places[0].room_id,
            terminal_id=places[0].id,
            inmate_id=inmate.id,
            kind=original.kind,
            status=VisitStatus.REQUESTED,
            start=start_ms / 1000,
            end=end_ms / 1000,
            participants=seats(visit_id, places[0].name, guests),
            advocate_number=original.advocate_number,
        )
        seat = next(p for p in visit.participants if p.role is Role.FAMILY)
        family = Actor(Role.FAMILY.value, seat.id)
        made_up: dict[str, object] = {"makeup_for": original.id}
        return await self._store.add_request(
            NewRequest(
                visit,
                tuple(places),
                visitor,
                await self._store.quotas(facility.id),
                requested_event(visit, visitor, None),
                approval=request_event("approved", self._system, visit, {"auto": "makeup"}),
                family_link_hash=hash_secret(self._family.secret(seat.id)),
                makeup_for=original.id,
                makeup_event=request_event("makeup-taken", family, visit, made_up),
            )
        )
