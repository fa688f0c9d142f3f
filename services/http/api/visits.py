"""Visits for staff: schedule, read, cancel, end now, and monitor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.access.guard import in_scope
from services.booking.review import ReviewAction, VisitReview
from services.booking.scheduling import GuestSpec, VisitService, visit_json
from services.domain.model import EndReason, Role, VisitKind, VisitStatus
from services.errors import BadRequest, NotFound
from services.http.api.context import ApiContext
from services.http.fields import Choice, Integer, Objects, Text, parse_body, spec
from services.http.plumbing import json_body, respond
from services.http.staff_auth import SCHEDULERS, VISIT_READERS, StaffAuth, scoped_visit
from services.ids import Actor, InmateId, VisitorId

# How far from now a new visit may start: a little in the past (clock skew, a visit booked as it
# begins), at most a year ahead; anything else is a typo or garbage.
MAX_PAST_START_MS = 3_600_000
MAX_FUTURE_START_MS = 366 * 86_400_000
ID = "`{key}` is required (a string of at most 64 characters)"


@dataclass(frozen=True)
class Guest:
    """One guest of a new visit; a registered visitor is named by ``visitor_id``."""

    role: Role = spec(
        Choice("a guest's role is family or teacher", Role, allowed=(Role.FAMILY, Role.TEACHER))
    )
    visitor_id: str | None = spec(
        Text(
            "`visitor_id` must be a string", max_len=None, min_len=0, required=False, nullable=True
        )
    )
    name: str = spec(Text(ID))

    def to_spec(self) -> GuestSpec:
        """The guest as the scheduler takes it ("" and null both mean no registered visitor)."""
        return GuestSpec(
            self.role, self.name, VisitorId(self.visitor_id) if self.visitor_id else None
        )


@dataclass(frozen=True)
class NewVisit:
    """A visit to schedule at a terminal, for an inmate, with 1 to 3 guests."""

    kind: VisitKind = spec(
        Choice("`kind` must be regular, education or legal", VisitKind, default=VisitKind.REGULAR)
    )
    start_ms: int = spec(
        Integer(
            "`start_ms` must be a positive integer (ms since the epoch)",
            lo=1,
            description="ms since the epoch; from an hour ago to a year ahead",
        )
    )
    guests: tuple[Guest, ...] = spec(
        Objects(
            "`{key}` must be a list of 1 to 3 entries",
            "each guest is an object {role, name, visitor_id?}",
            Guest,
        )
    )
    length_s: int | None = spec(
        Integer(
            "`length_s` must be an integer between 60 and 14400", lo=60, hi=4 * 3600, required=False
        )
    )
    terminal_id: str = spec(Text(ID))
    inmate_id: str = spec(Text(ID))


@dataclass(frozen=True)
class Reason:
    """Why staff acted, kept in the audit log."""

    reason: str = spec(
        Text(
            "`reason` must be a string of at most 200 characters",
            max_len=200,
            min_len=0,
            required=False,
            default="",
        )
    )


@dataclass(frozen=True)
class TerminateReason:
    """Why an officer ends a visit now: required, kept in the audit log (its first 200
    characters), as for a `terminate` on the websocket."""

    reason: str = spec(
        Text(
            "`reason` is required: a non-blank string of at most 500 characters",
            max_len=500,
            min_len=1,
        )
    )


@dataclass(frozen=True)
class Terminated:
    """A terminate was accepted; the visit's sockets are told and closed."""

    visit_id: str
    ended: str


@dataclass(frozen=True)
class ReviewDecision:
    """An officer's decision on a visit flagged for review (its inmate left)."""

    action: ReviewAction = spec(Choice("`action` must be clear or cancel", ReviewAction))
    note: str = spec(
        Text("`{key}` must be at most 200 characters", max_len=200, min_len=0, required=False)
    )


@dataclass(frozen=True)
class MonitorToken:
    """A receive-only websocket token for one visit."""

    token: str


