"""Schedule administration for a facility's officers and admins: its rooms' slot templates,
blocked dates, the emergency close's preview, allowed relationships and blocked visitors, each
change audited through the service that owns it (``services.booking``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.access.tokens import Claims
from services.booking.blocks import VisitorBlocks
from services.booking.calendar import CalendarService
from services.booking.policy import parse_relationships
from services.booking.requests import RequestService
from services.booking.slots import parse_hhmm, parse_kinds, parse_weekdays, zone
from services.domain.model import Role
from services.domain.pii import mask
from services.errors import BadRequest, NotFound
from services.http.api.context import ApiContext
from services.http.fields import Integer, Text, parse_body, spec
from services.http.plumbing import json_body, respond
from services.http.staff_auth import SCHEDULERS, StaffAuth, scoped_facility
from services.ids import Actor
from services.store.protocols import BlockedVisitor

PREVIEW_QUERY = ("start_ms", "end_ms")
MAX_LISTED = 500  # blocked visitors shown on the page
AHEAD_DAYS = 366  # blocked dates and closures listed from today on


@dataclass(frozen=True)
class Schedule:
    """A facility's calendar and booking rules as the schedule page shows them: rooms with
    their templates, blocked dates and closures from today on, quotas, the booking window, the
    relationships accepted, and the visitors blocked (NIK masked; ``until``: the block's last
    local day, null for a block until lifted)."""

    facility_id: str
    timezone: str
    rooms: list[dict[str, Any]]
    blocked_dates: list[dict[str, Any]]
    closures: list[dict[str, Any]]
    quotas: dict[str, Any]
    window: dict[str, Any]
    relationships: list[str]
    blocked_visitors: list[dict[str, Any]]


@dataclass(frozen=True)
class TemplateBody:
    """A slot template: weekdays (``mon,tue``), local opening and closing times (``HH:MM``),
    each slot's length, and the visit kinds it takes (``regular,legal``)."""

    room_id: str = spec(Text("`{key}` names one of the facility's rooms", max_len=64))
    weekdays: str = spec(Text("`{key}` is like mon,tue,wed", max_len=40))
    open: str = spec(Text("`{key}` is a local time HH:MM", max_len=5))
    close: str = spec(Text("`{key}` is a local time HH:MM", max_len=5))
    length_min: int = spec(Integer("`{key}` is 5 to 240 minutes", lo=5, hi=240))
    kinds: str = spec(Text("`{key}` is like regular,legal", max_len=40))


@dataclass(frozen=True)
class BlockedDateBody:
    date: str = spec(Text("`{key}` is a local date YYYY-MM-DD", max_len=10))
    reason: str = spec(Text("`{key}` is required (at most 200 characters)", max_len=200))


@dataclass(frozen=True)
class RelationshipsBody:
    relationships: str = spec(Text("`{key}` is like spouse,parent,child", max_len=200))


@dataclass(frozen=True)
class MakeupBody:
    makeup_after_min: int | None = spec(
        Integer(
            "`{key}` is 1 to 120 minutes of system-caused loss, or null for off",
            lo=1,
            hi=120,
            required=False,
        )
    )


@dataclass(frozen=True)
class BlockBody:
    nik: str = spec(Text("`{key}` is a NIK of 16 digits", max_len=16, min_len=16))
    reason: str = spec(Text("`{key}` is required (at most 200 characters)", max_len=200))
    until: str = spec(
        Text(
            "`{key}` is the block's last day, a local date YYYY-MM-DD (none: until lifted)",
            max_len=10,
            min_len=0,
            required=False,
            default="",
        )
    )


@dataclass(frozen=True)
class UnblockBody:
    visitor_id: str = spec(Text("`{key}` names a blocked visitor", max_len=64))
    reason: str = spec(Text("`{key}` is required (at most 200 characters)", max_len=200))


