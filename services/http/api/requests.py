"""Visit requests: families submit, look up and cancel theirs (public); officers see the queue
and approve or reject (staff, facility scoped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.access.guard import in_scope
from services.access.guesses import Guesses
from services.access.rates import AddressRates
from services.booking.forms import GuestForm, RequestForm, VisitorForm
from services.booking.rejections import RejectReason
from services.booking.requests import RequestService, RequestState
from services.booking.scheduling import visit_json
from services.domain.model import EndReason, Role, Visit, VisitKind, VisitStatus
from services.errors import BadRequest, NotFound
from services.http.api.context import ApiContext
from services.http.fields import Choice, Flag, Integer, Object, Objects, Text, parse_body, spec
from services.http.plumbing import json_body, respond
from services.http.staff_auth import SCHEDULERS, StaffAuth, scoped_visit
from services.ids import Actor

QUEUE_QUERY = ("facility", "status")
PERSON = "`{key}` must be a string of at most 200 characters"


def _person(description: str) -> Any:
    """A biodata field: any string here; ``services.booking.identity`` says what is wrong."""
    return spec(
        Text(PERSON, max_len=200, min_len=0, required=False, default="", description=description)
    )


@dataclass(frozen=True)
class VisitorBody:
    """The family member who visits."""

    name: str = _person("trimmed, 2 to 100 characters")
    nik: str = _person("16 digits")
    phone: str = _person("an Indonesian mobile number")
    relationship: str = _person("spouse, parent, child, sibling, grandparent, ...")


@dataclass(frozen=True)
class GuestBody:
    """The teacher of an education visit (required for one): 400 naming `guests[0].name` or
    `guests[0].contact`."""

    name: str = _person("the teacher's name")
    contact: str = _person("the teacher's mobile number (Indonesian)")


@dataclass(frozen=True)
class NewRequest:
    """A family's request for a slot."""

    facility_id: str = spec(Text("`{key}` is required (a string of at most 64 characters)"))
    inmate_number: str = spec(Text("`{key}` is required (a string of at most 64 characters)"))
    kind: VisitKind = spec(
        Choice("`kind` must be regular, education or legal", VisitKind, default=VisitKind.REGULAR)
    )
    start_ms: int = spec(Integer("`start_ms` must be a slot's start (ms since the epoch)", lo=1))
    visitor: VisitorBody = spec(Object("`{key}` must be an object", VisitorBody))
    guests: tuple[GuestBody, ...] = spec(
        Objects(
            "`{key}` must be a list of 0 or 1 guests",
            "a guest is {name}",
            GuestBody,
            lo=0,
            hi=1,
            required=False,
        )
    )
    priority: bool = spec(Flag("`{key}` must be true or false"))
    inmate_name: str | None = spec(
        Text(
            PERSON,
            max_len=200,
            required=False,
            nullable=True,
            description="the name the family knows the inmate by: 400 naming it if it is not"
            " the inmate's (as `POST /api/v1/inmates/check` answers)",
        )
    )
    advocate_number: str = _person(
        "a legal visit's advocate's registration number (required for one, and the visitor's"
        " relationship is then `advocate`), e.g. PERADI's NIA `12.34567`: 3 to 40 letters,"
        " digits, spaces and `. / -`"
    )

    def to_form(self) -> RequestForm:
        v = self.visitor
        teacher = GuestForm(self.guests[0].name, self.guests[0].contact) if self.guests else None
        person = VisitorForm(v.name, v.nik, v.phone, v.relationship)
        return RequestForm(
            self.facility_id,
            self.inmate_number,
            self.kind,
            self.start_ms,
            person,
            teacher,
            self.priority,
            self.inmate_name,
            self.advocate_number,
        )


@dataclass(frozen=True)
class CodeAndNik:
    """A request's code and the last four digits of the visitor's NIK."""

    code: str = spec(Text("`{key}` must be a string of at most 16 characters", max_len=16))
    nik_last4: str = spec(Text("`{key}` must be 4 digits", max_len=4, min_len=4))


@dataclass(frozen=True)
class MakeupTake:
    """The ended visit's code and the NIK's last four digits, and the make-up visit's slot."""

    code: str = spec(Text("`{key}` must be a string of at most 16 characters", max_len=16))
    nik_last4: str = spec(Text("`{key}` must be 4 digits", max_len=4, min_len=4))
    start_ms: int = spec(Integer("`start_ms` must be a slot's start (ms since the epoch)", lo=1))


