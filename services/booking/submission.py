"""Families' side of visit requests: submitted against the facility's calendar and quotas (a
known visitor's approved at once where the facility says so), looked up and cancelled by code
and the NIK's last four digits.

The slot and the quotas are checked again in the store's write transaction
(``RequestStore.add_request``); the checks here only name the rule a request breaks. A lookup of
an approved request shows the family seat's derived link (``FamilyLinks``) again, and never
replaces the one the family already has.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from services.access.revocation import seat_keys
from services.access.tokens import hash_secret
from services.audit.chain import AuditEvent
from services.booking.forms import RequestForm, Teacher, advocate_number_of, teacher_of, visitor_of
from services.booking.identity import mask_nik, mask_phone
from services.booking.makeup_records import MakeupOffer
from services.booking.names import check_inmate_name
from services.booking.quotas import NewRequest
from services.booking.rejections import Rejection
from services.booking.request_base import RequestBase, request_event
from services.booking.scheduling import GuestSpec, new_id, new_visit_code, seats
from services.booking.slots import Calendar, Slot, day_bounds, free_slots, zone
from services.domain.model import (
    EndReason,
    Facility,
    InmateStatus,
    Role,
    Terminal,
    Visit,
    VisitKind,
    Visitor,
    VisitStatus,
)
from services.errors import (
    BadRequest,
    DateBlocked,
    InmateUnavailable,
    KindNotAllowed,
    NotFound,
    OutsideWindow,
    SlotFull,
)
from services.ids import Actor, VisitId
from services.store.protocols import VisitChange


@dataclass(frozen=True, slots=True)
class RequestState:
    """What a family may see of its request: its state, when, why refused, and its link."""

    visit: Visit
    rejection: Rejection | None = None
    link: str | None = None  # the family seat's link secret, once approved
    revoked: bool = False  # approved, but the seat or its visitor was revoked: no link
    makeup: MakeupOffer | None = None  # an ended visit's make-up offer (makeup_taking.py)


class FamilyRequests(RequestBase):
    """Submit, look up and cancel a request, each change audited."""

    async def submit(self, form: RequestForm) -> Visit:
        """A new request, in status ``requested``; BadRequest naming a wrong field, NotFound
        for an unknown facility or inmate, a Conflict naming the rule the slot breaks."""
        facility = await self._facility(form.facility_id)
        today = dt.datetime.fromtimestamp(self._clock.now(), zone(facility.timezone)).date()
        visitor = visitor_of(form, today)
        teacher = teacher_of(form)
        advocate_number = advocate_number_of(form, visitor)
        policy = await self._store.booking_policy(facility.id)
        policy.check(visitor.relationship)
        # A teacher's link would reach nobody: only an officer's approval hands it out.
        auto = policy.auto_approve_known and not teacher
        inmate = await self._store.find_inmate(facility.id, form.inmate_number.strip())
        if inmate is None:
            raise NotFound("not found")
        if form.inmate_name is not None:  # before any answer that says the number exists
            check_inmate_name(form.inmate_name, inmate.name)
        if inmate.status.gone:
            raise InmateUnavailable("the inmate cannot be visited here")
        places, end_ms = await self._places(facility, form.kind, form.start_ms)
        guests = [GuestSpec(Role.FAMILY, visitor.name, visitor.id)]
        if teacher:
            guests.append(GuestSpec(Role.TEACHER, teacher.name, contact=teacher.contact))
        visit_id = VisitId(new_id("v"))
        visit = Visit(
            id=visit_id,
            code=new_visit_code(),
            facility_id=facility.id,
            room_id=places[0].room_id,
            terminal_id=places[0].id,
            inmate_id=inmate.id,
            kind=form.kind,
            status=VisitStatus.REQUESTED,
            start=form.start_ms / 1000,
            end=end_ms / 1000,
            participants=seats(visit_id, places[0].name, guests),
            advocate_number=advocate_number,
        )
        event = requested_event(visit, visitor, teacher)
        quotas = await self._store.quotas(facility.id)
        extra_ms = facility.rules.priority_extra_s * 1000 if visitor.priority else 0
        approval, link_hash = None, ""
        if auto and inmate.status is not InmateStatus.REMAND:
            details = {"start_ms": form.start_ms, "auto": "known_visitor"}
            approval = request_event("approved", self._system, visit, details)
            seat = next(p for p in visit.participants if p.role is Role.FAMILY)
            link_hash = hash_secret(self._family.secret(seat.id))
        return await self._store.add_request(
            NewRequest(visit, tuple(places), visitor, quotas, event, extra_ms, approval, link_hash)
        )

    async def _places(
        self, facility: Facility, kind: VisitKind, start_ms: int
    ) -> tuple[list[Terminal], int]:
        """Where a ``kind`` visit may start at ``start_ms`` (a terminal per free room) and when
        it ends; the Conflict or BadRequest naming why there is nowhere."""
        date = dt.datetime.fromtimestamp(start_ms / 1000, zone(facility.timezone)).date()
        calendar = await self._calendar.day_calendar(facility, date)
        now = self._clock.now()
        _check_rules(calendar, date, kind, now, start_ms)
        terminals = await self._store.bookable_terminals(facility.id)
        rooms = [t.room_id for t in terminals]
        day = day_bounds(date, facility.timezone)
        booked = await self._store.booked_slots(rooms, *day)
        free = _starting(free_slots(calendar, rooms, date, kind, now, booked), start_ms)
        if not free:
            if _starting(free_slots(calendar, rooms, date, kind, now, ()), start_ms):
                raise SlotFull("that slot is taken")
            for other in VisitKind:
                if _starting(free_slots(calendar, rooms, date, other, now, ()), start_ms):
                    raise KindNotAllowed(f"no room takes {kind.value} visits then")
            raise BadRequest("`start_ms` is not the start of a slot", field="start_ms")
        by_room = {t.room_id: t for t in terminals}
        end_ms = free[0].end_ms
        return [by_room[s.room_id] for s in free if s.end_ms == end_ms], end_ms

    async def lookup(self, code: str, nik_last4: str) -> RequestState:
        """The request behind ``code`` if its visitor's NIK ends in ``nik_last4``; NotFound
        (saying nothing of which was wrong) otherwise; once approved, the family seat's link,
        the same as approval gave (derived, nothing written)."""
        visit = await self._own(code, nik_last4)
        if visit.status is VisitStatus.REJECTED:
            return RequestState(visit, await self._store.rejection(visit.id))
        # Live too: the visit-room terminal takes its seat as the visit opens, which makes the
        # visit live before the family has come in; the family still needs its link then.
        if visit.status not in (VisitStatus.SCHEDULED, VisitStatus.LIVE):
            return RequestState(visit)
        seat = next(p for p in visit.participants if p.role is Role.FAMILY)
        keys = seat_keys(seat.id, seat.visitor_id, visit.facility_id)
        if await self._store.find_revocation(keys) is not None:
            return RequestState(visit, revoked=True)  # the link would open nothing: say so
        return RequestState(visit, link=self._family.secret(seat.id))

    async def cancel(self, code: str, nik_last4: str) -> Visit:
        """The family calls its request (or its approved visit) off, freeing slot and quota."""
        visit = await self._own(code, nik_last4)
        seat = next(p for p in visit.participants if p.role is Role.FAMILY)
        family = Actor(Role.FAMILY.value, seat.id)
        event = request_event("cancelled", family, visit, {"by": "family"})
        expect = frozenset({VisitStatus.REQUESTED, VisitStatus.APPROVED, VisitStatus.SCHEDULED})
        change = VisitChange(
            visit.id, VisitStatus.CANCELLED, expect, self._clock.now(), EndReason.CANCELLED
        )
        return await self._store.change_visit(change, [event])

    async def _own(self, code: str, nik_last4: str) -> Visit:
        visit = await self._store.visit_by_code(code.strip().upper())
        seat = (
            next((p for p in visit.participants if p.role is Role.FAMILY), None) if visit else None
        )
        person = (
            await self._store.get_visitor(seat.visitor_id) if seat and seat.visitor_id else None
        )
        if visit is None or person is None or not hmac.compare_digest(person.nik[-4:], nik_last4):
            raise NotFound("no request with that code and NIK")
        return visit


def _check_rules(calendar: Calendar, date: dt.date, kind: VisitKind, now: float, at: int) -> None:
    """DateBlocked, OutsideWindow or KindNotAllowed if the calendar refuses ``kind`` at ``at``."""
    if date in calendar.blocked or any(c.start_ms <= at < c.end_ms for c in calendar.closures):
        raise DateBlocked("the facility takes no visits then")
    today = dt.datetime.fromtimestamp(now, zone(calendar.timezone)).date()
    window = calendar.window
    if not window.min_days <= (date - today).days <= window.max_days:
        raise OutsideWindow(
            f"book from {window.min_days} to {window.max_days} days ahead",
            min_days=window.min_days,
            max_days=window.max_days,
        )
    if kind is VisitKind.EDUCATION and date.weekday() not in window.education_days:
        raise KindNotAllowed("education visits are not taken on that day")


def _starting(slots: list[Slot], start_ms: int) -> list[Slot]:
    return [s for s in slots if s.start_ms == start_ms]


def requested_event(visit: Visit, visitor: Visitor, teacher: Teacher | None) -> AuditEvent:
    """The ``requested`` event: NIK and phones (the visitor's, a teacher's) masked, the visitor
    named by id; a legal visit's advocate's registration number as given (not personal data)."""
    details: dict[str, object] = {
        "kind": visit.kind.value,
        "start_ms": int(visit.start * 1000),
        "end_ms": int(visit.end * 1000),
        "inmate": visit.inmate_id,
        "nik": mask_nik(visitor.nik),
        "phone": mask_phone(visitor.phone),
        "relationship": visitor.relationship,
        "priority": visitor.priority,
    }
    if teacher is not None:
        details["teacher_contact"] = mask_phone(teacher.contact)
    if visit.advocate_number is not None:
        details["advocate_number"] = visit.advocate_number
    seat = next(p for p in visit.participants if p.role is Role.FAMILY)
    return request_event("requested", Actor(Role.FAMILY.value, seat.id), visit, details)
