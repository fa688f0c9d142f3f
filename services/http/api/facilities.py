"""Facilities: for families, which take online requests, the dates they may book and a day's
free slots; for staff, a facility's quotas and its emergency closes."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.access.guard import in_scope
from services.access.rates import AddressRates
from services.booking.calendar import CalendarService
from services.booking.quotas import Quotas
from services.booking.requests import RequestService
from services.booking.slots import WEEKDAYS
from services.domain.model import EndReason, Role, VisitKind
from services.errors import BadRequest, NotFound, VisitOver
from services.http.api.context import ApiContext
from services.http.fields import Integer, Text, parse_body, spec
from services.http.plumbing import json_body, respond
from services.http.staff_auth import SCHEDULERS, StaffAuth
from services.ids import Actor, VisitId

SLOT_QUERY = ("date", "kind")
DAY_QUERY = ("kind",)


@dataclass(frozen=True)
class FacilityList:
    """Facilities that take online requests: ``{id, name, timezone, relationships,
    education_days}`` each (relationships as the request names them, weekdays as ``sun``)."""

    facilities: list[dict[str, Any]]


@dataclass(frozen=True)
class FreeSlots:
    """A day's free slots, soonest first: ``{start_ms, end_ms, room_id}`` each."""

    date: str
    kind: str
    slots: list[dict[str, Any]]


@dataclass(frozen=True)
class FreeDays:
    """Every date of the booking window (the facility's local dates), in order, each with how
    many start times are still free for ``kind``: ``{date, free}``. A date with none (blocked,
    closed, full, or not a day for that kind) is listed with 0."""

    kind: str
    days: list[dict[str, Any]]


@dataclass(frozen=True)
class QuotaBody:
    """Visits an inmate, and a visitor (by NIK), may have in any rolling 7 days."""

    per_inmate: int = spec(Integer("`{key}` must be a whole number from 1 to 100", lo=1, hi=100))
    per_visitor: int = spec(Integer("`{key}` must be a whole number from 1 to 100", lo=1, hi=100))


@dataclass(frozen=True)
class QuotasSet:
    """A facility's quotas, as now in force."""

    facility_id: str
    per_inmate: int
    per_visitor: int


@dataclass(frozen=True)
class ClosureBody:
    """An emergency close of the facility, from ``start_ms`` until ``end_ms``."""

    start_ms: int = spec(Integer("`{key}` must be a time in ms since the epoch", lo=1))
    end_ms: int = spec(Integer("`{key}` must be a time in ms since the epoch", lo=1))
    reason: str = spec(Text("`{key}` is required (at most 200 characters)", max_len=200))


@dataclass(frozen=True)
class ClosureMade:
    """The closure, the visits it cancelled, and the live ones it ended."""

    id: str
    facility_id: str
    start_ms: int
    end_ms: int
    reason: str
    cancelled: list[str]
    ended: list[str]


class FacilitiesApi:
    """``/api/v1/facilities``, ``/api/v1/facilities/{facility_id}/days`` and ``…/slots``
    (public), ``…/quotas`` (admin) and ``…/closures`` (officer, admin)."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth, requests: RequestService) -> None:
        self._ctx = ctx
        self._requests = requests
        self._auth = auth
        self._rates = AddressRates(ctx.clock, ctx.slot_rate)

    async def close(self, request: web.Request) -> web.Response:
        """Close the facility: visits booked inside are cancelled with it, live ones ended."""
        claims = await self._auth.require(request, *SCHEDULERS)
        body = parse_body(ClosureBody, await json_body(request))
        facility_id = request.match_info["facility_id"]
        if not in_scope(claims, facility_id):
            raise NotFound("no such facility")
        actor = Actor(claims.role, claims.sub)
        calendar = CalendarService(self._ctx.store, actor)
        closure, effect = await calendar.close_ms(
            facility_id, body.start_ms, body.end_ms, body.reason
        )
        for visit_id in effect.cancelled:
            self._ctx.live.drop(visit_id, EndReason.CANCELLED)
            self._ctx.feed.visit_changed(closure.facility_id, visit_id)
        ended = await asyncio.gather(*(self._end(v, actor, closure.reason) for v in effect.running))
        out = ClosureMade(
            id=closure.id,
            facility_id=closure.facility_id,
            start_ms=closure.start_ms,
            end_ms=closure.end_ms,
            reason=closure.reason,
            cancelled=list(effect.cancelled),
            ended=[v for v in ended if v],
        )
        return respond(out, status=201)

    async def _end(self, visit_id: VisitId, actor: Actor, reason: str) -> str:
        """End a live visit the closure overlaps; "" if it ended first."""
        try:
            await self._ctx.live.terminate(visit_id, actor, f"closure: {reason}")
        except VisitOver:
            return ""
        return visit_id

    async def set_quotas(self, request: web.Request) -> web.Response:
        """Set the facility's quotas (an admin)."""
        claims = await self._auth.require(request, Role.ADMIN)
        body = parse_body(QuotaBody, await json_body(request))
        facility_id = request.match_info["facility_id"]
        if not in_scope(claims, facility_id):
            raise NotFound("no such facility")
        quotas = Quotas(body.per_inmate, body.per_visitor)
        actor = Actor(claims.role, claims.sub)
        done = await self._requests.set_quotas(facility_id, quotas, actor)
        return respond(QuotasSet(facility_id, done.per_inmate, done.per_visitor))

    async def list(self, request: web.Request) -> web.Response:
        """Every facility that takes online requests."""
        listed = [
            {
                "id": f.id,
                "name": f.name,
                "timezone": f.timezone,
                "relationships": policy.listed(),
                "education_days": [WEEKDAYS[d] for d in sorted(window.education_days)],
            }
            for f, policy, window in await self._requests.offers()
        ]
        return respond(FacilityList(facilities=listed))

    async def slots(self, request: web.Request) -> web.Response:
        """The free slots of ``date`` (the facility's local date) for visits of ``kind``;
        429 when the client's address has asked too often lately."""
        self._rates.take(request.remote or "")
        date = _date(request.query.get("date", ""))
        kind = _kind(request.query.get("kind", VisitKind.REGULAR.value))
        facility_id = request.match_info["facility_id"]
        free = await self._requests.free_slots(facility_id, date, kind)
        slots = [{"start_ms": s.start_ms, "end_ms": s.end_ms, "room_id": s.room_id} for s in free]
        return respond(FreeSlots(date=date.isoformat(), kind=kind.value, slots=slots))

    async def days(self, request: web.Request) -> web.Response:
        """The booking window's dates, each with its count of free start times for ``kind``;
        429 when the client's address has asked too often lately (the slot listing's bucket:
        the page asks for the dates, then for a day's slots)."""
        self._rates.take(request.remote or "")
        kind = _kind(request.query.get("kind", VisitKind.REGULAR.value))
        found = await self._requests.free_days(request.match_info["facility_id"], kind)
        return respond(FreeDays(kind=kind.value, days=[d.to_json() for d in found]))


def _kind(raw: str) -> VisitKind:
    try:
        return VisitKind(raw)
    except ValueError as exc:
        raise BadRequest("`kind` must be regular, education or legal", field="kind") from exc


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise BadRequest("`date` must be YYYY-MM-DD", field="date") from exc