@dataclass(frozen=True)
class Rejection:
    """Why an officer turns a request down (``other`` needs a note)."""

    reason: RejectReason = spec(
        Choice("`reason` must be one of " + ", ".join(RejectReason), RejectReason)
    )
    note: str = spec(Text(PERSON, max_len=200, min_len=0, required=False, default=""))


@dataclass(frozen=True)
class Approval:
    """An approval; a remand inmate's visit needs the detaining authority's letter number."""

    permission_ref: str = spec(
        Text(
            "`{key}` must be a string of at most 64 characters",
            max_len=64,
            min_len=0,
            required=False,
            default="",
            description="the detaining authority's letter number (remand inmates: required)",
        )
    )


@dataclass(frozen=True)
class Requested:
    """A request taken; the family keeps ``code``."""

    id: str
    code: str
    status: str
    start_ms: int
    end_ms: int


class RequestsApi:
    """``/api/v1/requests[/lookup|/cancel|/{visit_id}/approve|/{visit_id}/reject]``."""

    def __init__(
        self, ctx: ApiContext, auth: StaffAuth, requests: RequestService, names: Guesses
    ) -> None:
        self._ctx = ctx
        self._auth = auth
        self._requests = requests
        self._guesses = Guesses(ctx.clock)
        self._names = names  # wrong inmate names, shared with ``POST /api/v1/inmates/check``
        self._rates = AddressRates(ctx.clock, ctx.booking_rate)

    async def submit(self, request: web.Request) -> web.Response:
        """A family asks for a slot (429 when its address has asked too often lately)."""
        self._rates.take(request.remote or "")
        body = parse_body(NewRequest, await json_body(request))
        visit = await self._submit(request.remote or "", body)
        self._ctx.changed(visit)
        start, end = int(visit.start * 1000), int(visit.end * 1000)
        out = Requested(
            id=visit.id, code=visit.code, status=visit.status.value, start_ms=start, end_ms=end
        )
        return respond(out, status=201)

    async def _submit(self, address: str, body: NewRequest) -> Visit:
        """The request taken; a wrong ``inmate_name`` counts as a wrong guess of the address."""
        if body.inmate_name is None:
            return await self._requests.submit(body.to_form())
        self._names.check(address)
        try:
            return await self._requests.submit(body.to_form())
        except BadRequest as exc:
            if exc.details.get("field") == "inmate_name":
                self._names.wrong(address)
            raise

    async def lookup(self, request: web.Request) -> web.Response:
        """The state of a family's request; its link once approved."""
        state = await self._guarded(request, self._requests.lookup)
        return respond(await self._state_json(state))

    async def cancel(self, request: web.Request) -> web.Response:
        """A family calls its request or its approved visit off."""
        visit = await self._guarded(request, self._requests.cancel)
        self._ctx.live.drop(visit.id, EndReason.CANCELLED)
        self._ctx.changed(visit)
        return respond(await self._state_json(RequestState(visit)))

    async def take_makeup(self, request: web.Request) -> web.Response:
        """A family takes the make-up visit its ended visit earned, at a free slot: approved at
        once, with its own code and link (409 makeup_unavailable, or as a request)."""
        address = request.remote or ""
        self._guesses.check(address)
        self._rates.take(address)
        body = parse_body(MakeupTake, await json_body(request))
        try:
            visit = await self._requests.take_makeup(body.code, body.nik_last4, body.start_ms)
        except NotFound:
            self._guesses.wrong(address)
            raise
        self._ctx.changed(visit)
        state = await self._requests.lookup(visit.code, body.nik_last4)
        return respond(await self._state_json(state), status=201)

    async def _guarded(self, request: web.Request, call: Any) -> Any:
        address = request.remote or ""
        self._guesses.check(address)
        body = parse_body(CodeAndNik, await json_body(request))
        try:
            return await call(body.code, body.nik_last4)
        except NotFound:
            self._guesses.wrong(address)
            raise

    async def _state_json(self, state: RequestState) -> dict[str, Any]:
        visit = state.visit
        status = visit.status
        shown = (
            "approved" if status in (VisitStatus.APPROVED, VisitStatus.SCHEDULED) else status.value
        )
        out: dict[str, Any] = {"code": visit.code, "status": shown}
        # Its name and time zone: the family reads the time as the facility's clocks show it.
        facility = await self._ctx.store.get_facility(visit.facility_id)
        if facility is not None:
            out["facility"] = {"name": facility.name, "timezone": facility.timezone}
        if status is not VisitStatus.REJECTED:
            out |= {"start_ms": int(visit.start * 1000), "end_ms": int(visit.end * 1000)}
        if state.rejection is not None:
            reason = RejectReason(state.rejection.reason)
            out["reason"] = {"code": reason.value, "messages": reason.text.to_json()}
            out["note"] = state.rejection.note
        if state.revoked:
            out["link_revoked"] = True
        if state.link:
            out["link"] = f"{self._ctx.base_url}/v/{state.link}"
        if state.makeup is not None:
            out["makeup"] = await self._makeup_json(visit, state.makeup.used_visit_id)
        return out

    async def _makeup_json(self, visit: Visit, used: str | None) -> dict[str, Any]:
        """An ended visit's make-up offer as the family sees it: where and what kind to book,
        and the make-up visit's code once taken."""
        out: dict[str, Any] = {"facility_id": visit.facility_id, "kind": visit.kind.value}
        made = await self._ctx.store.get_visit(used) if used else None
        out["used_code"] = made.code if made else None
        return out

    async def queue(self, request: web.Request) -> web.Response:
        """The facility's requests in a status (``requested`` by default), soonest first."""
        claims = await self._auth.require(request, *SCHEDULERS)
        facility = request.query.get("facility", claims.facility)
        if not facility or not in_scope(claims, facility):
            raise NotFound("no such facility")
        try:
            status = VisitStatus(request.query.get("status", VisitStatus.REQUESTED.value))
        except ValueError as exc:
            raise BadRequest("`status` must be a visit status", field="status") from exc
        visits = await self._requests.queue(facility, status)
        out = [await self._queued(visit) for visit in visits]
        return respond({"requests": out})

    async def _queued(self, visit: Visit) -> dict[str, Any]:
        """A request as an officer checks it: the visit (flagged for review if its inmate left),
        its inmate's status, the visitor's biodata in full, and an education visit's teacher
        with the teacher's number."""
        item = _staff_json(visit)
        teacher = next((p for p in visit.participants if p.role is Role.TEACHER), None)
        if teacher is not None:
            item["teacher"] = {"name": teacher.name, "contact": teacher.contact}
        inmate = await self._ctx.store.get_inmate(visit.inmate_id)
        if inmate is not None:
            item["inmate"] = {"number": inmate.number, "name": inmate.name, "status": inmate.status}
        family = [p.visitor_id for p in visit.participants if p.role is Role.FAMILY]
        person = await self._ctx.store.get_visitor(family[0]) if family and family[0] else None
        if person is not None:
            item["visitor"] = {
                "id": person.id,
                "name": person.name,
                "nik": person.nik,
                "phone": person.phone,
                "relationship": person.relationship,
                "priority": person.priority,
            }
        return item

    async def approve(self, request: web.Request) -> web.Response:
        """Approve: the visit is scheduled; the answer carries its guests' links (shown once)."""
        claims = await self._auth.require(request, *SCHEDULERS)
        body = parse_body(Approval, await json_body(request, required=False))
        visit = await scoped_visit(self._ctx.store, claims, request)
        actor = Actor(claims.role, claims.sub)
        scheduled = await self._requests.approve(visit, actor, body.permission_ref)
        self._ctx.changed(scheduled.visit)
        out = _staff_json(scheduled.visit)
        base = self._ctx.base_url
        out["links"] = {pid: f"{base}/v/{secret}" for pid, secret in scheduled.links.items()}
        return respond(out)

    async def reject(self, request: web.Request) -> web.Response:
        """Reject with a canned reason; the slot and the quota are free again."""
        claims = await self._auth.require(request, *SCHEDULERS)
        body = parse_body(Rejection, await json_body(request))
        visit = await scoped_visit(self._ctx.store, claims, request)
        actor = Actor(claims.role, claims.sub)
        rejected = await self._requests.reject(visit, body.reason, body.note, actor)
        self._ctx.changed(rejected)
        return respond(visit_json(rejected, staff=True))


def _staff_json(visit: Visit) -> dict[str, Any]:
    """A visit as officers see it here: with its review flag, its permission reference and a
    legal visit's advocate's registration number."""
    out: dict[str, Any] = visit_json(visit, staff=True)
    out["review"] = visit.review
    out["permission_ref"] = visit.permission_ref
    out["advocate_number"] = visit.advocate_number
    return out
