"""A console session on a world's node: staff accounts, a login for a session cookie, and
requests waiting in the facility's queue."""

from __future__ import annotations

import datetime as dt

import aiohttp

from services.access.links import FamilyLinks
from services.access.sessions import CSRF_HEADER, SESSION_COOKIE
from services.admin.provision import Admin
from services.booking.calendar import CalendarService
from services.booking.forms import RequestForm, VisitorForm
from services.booking.requests import RequestService
from services.booking.slots import day_bounds, parse_hhmm, parse_weekdays
from services.domain.model import Role, Visit, VisitKind
from tests.helpers.world import LINK_KEY, World

PASSWORD = "rahasia-petugas-1"


async def staff(world: World, name: str, role: Role, facility_id: str | None = "") -> None:
    """A staff account with ``PASSWORD``, of the world's facility unless told otherwise."""
    facility = world.facility_id if facility_id == "" else facility_id
    await Admin(world.store).staff(name, role, PASSWORD, facility)


async def login(world: World, name: str) -> tuple[aiohttp.ClientResponse, dict[str, object]]:
    """A JSON login on the world's client; its cookie jar keeps the session."""
    resp = await world.client.post("/officer/login", json={"username": name, "password": PASSWORD})
    return resp, await resp.json()


def cookie(world: World) -> str:
    """The session cookie the world's client holds ("" for none)."""
    for morsel in world.client.session.cookie_jar:
        if morsel.key == SESSION_COOKIE:
            return morsel.value
    return ""


def csrf(session: dict[str, object]) -> dict[str, str]:
    return {CSRF_HEADER: str(session["csrf"])}


async def requested(world: World, n: int = 1, inmate: str = "B-1234") -> Visit:
    """A request waiting in the world's facility: visitor ``n`` on next Saturday at 08:00 + n
    half hours (a template is added on first use)."""
    if not await world.store.slot_templates(world.facility_id, world.terminal.room_id):
        await CalendarService(world.store).add_template(
            world.terminal.room_id,
            parse_weekdays("sat"),
            (480, 780),
            30,
            frozenset({VisitKind.REGULAR}),
        )
    today = dt.datetime.fromtimestamp(world.clock.now(), dt.UTC).date()
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
    start = day_bounds(saturday, "Asia/Jakarta")[0] + (parse_hhmm("08:00") + 30 * n) * 60_000
    person = VisitorForm(
        name="Siti Aminah",
        nik=f"320101150890{n:04d}",
        phone="0812-3456-7890",
        relationship="spouse",
    )
    form = RequestForm(world.facility_id, inmate, VisitKind.REGULAR, start, person, None, False)
    service = RequestService(world.store, world.clock, FamilyLinks(LINK_KEY))
    return await service.submit(form)
