"""Walk-in visits over the REST API: the inmate search, the rooms free now, and the visit started
now with its family link and QR code; facility scope, a room not free, and bad input."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
import zxingcpp
from structlog.testing import capture_logs

from services.admin.provision import Admin
from services.audit.query import AuditQuery
from services.board.today import TerminalRow
from services.booking.walkins import WalkIns, WalkInVisitor
from services.domain.model import Role
from services.errors import Conflict
from services.http.qr import qr_svg
from services.ids import Actor
from tests.helpers.officer import as_officer
from tests.helpers.world import Peer, World

WALK_IN = "/api/v1/visits/walk-in"
ROOMS = "/api/v1/visits/walk-in/rooms"


def _officer(world: World) -> dict[str, str]:
    return as_officer(world, "s_walk", facility=world.facility_id)


async def _device(world: World) -> Peer:
    """The world's terminal online with its device credentials."""
    creds = world.creds
    return await world.connect(
        device={"id": creds.terminal_id, "secret": creds.secret, "agent": "tatap-terminal/9.9"}
    )


def _body(world: World, **over: Any) -> dict[str, Any]:
    body = {
        "terminal_id": world.terminal.id,
        "inmate_id": world.inmate_id,
        "visitor_name": "Siti Aminah",
        "phone": "0812-3456-7890",
    }
    return {**body, **over}


async def _error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    error: dict[str, Any] = (await resp.json())["error"]
    return error


async def test_a_walk_in_starts_now_in_a_free_room_with_its_link_and_qr(world: World) -> None:
    """The room whose terminal is online is free; the walk-in is scheduled from now for the
    regular length, answered with the family link (which joins) and its QR code, and audited as
    `scheduled` with `walk_in` and the officer, the link's secret in no log line or event."""
    headers = _officer(world)
    device = await _device(world)
    await device.expect("idle")
    resp = await world.client.get(ROOMS, params={"facility": world.facility_id}, headers=headers)
    assert resp.status == 200, await resp.text()
    (room,) = (await resp.json())["rooms"]
    assert room["free"] is True and room["online"] is True and room["room_name"] == "Ruang 1"

    with capture_logs() as logs:
        resp = await world.client.post(WALK_IN, json=_body(world), headers=headers)
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    visit = out["visit"]
    now_ms = int(world.clock.now() * 1000)
    assert visit["status"] == "scheduled" and visit["kind"] == "regular"
    assert visit["start_ms"] == now_ms and visit["end_ms"] == now_ms + 900_000
    assert [p["name"] for p in visit["participants"] if p["role"] == "family"] == ["Siti Aminah"]
    assert out["link"].startswith("http") and "/v/" in out["link"]
    assert out["qr_svg"] == qr_svg(out["link"])
    secret = out["link"].rsplit("/v/", 1)[1]
    assert secret not in repr(logs)

    rows = await world.store.audit_search(AuditQuery(visit_id=visit["id"], action="scheduled"))
    (event,) = rows
    assert (event.actor_role, event.actor_id) == ("officer", "s_walk")
    assert orjson.loads(event.details)["walk_in"] is True
    assert secret not in repr(event.details) and "Siti" not in repr(event.details)

    joined = await world.client.post("/api/v1/join", json={"link": secret})
    assert joined.status == 200, await joined.text()
    assert (await joined.json())["visit"]["id"] == visit["id"]
    resp = await world.client.get(ROOMS, params={"facility": world.facility_id}, headers=headers)
    (room,) = (await resp.json())["rooms"]
    assert room["free"] is False and room["busy_until_ms"] == visit["end_ms"]
    await device.close()


