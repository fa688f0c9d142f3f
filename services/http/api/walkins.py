"""Walk-in visits for officers: the inmates to pick from, the rooms free now, and the visit
started now with its family link (and that link as a QR code). Facility scoped."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from services.access.guard import in_scope
from services.booking.scheduling import visit_json
from services.booking.walkins import WalkInRoom, WalkIns, WalkInVisitor, walk_in_length_s
from services.errors import BadRequest, NotFound
from services.http.api.context import ApiContext
from services.http.fields import Text, parse_body, spec
from services.http.plumbing import json_body, respond
from services.http.qr import qr_svg
from services.http.staff_auth import SCHEDULERS, StaffAuth, scoped_facility
from services.ids import Actor, InmateId, TerminalId

INMATES_QUERY = ("facility", "q")
ROOMS_QUERY = ("facility",)
ID = "`{key}` is required (a string of at most 64 characters)"
# A search shorter than this matches half the facility; longer is no inmate's number or name.
QUERY_MIN, QUERY_MAX = 2, 100


@dataclass(frozen=True)
class FoundInmate:
    id: str
    number: str
    name: str
    block: str
    status: str


@dataclass(frozen=True)
class FoundInmates:
    """At most 20 inmates whose number or name contains the query (released and transferred
    ones left out), the one with exactly that number first."""

    inmates: tuple[FoundInmate, ...]


@dataclass(frozen=True)
class WalkInRooms:
    """Every visit room with its terminal and whether a walk-in may start in it now, and how
    long a walk-in lasts."""

    rooms: tuple[WalkInRoom, ...]
    length_s: int


@dataclass(frozen=True)
class NewWalkIn:
    """A walk-in: the room's terminal, the inmate, the visitor's name and optional phone (and a
    remand inmate's letter number)."""

    terminal_id: str = spec(Text(ID))
    inmate_id: str = spec(Text(ID))
    visitor_name: str = spec(Text("`{key}` is required (a string of at most 100 characters)", 100))
    phone: str = spec(
        Text(
            "`{key}` must be a string of at most 32 characters",
            32,
            min_len=0,
            required=False,
            default="",
        )
    )
    permission_ref: str = spec(
        Text(
            "`{key}` must be a string of at most 64 characters",
            64,
            min_len=0,
            required=False,
            default="",
            description="a remand inmate's visit: the detaining authority's letter number",
        )
    )


@dataclass(frozen=True)
class WalkInStarted:
    """The visit started now, its family link (shown once, never logged) and that link as an
    SVG QR code."""

    visit: dict[str, object]
    link: str
    qr_svg: str


class WalkInsApi:
    """``/api/v1/inmates``, ``/api/v1/visits/walk-in`` and ``/api/v1/visits/walk-in/rooms``."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth) -> None:
        self._ctx = ctx
        self._auth = auth
        self._walkins = WalkIns(ctx.store, ctx.visits, ctx.board, ctx.clock)

    async def inmates(self, request: web.Request) -> web.Response:
        """Inmates of the facility by number or name (``q``, 2 to 100 characters)."""
        claims = await self._auth.require(request, *SCHEDULERS)
        facility = await scoped_facility(self._ctx.store, claims, request.query.get("facility"))
        text = request.query.get("q", "").strip()
        if not QUERY_MIN <= len(text) <= QUERY_MAX:
            raise BadRequest("`q` must be 2 to 100 characters", field="q")
        found = await self._walkins.inmates(facility, text)
        return respond(
            FoundInmates(
                tuple(FoundInmate(i.id, i.number, i.name, i.block, i.status.value) for i in found)
            )
        )

    async def rooms(self, request: web.Request) -> web.Response:
        """The facility's rooms, each free now or not, and why."""
        claims = await self._auth.require(request, *SCHEDULERS)
        facility = await scoped_facility(self._ctx.store, claims, request.query.get("facility"))
        rooms = tuple(await self._walkins.rooms(facility))
        return respond(WalkInRooms(rooms, walk_in_length_s(facility)))

    async def start(self, request: web.Request) -> web.Response:
        """Start a walk-in now in a free room; 409 saying why when the room is not free."""
        claims = await self._auth.require(request, *SCHEDULERS)
        body = parse_body(NewWalkIn, await json_body(request))
        terminal = await self._ctx.store.get_terminal(body.terminal_id)
        if terminal is None or not in_scope(claims, terminal.facility_id):
            raise NotFound("no such visit room in this facility")
        facility = await scoped_facility(self._ctx.store, claims, terminal.facility_id)
        scheduled = await self._walkins.start(
            facility,
            TerminalId(terminal.id),
            InmateId(body.inmate_id),
            WalkInVisitor(body.visitor_name, body.phone, body.permission_ref),
            Actor(claims.role, claims.sub),
        )
        self._ctx.changed(scheduled.visit)
        (secret,) = scheduled.links.values()
        link = f"{self._ctx.base_url}/v/{secret}"
        visit = visit_json(scheduled.visit, staff=True)
        return respond(WalkInStarted(visit=visit, link=link, qr_svg=qr_svg(link)), status=201)
