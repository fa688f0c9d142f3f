"""The inmate check a family passes while registering: an inmate number and the name it knows
the inmate by, answered yes or no, never with the name itself (public, wrong answers throttled).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from services.access.guesses import Guesses
from services.booking.names import names_match
from services.errors import NotFound
from services.http.fields import Text, parse_body, spec
from services.http.plumbing import json_body, respond
from services.store.protocols import FacilityStore


@dataclass(frozen=True)
class InmateQuestion:
    """An inmate number at a facility, and the name the family types for that inmate."""

    facility_id: str = spec(Text("`{key}` is required (a string of at most 64 characters)"))
    inmate_number: str = spec(Text("`{key}` is required (a string of at most 64 characters)"))
    name: str = spec(Text("`{key}` is required (a string of at most 200 characters)", 200))


@dataclass(frozen=True)
class InmateAnswer:
    """``match``: the number is an inmate of the facility and the name is that inmate's."""

    match: bool


class InmatesApi:
    """``POST /api/v1/inmates/check``. ``names`` counts wrong answers per address; the request
    API counts a wrong ``inmate_name`` in the same table, so neither door is a free oracle."""

    def __init__(self, store: FacilityStore, names: Guesses) -> None:
        self._store = store
        self._names = names

    async def check(self, request: web.Request) -> web.Response:
        """``{match: true}`` or ``{match: false}``; 404 for an unknown facility, 429 once the
        address has answered wrong too often lately."""
        address = request.remote or ""
        self._names.check(address)
        body = parse_body(InmateQuestion, await json_body(request))
        facility = await self._store.get_facility(body.facility_id)
        if facility is None:
            raise NotFound("no such facility")
        inmate = await self._store.find_inmate(facility.id, body.inmate_number.strip())
        match = inmate is not None and names_match(body.name, inmate.name)
        if not match:
            self._names.wrong(address)
        return respond(InmateAnswer(match=match))
