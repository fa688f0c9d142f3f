"""Facilities for families: which take online requests, and a day's free slots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.access.rates import AddressRates, Rate
from services.booking.requests import RequestService
from services.clock import Clock
from services.domain.model import VisitKind
from services.errors import BadRequest
from services.http.plumbing import respond

SLOT_QUERY = ("date", "kind")


@dataclass(frozen=True)
class FacilityList:
    """Facilities that take online requests: ``{id, name, timezone}`` each."""

    facilities: list[dict[str, Any]]


@dataclass(frozen=True)
class FreeSlots:
    """A day's free slots, soonest first: ``{start_ms, end_ms, room_id}`` each."""

    date: str
    kind: str
    slots: list[dict[str, Any]]


class FacilitiesApi:
    """``/api/v1/facilities`` and ``/api/v1/facilities/{facility_id}/slots`` (public)."""

    def __init__(self, requests: RequestService, clock: Clock, slot_rate: Rate) -> None:
        self._requests = requests
        self._rates = AddressRates(clock, slot_rate)

    async def list(self, request: web.Request) -> web.Response:
        """Every facility that takes online requests."""
        found = await self._requests.facilities()
        listed = [{"id": f.id, "name": f.name, "timezone": f.timezone} for f in found]
        return respond(FacilityList(facilities=listed))

    async def slots(self, request: web.Request) -> web.Response:
        """The free slots of ``date`` (the facility's local date) for visits of ``kind``;
        429 when the client's address has asked too often lately."""
        self._rates.take(request.remote or "")
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