def test_the_qr_code_decodes_to_the_link() -> None:
    """The SVG, drawn by a browser-free rasteriser (its own paths, scaled), reads back as the
    link with a real decoder (zxing-cpp)."""
    from PIL import Image, ImageDraw

    link = "https://tatap.example/v/" + "Ab3_-x" * 7
    svg = qr_svg(link)
    size = int(svg.split('viewBox="0 0 ', 1)[1].split(" ", 1)[0])
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    path = svg.split('stroke="#000" d="', 1)[1].split('"', 1)[0]
    x = y = 0.0
    for op, args in re.findall(r"([Mmh])([-0-9. ]+)", path):
        numbers = [float(v) for v in args.split()]
        if op == "M":
            x, y = numbers
        elif op == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:  # a run of dark modules on the row whose centre line is y
            left, right = sorted((x, x + numbers[0]))
            box = (left * scale, (y - 0.5) * scale, right * scale - 1, (y + 0.5) * scale - 1)
            draw.rectangle(box, fill=0)
            x += numbers[0]
    (found,) = zxingcpp.read_barcodes(image)
    assert found.text == link


async def test_no_free_room_is_409_saying_why(world: World) -> None:
    """A terminal offline, then a visit booked in the room within the regular length: each is
    refused 409 with the reason in its message, and nothing is scheduled."""
    headers = _officer(world)
    error = await _error(await world.client.post(WALK_IN, json=_body(world), headers=headers), 409)
    assert "offline" in error["message"] and error["details"]["reason"] == "offline"
    resp = await world.client.get(ROOMS, params={"facility": world.facility_id}, headers=headers)
    (room,) = (await resp.json())["rooms"]
    assert room["online"] is False and room["free"] is False

    device = await _device(world)
    await device.expect("idle")
    booked = await world.schedule(start_in=600)  # inside the next 15 minutes
    error = await _error(await world.client.post(WALK_IN, json=_body(world), headers=headers), 409)
    assert "booked" in error["message"] and error["details"]["reason"] == "booked"
    resp = await world.client.get(ROOMS, params={"facility": world.facility_id}, headers=headers)
    (room,) = (await resp.json())["rooms"]
    assert room["busy_until_ms"] == int(booked.visit.end * 1000) and room["free"] is False
    rows = await world.store.audit_search(AuditQuery(action="scheduled"))
    assert [r.visit_id for r in rows] == [booked.visit.id]
    await device.close()


async def test_an_officer_of_another_facility_sees_and_starts_nothing(world: World) -> None:
    """Rooms, inmates and the walk-in itself are 404 for an officer bound to another facility,
    as they are for a terminal named from elsewhere."""
    other = as_officer(world, "s_other", facility="f_elsewhere")
    device = await _device(world)
    await device.expect("idle")
    params = {"facility": world.facility_id}
    assert (await world.client.get(ROOMS, params=params, headers=other)).status == 404
    params = {"facility": world.facility_id, "q": "B-12"}
    assert (await world.client.get("/api/v1/inmates", params=params, headers=other)).status == 404
    await _error(await world.client.post(WALK_IN, json=_body(world), headers=other), 404)
    mine = _officer(world)
    body = _body(world, terminal_id="t_nowhere")
    await _error(await world.client.post(WALK_IN, json=body, headers=mine), 404)
    assert (await world.client.get(ROOMS, params={"facility": world.facility_id})).status == 401
    assert await world.store.audit_search(AuditQuery(action="scheduled")) == []
    await device.close()


async def test_bad_input_is_400_naming_the_field(world: World) -> None:
    """A missing or malformed name, a phone that is no Indonesian mobile, a search too short:
    400 with the field named."""
    headers = _officer(world)
    device = await _device(world)
    await device.expect("idle")
    cases = [
        (_body(world, visitor_name=""), "visitor_name"),
        (_body(world, visitor_name="<script>"), "visitor_name"),
        (_body(world, phone="021-555-1234"), "phone"),
        ({k: v for k, v in _body(world).items() if k != "inmate_id"}, "inmate_id"),
    ]
    for body, field in cases:
        error = await _error(await world.client.post(WALK_IN, json=body, headers=headers), 400)
        assert field in error["message"] or error["details"]["field"] == field, error
    resp = await world.client.post(WALK_IN, data=b"{not json", headers=headers)
    await _error(resp, 400)
    params = {"facility": world.facility_id, "q": "B"}
    resp = await world.client.get("/api/v1/inmates", params=params, headers=headers)
    assert "`q`" in (await _error(resp, 400))["message"]
    await device.close()


