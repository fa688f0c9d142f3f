"""The request API on a real server: facilities and free slots, 200 families racing for 10
slots, each 409 code, each validation message, lookup with its throttle, the officer's queue."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import aiohttp
import pytest

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


async def test_facilities_and_their_free_slots(world: World) -> None:
    day = await _open(world)
    resp = await world.client.get("/api/v1/facilities")
    listed = (await resp.json())["facilities"]
    assert listed == [
        {"id": world.facility_id, "name": "Lapas Cilegon", "timezone": "Asia/Jakarta"}
    ]
    url = f"/api/v1/facilities/{world.facility_id}/slots?date={day['date']}&kind=regular"
    slots = (await (await world.client.get(url)).json())["slots"]
    assert [s["start_ms"] for s in slots] == day["slots"]
    bad = await world.client.get(f"/api/v1/facilities/{world.facility_id}/slots?date=soon")
    assert bad.status == 400


async def test_200_families_for_10_slots_book_exactly_10(world: World) -> None:
    day = await _open(world, inmates=200)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = world.client.make_url("/api/v1/requests")

        async def one(i: int) -> tuple[int, Any]:
            data = body(world, day["slots"][i % 10], n=i, inmate=f"N-{i}")
            async with session.post(url, json=data) as resp:
                return resp.status, await resp.json()

        answers = await asyncio.gather(*(one(i) for i in range(200)))
    booked = [a for s, a in answers if s == 201]
    assert len(booked) == 10, answers[:3]
    assert sorted(a["start_ms"] for a in booked) == day["slots"]
    assert {a["error"]["code"] for s, a in answers if s != 201} == {"slot_full"}


async def test_concurrent_requests_never_overrun_a_quota(world: World) -> None:
    day = await _open(world, rooms=2, inmates=20)
    same_inmate = [body(world, s, n=i) for i, s in enumerate(day["slots"], start=1)]
    same_nik = [body(world, s, n=99, inmate=f"N-{i}") for i, s in enumerate(day["slots"], 1)]
    answers = await asyncio.gather(
        *(post(world, "/api/v1/requests", b) for b in same_inmate + same_nik)
    )
    assert sum(1 for s, _ in answers if s == 201) == 2
    codes = {a["error"]["code"] for s, a in answers if s != 201}
    assert codes <= {"quota_inmate", "quota_visitor", "slot_full"}


async def test_each_conflict_code(world: World) -> None:
    day = await _open(world, inmates=5)
    first = day["slots"][0]
    assert (await post(world, "/api/v1/requests", body(world, first)))[0] == 201
    cases = {
        "slot_full": body(world, first, n=2, inmate="N-1"),
        "quota_inmate": body(world, day["slots"][1], n=3),
        "quota_visitor": body(world, day["slots"][1], n=1, inmate="N-2"),
        "outside_window": body(world, first + 35 * 86_400_000, n=4, inmate="N-3"),
        "kind_not_allowed": {**body(world, day["slots"][2], n=5, inmate="N-4"), "kind": "legal"},
    }
    saturday = dt.date.fromisoformat(day["date"])
    await CalendarService(world.store).block_date(
        world.facility_id, saturday + dt.timedelta(7), "Libur"
    )
    cases["date_blocked"] = body(world, first + 7 * 86_400_000, n=6, inmate="N-4")
    for code, data in cases.items():
        status, answer = await post(world, "/api/v1/requests", data)
        assert (status, answer["error"]["code"]) == (409, code)
    status, answer = await post(world, "/api/v1/requests", body(world, first, inmate="X-1"))
    assert (status, answer["error"]["message"]) == (404, "not found")


@pytest.mark.parametrize(
    ("field", "value", "reason", "indonesian"),
    [
        ("nik", "", "nik_required", "NIK wajib diisi."),
        ("nik", "32010115089000", "nik_wrong_length", "NIK harus 16 digit."),
        ("nik", "3201013208900001", "nik_invalid_birth_date", "bukan tanggal lahir"),
        ("phone", "", "phone_required", "Nomor HP wajib diisi."),
        ("phone", "12", "phone_invalid", "Nomor HP tidak valid."),
        ("phone", "+1 650 253 0000", "phone_not_indonesian", "nomor HP Indonesia"),
        ("name", "", "name_required", "Nama wajib diisi."),
        ("name", "Siti 123", "name_invalid_characters", "hanya boleh berisi huruf"),
        ("relationship", "friend", "relationship_unknown", "Pilih hubungan"),
    ],
)
async def test_each_validation_message(
    world: World, field: str, value: str, reason: str, indonesian: str
) -> None:
    day = await _open(world)
    status, answer = await post(
        world, "/api/v1/requests", body(world, day["slots"][0], **{field: value})
    )
    assert status == 400
    details = answer["error"]["details"]
    assert (details["field"], details["reason"]) == (field, reason)
    assert indonesian in details["messages"]["id"] and details["messages"]["en"]


async def test_lookup_approve_and_the_family_link(world: World) -> None:
    day = await _open(world)
    _, made = await post(world, "/api/v1/requests", body(world, day["slots"][0]))
    who = {"code": made["code"], "nik_last4": nik(1)[-4:]}
    _, state = await post(world, "/api/v1/requests/lookup", who)
    assert state == {
        "code": made["code"],
        "status": "requested",
        "start_ms": made["start_ms"],
        "end_ms": made["end_ms"],
        "facility": {"name": "Lapas Cilegon", "timezone": "Asia/Jakarta"},
    }
    resp = await world.client.get(
        f"/api/v1/requests?facility={world.facility_id}", headers=officer(world)
    )
    queue = (await resp.json())["requests"]
    assert [q["id"] for q in queue] == [made["id"]] and queue[0]["visitor"]["nik"] == nik(1)
    status, approved = await post(
        world, f"/api/v1/requests/{made['id']}/approve", None, headers=officer(world)
    )
    assert status == 200 and approved["status"] == "scheduled"
    _, state = await post(world, "/api/v1/requests/lookup", who)
    assert state["status"] == "approved" and state["link"].startswith("http")
    status, _ = await post(world, "/api/v1/join", {"link": state["link"].rsplit("/", 1)[1]})
    assert status == 200
    _, cancelled = await post(world, "/api/v1/requests/cancel", who)
    assert cancelled["status"] == "cancelled"


async def test_reject_with_a_canned_reason(world: World) -> None:
    day = await _open(world)
    _, made = await post(world, "/api/v1/requests", body(world, day["slots"][0]))
    path = f"/api/v1/requests/{made['id']}/reject"
    status, _ = await post(world, path, {"reason": "other"}, headers=officer(world))
    assert status == 400
    status, _ = await post(world, path, {"reason": "not_relative"}, headers=officer(world))
    assert status == 200
    who = {"code": made["code"], "nik_last4": nik(1)[-4:]}
    _, state = await post(world, "/api/v1/requests/lookup", who)
    assert state["status"] == "rejected" and state["reason"]["code"] == "not_relative"
    assert state["reason"]["messages"]["id"]
    assert (await post(world, "/api/v1/requests", body(world, day["slots"][0])))[0] == 201


async def test_the_queue_is_for_staff_of_the_facility(world: World) -> None:
    resp = await world.client.get(f"/api/v1/requests?facility={world.facility_id}")
    assert resp.status == 401
    resp = await world.client.get("/api/v1/requests?facility=f_other", headers=officer(world))
    assert resp.status == 404


async def test_wrong_guesses_are_throttled(world: World) -> None:
    day = await _open(world)
    _, made = await post(world, "/api/v1/requests", body(world, day["slots"][0]))
    statuses = [
        (await post(world, "/api/v1/requests/lookup", {"code": made["code"], "nik_last4": "9999"}))[
            0
        ]
        for _ in range(11)
    ]
    assert statuses == [404] * 10 + [429]
    right = {"code": made["code"], "nik_last4": nik(1)[-4:]}
    resp = await world.client.post("/api/v1/requests/lookup", json=right)
    assert resp.status == 429 and resp.headers["Retry-After"]
    await world.advance(601)
    assert (await post(world, "/api/v1/requests/lookup", right))[0] == 200
