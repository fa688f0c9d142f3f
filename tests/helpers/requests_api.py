"""What the request API's tests share: a facility open on Saturdays, a family's request body,
an officer's bearer token and a JSON POST, on a ``World``'s real server."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.admin.provision import Admin
from services.booking.calendar import CalendarService
from services.booking.slots import day_bounds, parse_hhmm, parse_weekdays
from services.domain.model import Role, VisitKind
from signaling.app import TOKENS
from tests.helpers.world import World


def nik(n: int) -> str:
    return f"320101150890{n:04d}"


async def _open(world: World, rooms: int = 1, inmates: int = 1) -> dict[str, Any]:
    """Saturday templates (08:00-13:00, 30 min: 10 slots a room) and ``inmates`` inmates."""
    calendar = CalendarService(world.store)
    room_ids = [world.terminal.room_id]
    admin = Admin(world.store)
    for i in range(1, rooms):
        room = await admin.room(world.facility_id, f"Ruang {i + 1}")
        await admin.terminal(room.id, f"PC {i + 1}", "http://test")
        room_ids.append(room.id)
    for room_id in room_ids:
        kinds = frozenset({VisitKind.REGULAR})
        await calendar.add_template(room_id, parse_weekdays("sat"), (480, 780), 30, kinds)
    lines = "\n".join(f"N-{i},Napi {i},A" for i in range(inmates))
    await admin.import_inmates(world.facility_id, "number,name,block\n" + lines + "\n")
    today = dt.datetime.fromtimestamp(world.clock.now(), dt.UTC).date()
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
    first = day_bounds(saturday, "Asia/Jakarta")[0] + parse_hhmm("08:00") * 60_000
    return {"date": saturday.isoformat(), "slots": [first + i * 1_800_000 for i in range(10)]}


def body(world: World, start_ms: int, n: int = 1, inmate: str = "N-0", **visitor: Any) -> Any:
    person = {"name": "Siti Aminah", "nik": nik(n), "phone": "0812-3456-7890"}
    person["relationship"] = "spouse"
    person.update(visitor)
    return {
        "facility_id": world.facility_id,
        "inmate_number": inmate,
        "kind": "regular",
        "start_ms": start_ms,
        "visitor": person,
    }


def officer(world: World) -> dict[str, str]:
    token, _ = world.app[TOKENS].issue(
        sub="s_off",
        role=Role.OFFICER,
        visit="",
        now=world.clock.now(),
        ttl_s=3600,
        facility=world.facility_id,
    )
    return {"Authorization": f"Bearer {token}"}


async def post(world: World, path: str, data: Any, **kw: Any) -> tuple[int, Any]:
    resp = await world.client.post(path, json=data, **kw)
    return resp.status, await resp.json()