class VisitsApi:
    """``/api/v1/visits`` and ``/api/v1/visits/{visit_id}[/cancel|/terminate|/monitor|/review]``."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth) -> None:
        self._ctx = ctx
        self._auth = auth

    @property
    def _visits(self) -> VisitService:
        return self._ctx.visits

    async def create(self, request: web.Request) -> web.Response:
        """Schedule a visit; the answer carries each guest's link (shown once)."""
        claims = await self._auth.require(request, *SCHEDULERS)
        body = parse_body(NewVisit, await json_body(request))
        now_ms = self._ctx.now_ms()
        if not now_ms - MAX_PAST_START_MS <= body.start_ms <= now_ms + MAX_FUTURE_START_MS:
            raise BadRequest("`start_ms` must lie between an hour ago and a year from now")
        for guest in body.guests:
            if guest.visitor_id and await self._ctx.store.get_visitor(guest.visitor_id) is None:
                raise NotFound("no such visitor")
        terminal = await self._ctx.store.get_terminal(body.terminal_id)
        if terminal is None or not in_scope(claims, terminal.facility_id):
            raise NotFound("no such terminal")
        scheduled = await self._visits.schedule(
            terminal_id=terminal.id,
            inmate_id=InmateId(body.inmate_id),
            kind=body.kind,
            start=body.start_ms / 1000,
            guests=[guest.to_spec() for guest in body.guests],
            actor=Actor(claims.role, claims.sub),
            length_s=body.length_s,
        )
        self._ctx.changed(scheduled.visit)
        out: dict[str, Any] = visit_json(scheduled.visit, staff=True)
        base = self._ctx.base_url
        out["links"] = {pid: f"{base}/v/{secret}" for pid, secret in scheduled.links.items()}
        return respond(out, status=201)

    async def get(self, request: web.Request) -> web.Response:
        """One visit, names unmasked (staff only)."""
        claims = await self._auth.require(request, *VISIT_READERS)
        return respond(visit_json(await scoped_visit(self._ctx.store, claims, request), staff=True))

    async def cancel(self, request: web.Request) -> web.Response:
        """Cancel before the start; anyone already waiting is told and let go."""
        claims = await self._auth.require(request, *SCHEDULERS)
        body = parse_body(Reason, await json_body(request, required=False))
        target = await scoped_visit(self._ctx.store, claims, request)
        visit = await self._visits.cancel(target.id, Actor(claims.role, claims.sub), body.reason)
        self._ctx.live.drop(visit.id, EndReason.CANCELLED)
        self._ctx.changed(visit)
        return respond(visit_json(visit, staff=True))

    async def terminate(self, request: web.Request) -> web.Response:
        """End a live visit now (an officer of its facility)."""
        claims = await self._auth.require(request, Role.OFFICER)
        body = parse_body(TerminateReason, await json_body(request, required=False))
        if not body.reason.strip():
            raise BadRequest("`reason` is required: a non-blank string of at most 500 characters")
        visit = await scoped_visit(self._ctx.store, claims, request)
        await self._ctx.live.terminate(visit.id, Actor(Role.OFFICER, claims.sub), body.reason)
        return respond(Terminated(visit_id=visit.id, ended="terminated"), status=202)

    async def review(self, request: web.Request) -> web.Response:
        """Clear a flagged visit's review (it goes ahead) or cancel it."""
        claims = await self._auth.require(request, *SCHEDULERS)
        body = parse_body(ReviewDecision, await json_body(request))
        target = await scoped_visit(self._ctx.store, claims, request)
        actor = Actor(claims.role, claims.sub)
        review = VisitReview(self._ctx.store, self._ctx.clock)
        visit = await review.decide(target, body.action, body.note or "", actor)
        if visit.status is VisitStatus.CANCELLED:
            self._ctx.live.drop(visit.id, EndReason.CANCELLED)
        self._ctx.changed(visit)
        out: dict[str, Any] = visit_json(visit, staff=True)
        out["review"] = visit.review
        return respond(out)

    async def monitor(self, request: web.Request) -> web.Response:
        """A receive-only token for an officer to watch the visit."""
        claims = await self._auth.require(request, Role.OFFICER)
        visit = await scoped_visit(self._ctx.store, claims, request)
        return respond(MonitorToken(token=await self._ctx.links.monitor_token(claims, visit.id)))
