"""Facilities for families: which take online requests, and a day's free slots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.access.guard import in_scope
from services.booking.quotas import Quotas
from services.booking.requests import RequestService
from services.booking.slots import WEEKDAYS
from services.domain.model import Role, VisitKind
from services.errors import BadRequest, NotFound
from services.http.fields import Integer, parse_body, spec
from services.http.plumbing import json_body, respond
from services.http.staff_auth import StaffAuth
from services.ids import Actor

SLOT_QUERY = ("date", "kind")


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


class FacilitiesApi:
    """``/api/v1/facilities`` and ``/api/v1/facilities/{facility_id}/slots`` (public), and
    ``/api/v1/facilities/{facility_id}/quotas`` (admin)."""

    def __init__(self, requests: RequestService, auth: StaffAuth) -> None:
        self._requests = requests
        self._auth = auth

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
        """The free slots of ``date`` (the facility's local date) for visits of ``kind``."""
        date = _date(request.query.get("date", ""))
        try:
            kind = VisitKind(request.query.get("kind", VisitKind.REGULAR.value))
        except ValueError as exc:
            raise BadRequest("`kind` must be regular, education or legal", field="kind") from exc
        facility_id = request.match_info["facility_id"]
        free = await self._requests.free_slots(facility_id, date, kind)
        slots = [{"start_ms": s.start_ms, "end_ms": s.end_ms, "room_id": s.room_id} for s in free]
        return respond(FreeSlots(date=date.isoformat(), kind=kind.value, slots=slots))


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise BadRequest("`date` must be YYYY-MM-DD", field="date") from exc