async def test_the_inmate_search_finds_by_number_or_name_and_skips_those_gone(
    world: World,
) -> None:
    """Part of a number or a name finds the facility's inmates, the exact number first; those
    released are not offered; a remand inmate's walk-in needs the authority's letter number
    (400 without), kept on the visit and in its `scheduled` event."""
    admin = Admin(world.store)
    csv = (
        "number,name,block,status\nB-12,Budiman,A,\nB-1235,Budi Santoso,B,released\n"
        "C-9,Rahmat Budi,C,remand\nD-1,Wati,D,\n"
    )
    await admin.import_inmates(world.facility_id, csv)
    headers = _officer(world)

    async def search(text: str) -> list[str]:
        params = {"facility": world.facility_id, "q": text}
        resp = await world.client.get("/api/v1/inmates", params=params, headers=headers)
        assert resp.status == 200, await resp.text()
        return [i["number"] for i in (await resp.json())["inmates"]]

    assert await search("B-12") == ["B-12", "B-1234"]  # the exact number first
    assert await search("budi") == ["B-1234", "B-12", "C-9"]  # by name: Budi, Budiman, Rahmat
    assert await search("wati") == ["D-1"]
    assert await search("%_") == []

    device = await _device(world)
    await device.expect("idle")
    remand = await world.store.find_inmate(world.facility_id, "C-9")
    assert remand is not None
    body = _body(world, inmate_id=remand.id)
    error = await _error(await world.client.post(WALK_IN, json=body, headers=headers), 400)
    assert "remand" in error["message"] and error["details"]["field"] == "permission_ref"
    body = _body(world, inmate_id=remand.id, permission_ref=" B/123/IV/2026 ")
    resp = await world.client.post(WALK_IN, json=body, headers=headers)
    assert resp.status == 201, await resp.text()
    visit = await world.store.get_visit((await resp.json())["visit"]["id"])
    assert visit is not None and visit.permission_ref == "B/123/IV/2026"
    (event,) = await world.store.audit_search(AuditQuery(visit_id=visit.id, action="scheduled"))
    assert orjson.loads(event.details)["permission_ref"] == "B/123/IV/2026"
    await device.close()


class _Blind:
    """The store, blind to what is booked: the look a walk-in takes just before another
    officer's insert lands."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def booked_slots(self, room_ids: Any, start_ms: int, end_ms: int) -> list[Any]:
        return []


class _Online:
    """Every terminal online (the seam through which the board's live state is read)."""

    async def terminal(self, terminal_id: str) -> Any:
        return TerminalRow(terminal_id, "", "", True, None, None, "")


async def test_a_room_booked_meanwhile_is_refused_by_the_store_as_booked(world: World) -> None:
    """The store's own clash check, in the insert's transaction, refuses a walk-in on a
    terminal booked between the look and the insert: 409 `booked`, nothing written."""
    booked = await world.schedule(start_in=300)
    facility = await world.store.get_facility(world.facility_id)
    assert facility is not None
    walkins = WalkIns(_Blind(world.store), world.visits, _Online(), world.clock)
    visitor = WalkInVisitor("Siti Aminah")
    actor = Actor(Role.OFFICER, "s_walk")
    with pytest.raises(Conflict) as refused:
        await walkins.start(facility, world.terminal.id, world.inmate_id, visitor, actor)
    assert refused.value.details["reason"] == "booked"
    rows = await world.store.audit_search(AuditQuery(action="scheduled"))
    assert [r.visit_id for r in rows] == [booked.visit.id]
