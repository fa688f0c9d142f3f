"""What /status reads: a family's lookup names the facility and its time zone, and hands the
link out while the visit is live as well as before (the visit-room terminal takes its seat as
the visit opens, so the visit is live before the family comes in)."""

from __future__ import annotations

import datetime as dt

from services.admin.provision import Admin
from services.booking.calendar import CalendarService
from services.booking.slots import day_bounds, parse_weekdays
from services.domain.model import VisitKind, VisitStatus
from services.ids import VisitId
from services.store.protocols import VisitChange
from tests.helpers.officer import as_officer
from tests.helpers.world import World

NIK = "3201011508900001"


async def _requested(world: World) -> dict[str, object]:
    """A request for next Saturday 08:00 (the facility's time), as a family makes it."""
    await Admin(world.store).import_inmates(world.facility_id, "number,name,block\nN-1,Budi,A\n")
    kinds = frozenset({VisitKind.REGULAR})
    await CalendarService(world.store).add_template(
        world.terminal.room_id, parse_weekdays("sat"), (480, 540), 30, kinds
    )
    today = dt.datetime.fromtimestamp(world.clock.now(), dt.UTC).date()
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
    body = {
        "facility_id": world.facility_id,
        "inmate_number": "N-1",
        "kind": "regular",
        "start_ms": day_bounds(saturday, "Asia/Jakarta")[0] + 480 * 60_000,
        "visitor": {
            "name": "Siti Aminah",
            "nik": NIK,
            "phone": "0812-3456-7890",
            "relationship": "spouse",
        },
    }
    resp = await world.client.post("/api/v1/requests", json=body)
    assert resp.status == 201
    made: dict[str, object] = await resp.json()
    return made


async def test_the_lookup_names_the_facility_and_gives_the_link_while_live(world: World) -> None:
    """Requested: the facility's name and time zone, no link. Approved, then live (the terminal
    seated): the link both times."""
    made = await _requested(world)
    who = {"code": made["code"], "nik_last4": NIK[-4:]}
    state = await (await world.client.post("/api/v1/requests/lookup", json=who)).json()
    assert state["facility"] == {"name": "Lapas Cilegon", "timezone": "Asia/Jakarta"}
    assert state["status"] == "requested" and "link" not in state
    path = f"/api/v1/requests/{made['id']}/approve"
    assert (await world.client.post(path, headers=as_officer(world))).status == 200
    state = await (await world.client.post("/api/v1/requests/lookup", json=who)).json()
    assert state["status"] == "approved" and state["link"]
    visit_id = VisitId(str(made["id"]))
    live = VisitChange(visit_id, VisitStatus.LIVE, frozenset({VisitStatus.SCHEDULED}), 0.0)
    await world.store.change_visit(live, [])
    state = await (await world.client.post("/api/v1/requests/lookup", json=who)).json()
    assert state["status"] == "live" and state["link"].rsplit("/", 1)[1]
    joined = await world.client.post("/api/v1/join", json={"link": state["link"].rsplit("/", 1)[1]})
    assert joined.status == 200  # the link opens the visit page (a wrong one is 401)
