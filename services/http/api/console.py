"""The staff consoles' session routes: log in (a form or JSON) for a session cookie, say who is
logged in (with the CSRF token the page sends with each change), and log out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from services.access.known_sources import DEVICE_COOKIE
from services.access.sessions import CONSOLE_OF, CSRF_HEADER
from services.access.tokens import Claims
from services.domain.model import STAFF_ROLES
from services.errors import BadRequest, Forbidden
from services.http.api.context import ApiContext
from services.http.api.staff import Login, set_device_cookie
from services.http.fields import parse_body
from services.http.plumbing import json_body, read_body, respond
from services.http.sessions import RENEWED, SessionCookies

FORM = "application/x-www-form-urlencoded"
LOGIN_PATH = "/officer/login"
MAX_FACILITIES_LISTED = 1000  # a picker of every facility lists at most this many


@dataclass(frozen=True)
class ConsoleFacility:
    id: str
    name: str
    timezone: str


@dataclass(frozen=True)
class ConsoleSession:
    """Who is logged in, where the console of that role is, and the CSRF token every change
    sends in the ``X-CSRF-Token`` header. ``facility`` is null for staff of every facility."""

    staff_id: str
    username: str
    role: str
    console: str
    facility: ConsoleFacility | None
    csrf: str
    csrf_header: str
    idle_s: float
    facilities: list[ConsoleFacility]  # a regional auditor's region; empty for everyone else


@dataclass(frozen=True)
class FacilityChoices:
    """The facilities a console's staff member works on, by name: its own, a regional
    auditor's region, or (staff of every facility) every facility, taking requests or not."""

    facilities: list[ConsoleFacility]


@dataclass(frozen=True)
class LoggedOut:
    logged_out: bool


class ConsoleApi:
    """``POST /officer/login``, ``GET /officer/session``, ``POST /officer/logout``."""

    def __init__(self, ctx: ApiContext, cookies: SessionCookies) -> None:
        self._ctx = ctx
        self._cookies = cookies

    async def login(self, request: web.Request) -> web.StreamResponse:
        """The staff login's throttles and checks, then a session cookie. A form post is sent on
        to its console (303); a JSON one is answered with the session."""
        self._cookies.check_origin(request)  # no logging a victim into an account of ours
        as_form = request.content_type == FORM
        body = parse_body(Login, await _form(request) if as_form else await json_body(request))
        source = request.remote or ""
        device = request.cookies.get(DEVICE_COOKIE, "")
        _, staff, known = await self._ctx.staff.login(
            body.username[:100], body.password[:200], source, device
        )
        await self._ctx.revocations.check_staff(staff.id)  # a disabled account gets no session
        if staff.role not in CONSOLE_OF:
            raise Forbidden("this account has no console")
        token, claims = self._ctx.sessions.open(staff)
        if as_form:
            response: web.StreamResponse = web.Response(
                status=303, headers={"Location": CONSOLE_OF[staff.role]}
            )
        else:
            response = respond(await self._session(claims, staff.username))
        self._cookies.set(response, token)
        set_device_cookie(response, self._ctx, known, LOGIN_PATH)
        return response

    async def session(self, request: web.Request) -> web.Response:
        """Who is logged in, and the session's CSRF token (readable by our own pages only)."""
        claims = await self._cookies.require(request, STAFF_ROLES)
        return respond(await self._session(claims))

    async def facilities(self, request: web.Request) -> web.Response:
        """The facilities the session's staff member may pick (the consoles' facility picker)."""
        claims = await self._cookies.require(request, STAFF_ROLES)
        store = self._ctx.store
        if claims.facility or claims.facilities:
            ids = [claims.facility] if claims.facility else list(claims.facilities)
            found = [f for f in [await store.get_facility(i) for i in ids] if f]
            found.sort(key=lambda f: (f.name, f.id))
        else:
            found = await store.all_facilities(MAX_FACILITIES_LISTED)
        return respond(FacilityChoices([ConsoleFacility(f.id, f.name, f.timezone) for f in found]))

    async def logout(self, request: web.Request) -> web.Response:
        """The session is revoked (audited) and its cookie cleared; the cookie no longer works,
        wherever a copy of it is."""
        claims = await self._cookies.require(request, STAFF_ROLES)
        request.pop(RENEWED, None)
        await self._ctx.sessions.close(claims)
        response = respond(LoggedOut(True))
        self._cookies.clear(response)
        return response

    async def _session(self, claims: Claims, username: str = "") -> ConsoleSession:
        if not username:
            staff = await self._ctx.store.get_staff(claims.sub)
            username = staff.username if staff is not None else ""
        facility = await self._ctx.store.get_facility(claims.facility) if claims.facility else None
        region = [await self._ctx.store.get_facility(f) for f in claims.facilities]
        return ConsoleSession(
            staff_id=claims.sub,
            username=username,
            role=claims.role.value,
            console=CONSOLE_OF.get(claims.role, "/officer"),
            facility=ConsoleFacility(facility.id, facility.name, facility.timezone)
            if facility
            else None,
            csrf=self._ctx.sessions.csrf(claims),
            csrf_header=CSRF_HEADER,
            idle_s=self._ctx.sessions.limits.idle_s,
            facilities=[ConsoleFacility(f.id, f.name, f.timezone) for f in region if f],
        )


async def _form(request: web.Request) -> dict[str, Any]:
    """A url-encoded form's fields (the last of each name), within the body limits."""
    raw = await read_body(request)
    try:
        return dict(parse_qsl(raw.decode(), max_num_fields=10, strict_parsing=False))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("the form cannot be read") from exc