@dataclass(frozen=True)
class ClosurePreviewed:
    """What closing from ``start_ms`` to ``end_ms`` would do now: the visits cancelled, the
    families told, the live visits ended. Nothing is changed."""

    start_ms: int
    end_ms: int
    cancelled: int
    families: int
    live: int


@dataclass(frozen=True)
class Blocked:
    """How many visitor records a block, or its lifting, covers."""

    facility_id: str
    count: int


class ScheduleApi:
    """``/api/v1/facilities/{facility_id}/schedule`` and its parts (officer, admin; the
    relationships admin only)."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth, requests: RequestService) -> None:
        self._ctx = ctx
        self._auth = auth
        self._requests = requests
        self._blocks = VisitorBlocks(ctx.store, ctx.revocations, ctx.clock)

    async def _scoped(self, request: web.Request, *roles: Role) -> tuple[Claims, str]:
        claims = await self._auth.require(request, *(roles or SCHEDULERS))
        facility = await scoped_facility(self._ctx.store, claims, request.match_info["facility_id"])
        return claims, facility.id

    def _calendar(self, claims: Claims) -> CalendarService:
        return CalendarService(self._ctx.store, Actor(claims.role, claims.sub))

    async def schedule(self, request: web.Request) -> web.Response:
        """Everything the schedule page shows, in one answer."""
        _, facility_id = await self._scoped(request)
        store = self._ctx.store
        facility = await store.get_facility(facility_id)
        assert facility is not None  # _scoped found it
        today = dt.datetime.fromtimestamp(self._ctx.clock.now(), zone(facility.timezone)).date()
        last = today + dt.timedelta(days=AHEAD_DAYS)
        now_ms = self._ctx.now_ms()
        templates = await store.slot_templates(facility_id)
        rooms = [
            {
                "id": room.id,
                "name": room.name,
                "templates": [t.to_json() for t in templates if t.room_id == room.id],
            }
            for room in await store.facility_rooms(facility_id)
        ]
        closures = await store.closures(facility_id, now_ms, now_ms + AHEAD_DAYS * 86_400_000)
        blocked = await store.blocked_visitors(facility_id, MAX_LISTED)
        out = Schedule(
            facility_id=facility.id,
            timezone=facility.timezone,
            rooms=rooms,
            blocked_dates=[
                {"date": b.date.isoformat(), "reason": b.reason}
                for b in await store.blocked_dates(facility_id, today, last)
            ],
            closures=[
                {"id": c.id, "start_ms": c.start_ms, "end_ms": c.end_ms, "reason": c.reason}
                for c in closures
            ],
            quotas=(await store.quotas(facility_id)).to_json(),
            window=(await store.booking_window(facility_id)).to_json(),
            relationships=(await self._requests.policy(facility_id)).listed(),
            blocked_visitors=[_blocked(b, facility.timezone) for b in blocked],
        )
        return respond(out)

    async def add_template(self, request: web.Request) -> web.Response:
        """A room's new slot template; 409 if it overlaps one the room has."""
        claims, facility_id = await self._scoped(request)
        body = parse_body(TemplateBody, await json_body(request))
        room = await self._ctx.store.get_room(body.room_id)
        if room is None or room.facility_id != facility_id:
            raise NotFound("no such room", field="room_id")
        hours = (parse_hhmm(body.open), parse_hhmm(body.close))
        template = await self._calendar(claims).add_template(
            room.id, parse_weekdays(body.weekdays), hours, body.length_min, parse_kinds(body.kinds)
        )
        return respond(template.to_json(), status=201)

    async def remove_template(self, request: web.Request) -> web.Response:
        """Remove a template; visits booked in its slots stay booked."""
        claims, facility_id = await self._scoped(request)
        template_id = request.match_info["template_id"]
        found = await self._ctx.store.get_slot_template(template_id)
        if found is None or found.facility_id != facility_id:
            raise NotFound("no such slot template")
        removed = await self._calendar(claims).remove_template(template_id)
        return respond({"removed": removed.to_json()})

    async def block_date(self, request: web.Request) -> web.Response:
        """Take a local date out of the calendar; 409 if it is out already."""
        claims, facility_id = await self._scoped(request)
        body = parse_body(BlockedDateBody, await json_body(request))
        try:
            date = dt.date.fromisoformat(body.date)
        except ValueError as exc:
            raise BadRequest("`date` must be YYYY-MM-DD", field="date") from exc
        blocked = await self._calendar(claims).block_date(facility_id, date, body.reason)
        return respond({"date": blocked.date.isoformat(), "reason": blocked.reason}, status=201)

    async def closure_preview(self, request: web.Request) -> web.Response:
        """What an emergency close over the range would do now, counted; nothing changes."""
        _, facility_id = await self._scoped(request)
        start_ms = _ms(request, "start_ms")
        end_ms = _ms(request, "end_ms")
        if end_ms <= start_ms:
            raise BadRequest("a closure ends after it starts", field="end_ms")
        found = await self._ctx.store.closure_preview(facility_id, start_ms, end_ms)
        return respond(
            ClosurePreviewed(start_ms, end_ms, found.cancelled, found.families, found.live)
        )

    async def set_relationships(self, request: web.Request) -> web.Response:
        """Which relationships the facility accepts (an admin)."""
        claims, facility_id = await self._scoped(request, Role.ADMIN)
        body = parse_body(RelationshipsBody, await json_body(request))
        policy = await self._requests.set_relationships(
            facility_id, parse_relationships(body.relationships), Actor(claims.role, claims.sub)
        )
        return respond({"facility_id": facility_id, "relationships": policy.listed()})

    async def set_makeup(self, request: web.Request) -> web.Response:
        """After how many minutes lost to system faults a visit's family is offered a make-up
        visit, or null for never (an admin)."""
        claims, facility_id = await self._scoped(request, Role.ADMIN)
        body = parse_body(MakeupBody, await json_body(request))
        actor = Actor(claims.role, claims.sub)
        policy = await self._requests.set_makeup_after(facility_id, body.makeup_after_min, actor)
        return respond({"facility_id": facility_id, "makeup_after_min": policy.makeup_after_min})

    async def block(self, request: web.Request) -> web.Response:
        """Block a person by NIK in this facility (audited with the NIK masked)."""
        claims, facility_id = await self._scoped(request)
        body = parse_body(BlockBody, await json_body(request))
        actor = Actor(claims.role, claims.sub)
        until = _until(body.until)
        count = await self._blocks.block(facility_id, body.nik, body.reason, actor, until)
        return respond(Blocked(facility_id, count), status=201)

    async def unblock(self, request: web.Request) -> web.Response:
        """Lift the block of a listed visitor (every record of its NIK); 409 if not blocked."""
        claims, facility_id = await self._scoped(request)
        body = parse_body(UnblockBody, await json_body(request))
        visitor = await self._ctx.store.get_visitor(body.visitor_id)
        if visitor is None:
            raise NotFound("no such visitor", field="visitor_id")
        actor = Actor(claims.role, claims.sub)
        count = await self._blocks.unblock(facility_id, visitor.nik, body.reason, actor)
        return respond(Blocked(facility_id, count))


def _until(raw: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise BadRequest("`until` must be YYYY-MM-DD", field="until") from exc


def _blocked(blocked: BlockedVisitor, timezone: str) -> dict[str, Any]:
    """A blocked visitor as listed (NIK masked), with the block's last local day (or null)."""
    v, until = blocked.visitor, blocked.until
    last = dt.datetime.fromtimestamp(until - 1, zone(timezone)).date() if until else None
    return {
        "id": v.id,
        "name": v.name,
        "nik": mask(v.nik),
        "until": last.isoformat() if last else None,
    }


def _ms(request: web.Request, key: str) -> int:
    raw = request.query.get(key, "")
    if not raw.isdigit() or len(raw) > 15:
        raise BadRequest(f"`{key}` must be a time in ms since the epoch", field=key)
    return int(raw)
