"""The request API on a real server: facilities and free slots, 200 families racing for 10
slots, each 409 code, each validation message, lookup with its throttle, the officer's queue."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from services.access.links import FamilyLinks
from services.access.revocation import Revocations
from services.access.tokens import hash_secret
from services.admin.provision import Admin
from services.booking.blocks import VisitorBlocks
from services.booking.calendar import CalendarService
from services.booking.relationships import Relationship
from services.booking.requests import RequestService
from services.booking.slots import day_bounds, parse_hhmm, parse_weekdays
from services.domain.model import Role, VisitKind
from services.ids import Actor
from signaling.app import TOKENS
from tests.helpers.audit import rows
from tests.helpers.requests_api import _open, body, nik, officer, post
from tests.helpers.world import LINK_KEY, World


async def test_facilities_and_their_free_slots(world: World) -> None:
    day = await _open(world)
    resp = await world.client.get("/api/v1/facilities")
    listed = (await resp.json())["facilities"]
    assert listed == [
        {
            "id": world.facility_id,
            "name": "Lapas Cilegon",
            "timezone": "Asia/Jakarta",
            "relationships": [r.value for r in Relationship],
            "education_days": ["sun"],
        }
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
        "kind_not_allowed": {
            **body(world, day["slots"][2], n=5, inmate="N-4", relationship="advocate"),
            "kind": "legal",
            "advocate_number": "12.34567",
        },
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


async def test_the_family_link_is_stable_and_equals_approvals(world: World) -> None:
    """Two lookups show the same link, the one approval answered with, and it still admits;
    once the visit is cancelled that link admits no more."""
    day = await _open(world)
    _, made = await post(world, "/api/v1/requests", body(world, day["slots"][0]))
    who = {"code": made["code"], "nik_last4": nik(1)[-4:]}
    _, approved = await post(
        world, f"/api/v1/requests/{made['id']}/approve", None, headers=officer(world)
    )
    family = next(p["id"] for p in approved["participants"] if p["role"] == "family")
    _, first = await post(world, "/api/v1/requests/lookup", who)
    _, second = await post(world, "/api/v1/requests/lookup", who)
    assert first["link"] == second["link"] == approved["links"][family]
    secret = first["link"].rsplit("/", 1)[1]
    assert (await post(world, "/api/v1/join", {"link": secret}))[0] == 200
    await post(world, "/api/v1/requests/cancel", who)
    assert (await post(world, "/api/v1/join", {"link": secret}))[0] != 200


async def _approved(world: World) -> tuple[str, str]:
    """A request made and approved: its family seat and the link secret approval gave."""
    day = await _open(world)
    _, made = await post(world, "/api/v1/requests", body(world, day["slots"][0]))
    _, approved = await post(
        world, f"/api/v1/requests/{made['id']}/approve", None, headers=officer(world)
    )
    family = next(p["id"] for p in approved["participants"] if p["role"] == "family")
    return family, approved["links"][family].rsplit("/", 1)[1]


async def test_a_revoked_family_seat_is_refused_its_stable_link(world: World) -> None:
    """Revoking the family seat shuts its link out, though a lookup derives the same link."""
    family, secret = await _approved(world)
    assert (await post(world, "/api/v1/join", {"link": secret}))[0] == 200
    path = f"/api/v1/participants/{family}/revoke"
    assert (await post(world, path, {"reason": "test"}, headers=officer(world)))[0] == 200
    assert (await post(world, "/api/v1/join", {"link": secret}))[0] in (401, 403)


async def test_a_lookup_for_a_revoked_seat_says_so_instead_of_a_dead_link(world: World) -> None:
    """Once the family seat is revoked, lookup gives no link (it would open nothing) and says
    the link was revoked; before, the same lookup gave the link."""
    day = await _open(world)
    _, made = await post(world, "/api/v1/requests", body(world, day["slots"][0]))
    _, approved = await post(
        world, f"/api/v1/requests/{made['id']}/approve", None, headers=officer(world)
    )
    family = next(p["id"] for p in approved["participants"] if p["role"] == "family")
    who = {"code": made["code"], "nik_last4": nik(1)[-4:]}
    _, before = await post(world, "/api/v1/requests/lookup", who)
    assert before["link"] == approved["links"][family] and "link_revoked" not in before
    path = f"/api/v1/participants/{family}/revoke"
    assert (await post(world, path, {"reason": "test"}, headers=officer(world)))[0] == 200
    status, after = await post(world, "/api/v1/requests/lookup", who)
    assert status == 200 and after["status"] == "approved"
    assert "link" not in after and after["link_revoked"] is True


async def test_the_database_alone_cannot_make_a_family_link(world: World) -> None:
    """The database holds only the link's hash: neither the secret nor the key that derives it,
    and the same derivation under any other key gives another link."""
    family, secret = await _approved(world)
    await world.store.aclose()
    db = world.settings.sqlite_path
    files = [db, *db.parent.glob(db.name + "-*")]  # the WAL too
    everything = b"".join(f.read_bytes() for f in files if f.is_file())
    assert secret.encode() not in everything and LINK_KEY not in everything
    assert hash_secret(secret).encode() in everything
    assert FamilyLinks(b"another-key-of-sixteen+").secret(family) != secret
    assert FamilyLinks(LINK_KEY).secret(family) == secret


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


async def test_a_blocked_visitor_gets_a_neutral_409(world: World) -> None:
    """A NIK blocked in the facility: 409 visitor_blocked, and the reason is not told."""
    day = await _open(world)
    blocks = VisitorBlocks(world.store, Revocations(world.store, world.clock), world.clock)
    await blocks.block(world.facility_id, nik(7), "membawa narkoba", Actor("officer", "s_off"))
    status, answer = await post(world, "/api/v1/requests", body(world, day["slots"][0], n=7))
    assert (status, answer["error"]["code"]) == (409, "visitor_blocked")
    assert "narkoba" not in str(answer)


async def test_a_remand_approval_names_the_missing_permission_ref(world: World) -> None:
    """POST …/approve for a remand inmate's visit: 400 naming `permission_ref` without it; with
    it the visit is scheduled, and the queue showed the inmate's status."""
    day = await _open(world)
    remand = "number,name,status\nN-0,A,tahanan\n"
    await Admin(world.store).import_inmates(world.facility_id, remand)
    _, made = await post(world, "/api/v1/requests", body(world, day["slots"][0]))
    resp = await world.client.get(
        f"/api/v1/requests?facility={world.facility_id}", headers=officer(world)
    )
    assert (await resp.json())["requests"][0]["inmate"]["status"] == "remand"
    path = f"/api/v1/requests/{made['id']}/approve"
    status, answer = await post(world, path, None, headers=officer(world))
    assert status == 400 and answer["error"]["details"]["field"] == "permission_ref"
    assert "permission_ref" in answer["error"]["message"]
    ref = {"permission_ref": "B-77/RES/2027"}
    status, answer = await post(world, path, ref, headers=officer(world))
    assert status == 200 and answer["permission_ref"] == "B-77/RES/2027"


async def test_a_flagged_visit_is_refused_until_an_officer_clears_it(world: World) -> None:
    """The inmate is released by an import: the family's link answers 409 visit_under_review, a
    socket holding an older token is refused at hello (close 4409), the officer's queue shows the
    flag, a new request is 409 inmate_unavailable; after `review` `clear` the link opens."""
    day = await _open(world)
    _, made = await post(world, "/api/v1/requests", body(world, day["slots"][0]))
    visit_path = f"/api/v1/requests/{made['id']}/approve"
    assert (await post(world, visit_path, None, headers=officer(world)))[0] == 200
    soon = await world.schedule(start_in=60)  # the world's own inmate, B-1234
    token = await world.token(soon, Role.FAMILY)
    released = "number,name,status\nN-0,A,bebas\nB-1234,Budi,bebas\n"
    done = await Admin(world.store).import_inmates(world.facility_id, released)
    assert done.flagged == 2
    who = {"code": made["code"], "nik_last4": nik(1)[-4:]}
    _, state = await post(world, "/api/v1/requests/lookup", who)
    status, answer = await post(world, "/api/v1/join", {"link": state["link"].rsplit("/", 1)[1]})
    assert (status, answer["error"]["code"]) == (409, "visit_under_review")
    peer = await world.connect(token)
    assert (await peer.expect("error"))["code"] == "visit_under_review"
    assert await peer.closed() == 4409
    queue = await world.client.get(
        f"/api/v1/requests?facility={world.facility_id}&status=scheduled", headers=officer(world)
    )
    assert all(item["review"] for item in (await queue.json())["requests"])
    status, answer = await post(world, "/api/v1/requests", body(world, day["slots"][1], n=2))
    assert (status, answer["error"]["code"]) == (409, "inmate_unavailable")
    review = f"/api/v1/visits/{soon.visit.id}/review"
    assert (await post(world, review, {"action": "maybe"}, headers=officer(world)))[0] == 400
    status, answer = await post(world, review, {"action": "clear"}, headers=officer(world))
    assert status == 200 and answer["review"] is False
    peer = await world.connect(token)
    await peer.expect("welcome")
    status, answer = await post(world, review, {"action": "cancel"}, headers=officer(world))
    assert (status, answer["error"]["code"]) == (409, "conflict")


async def test_the_facility_list_says_which_relationships_it_takes(world: World) -> None:
    """After the facility narrows its relationships, the list shows them and a request with
    another is 400 naming `relationship`, in Indonesian and English."""
    day = await _open(world)
    service = RequestService(world.store, world.clock, FamilyLinks(LINK_KEY))
    close = frozenset({Relationship.SPOUSE, Relationship.CHILD})
    await service.set_relationships(world.facility_id, close, Actor("admin", "s_adm"))
    listed = (await (await world.client.get("/api/v1/facilities")).json())["facilities"]
    assert listed[0]["relationships"] == ["spouse", "child"]
    data = body(world, day["slots"][0], relationship="parent")
    status, answer = await post(world, "/api/v1/requests", data)
    details = answer["error"]["details"]
    assert status == 400 and details["field"] == "relationship"
    assert details["messages"]["id"] and details["messages"]["en"]


async def test_an_admin_sets_the_quotas(world: World) -> None:
    """PUT …/quotas: an admin's quotas hold at once; an officer is refused 403, an out-of-range
    number is 400 naming it, an unknown facility 404."""
    day = await _open(world, inmates=3)
    path = f"/api/v1/facilities/{world.facility_id}/quotas"
    quotas = {"per_inmate": 2, "per_visitor": 1}
    resp = await world.client.put(path, json=quotas, headers=officer(world))
    assert resp.status == 403
    token, _ = world.app[TOKENS].issue(
        sub="s_adm", role=Role.ADMIN, visit="", now=world.clock.now(), ttl_s=3600
    )
    admin = {"Authorization": f"Bearer {token}"}
    resp = await world.client.put(path, json={**quotas, "per_inmate": 0}, headers=admin)
    assert resp.status == 400 and "per_inmate" in (await resp.json())["error"]["message"]
    resp = await world.client.put("/api/v1/facilities/f_none/quotas", json=quotas, headers=admin)
    assert resp.status == 404
    resp = await world.client.put(path, json=quotas, headers=admin)
    assert resp.status == 200 and (await resp.json())["per_inmate"] == 2
    for n in (1, 2):
        status, _ = await post(world, "/api/v1/requests", body(world, day["slots"][n], n=n))
        assert status == 201
    status, answer = await post(world, "/api/v1/requests", body(world, day["slots"][3], n=3))
    assert (status, answer["error"]["code"]) == (409, "quota_inmate")


async def test_a_close_through_the_api_cancels_and_ends_what_it_covers(world: World) -> None:
    """POST …/closures: the visit booked inside is cancelled (its link then says it is over), the
    live one is ended at once (its family hears `ended`); a closure that ends before it starts
    is 400, another facility's 404."""
    live = await world.schedule(start_in=0)
    peer = await world.connect(await world.token(live, Role.FAMILY))
    await peer.expect("welcome")
    later = await world.schedule(start_in=3600)
    now_ms = int(world.clock.now() * 1000)
    closure = {"start_ms": now_ms, "end_ms": now_ms + 7_200_000, "reason": "gempa"}
    path = f"/api/v1/facilities/{world.facility_id}/closures"
    backwards = {**closure, "end_ms": now_ms - 1}
    assert (await post(world, path, backwards, headers=officer(world)))[0] == 400
    other = "/api/v1/facilities/f_other/closures"
    assert (await post(world, other, closure, headers=officer(world)))[0] == 404
    status, made = await post(world, path, closure, headers=officer(world))
    assert status == 201, made
    assert (made["cancelled"], made["ended"]) == ([later.visit.id], [live.visit.id])
    ended = await peer.until("ended")
    assert ended["reason"] == "terminated"
    link = next(iter(later.links.values()))
    status, answer = await post(world, "/api/v1/join", {"link": link})
    assert (status, answer["error"]["code"]) == (409, "visit_over")


async def _sunday(world: World) -> list[int]:
    """Besides ``_open``'s Saturdays: Sundays 08:00-10:00 in 30-minute slots of education and
    legal visits (Sunday is the default education day); the next Sunday's slot starts."""
    kinds = frozenset({VisitKind.EDUCATION, VisitKind.LEGAL})
    await CalendarService(world.store).add_template(
        world.terminal.room_id, parse_weekdays("sun"), (480, 600), 30, kinds
    )
    today = dt.datetime.fromtimestamp(world.clock.now(), dt.UTC).date()
    sunday = today + dt.timedelta(days=(6 - today.weekday()) % 7 or 7)
    first = day_bounds(sunday, "Asia/Jakarta")[0] + parse_hhmm("08:00") * 60_000
    return [first + i * 1_800_000 for i in range(4)]


def education(world: World, start_ms: int, **teacher: Any) -> Any:
    guest = {"name": "Bu Sari", "contact": "0813-1111-2222", **teacher}
    return {**body(world, start_ms, relationship="parent"), "kind": "education", "guests": [guest]}


def legal(world: World, start_ms: int, number: str = "12.34567", **visitor: Any) -> Any:
    person = {"relationship": "advocate", **visitor}
    return {**body(world, start_ms, **person), "kind": "legal", "advocate_number": number}


async def _requested_details(world: World, visit_id: str) -> dict[str, Any]:
    found = rows(
        world.settings.sqlite_path,
        "SELECT details FROM audit_events WHERE action = 'requested' AND visit_id = ?",
        (visit_id,),
    )
    details: dict[str, Any] = json.loads(found[0][0])
    return details


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"guests": []}, "guests", "teacher_required"),
        ({"guests": [{"name": "Bu Sari"}]}, "guests[0].contact", "phone_required"),
        ({"guests": [{"name": "Bu Sari", "contact": "12"}]}, "guests[0].contact", "phone_invalid"),
        (
            {"guests": [{"name": "Bu Sari", "contact": "021 1234 5678"}]},
            "guests[0].contact",
            "phone_not_mobile",
        ),
        ({"guests": [{"name": "", "contact": "081311112222"}]}, "guests[0].name", "name_required"),
    ],
)
async def test_an_education_request_needs_its_teacher_and_contact(
    world: World, change: dict[str, Any], field: str, reason: str
) -> None:
    """Without a teacher, or with a teacher's name or number wrong: 400 naming the teacher's
    field, in both languages."""
    await _open(world)
    slots = await _sunday(world)
    status, answer = await post(world, "/api/v1/requests", {**education(world, slots[0]), **change})
    details = answer["error"]["details"]
    assert status == 400 and (details["field"], details["reason"]) == (field, reason)
    assert details["messages"]["id"] and details["messages"]["en"]


async def test_an_education_request_keeps_the_teachers_number(world: World) -> None:
    """The teacher's number is kept in E.164, shown in full in the officer's queue, and masked
    in the `requested` audit event."""
    await _open(world)
    slots = await _sunday(world)
    status, made = await post(world, "/api/v1/requests", education(world, slots[0]))
    assert status == 201, made
    resp = await world.client.get(
        f"/api/v1/requests?facility={world.facility_id}", headers=officer(world)
    )
    queued = (await resp.json())["requests"][0]
    assert queued["teacher"] == {"name": "Bu Sari", "contact": "+6281311112222"}
    assert queued["kind"] == "education" and queued["advocate_number"] is None
    details = await _requested_details(world, made["id"])
    assert details["teacher_contact"] == "**********2222"
    assert "6281311112222" not in json.dumps(details)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"advocate_number": ""}, "advocate_number", "advocate_number_required"),
        ({"advocate_number": "  "}, "advocate_number", "advocate_number_required"),
        ({"advocate_number": "12"}, "advocate_number", "advocate_number_invalid"),
        ({"advocate_number": "12.345#67"}, "advocate_number", "advocate_number_invalid"),
        ({"advocate_number": "1" * 41}, "advocate_number", "advocate_number_invalid"),
    ],
)
async def test_a_legal_request_needs_the_advocates_number(
    world: World, change: dict[str, Any], field: str, reason: str
) -> None:
    """A legal visit without a well-formed registration number: 400 naming `advocate_number`,
    in both languages."""
    await _open(world)
    slots = await _sunday(world)
    status, answer = await post(world, "/api/v1/requests", {**legal(world, slots[0]), **change})
    details = answer["error"]["details"]
    assert status == 400 and (details["field"], details["reason"]) == (field, reason)
    assert details["messages"]["id"] and details["messages"]["en"]


async def test_a_legal_visit_is_for_an_advocate(world: World) -> None:
    """A legal request from a spouse is 400 naming `relationship`; a number on a family visit
    is 400 naming `advocate_number`."""
    day = await _open(world)
    slots = await _sunday(world)
    by_spouse = legal(world, slots[0], relationship="spouse")
    status, answer = await post(world, "/api/v1/requests", by_spouse)
    details = answer["error"]["details"]
    assert status == 400 and (details["field"], details["reason"]) == (
        "relationship",
        "legal_needs_advocate",
    )
    assert "advokat" in details["messages"]["id"] and "advocate" in details["messages"]["en"]
    family = {**body(world, day["slots"][0]), "advocate_number": "12.34567"}
    status, answer = await post(world, "/api/v1/requests", family)
    assert status == 400 and answer["error"]["details"]["field"] == "advocate_number"


async def test_a_legal_request_keeps_the_advocates_number(world: World) -> None:
    """The number, trimmed, is kept with the visit, shown in the officer's queue and written
    as given in the `requested` audit event (a professional number, not personal data)."""
    await _open(world)
    slots = await _sunday(world)
    data = legal(world, slots[0], "  NIA 012-345678 ")
    status, made = await post(world, "/api/v1/requests", data)
    assert status == 201, made
    resp = await world.client.get(
        f"/api/v1/requests?facility={world.facility_id}", headers=officer(world)
    )
    queued = (await resp.json())["requests"][0]
    assert queued["kind"] == "legal" and queued["advocate_number"] == "NIA 012-345678"
    assert queued["visitor"]["relationship"] == "advocate" and "teacher" not in queued
    details = await _requested_details(world, made["id"])
    assert details["advocate_number"] == "NIA 012-345678"
    visit = await world.store.get_visit(made["id"])
    assert visit is not None and visit.advocate_number == "NIA 012-345678"


async def test_the_day_list_answers_every_date_of_the_window(world: World) -> None:
    """GET …/days: tomorrow to 14 days ahead in Jakarta's days, each with its free times for
    the kind (Saturdays 10, other days 0; Sunday's education times only for education); a
    booking counts; a wrong kind is 400, an unknown facility 404."""
    day = await _open(world)
    await _sunday(world)
    today = dt.datetime.fromtimestamp(world.clock.now(), ZoneInfo("Asia/Jakarta")).date()
    path = f"/api/v1/facilities/{world.facility_id}/days"
    answer = await (await world.client.get(path)).json()
    assert answer["kind"] == "regular"
    dates = [dt.date.fromisoformat(d["date"]) for d in answer["days"]]
    assert dates == [today + dt.timedelta(days=n) for n in range(1, 15)]
    assert [d["free"] for d in answer["days"]] == [10 if d.weekday() == 5 else 0 for d in dates]
    assert (await post(world, "/api/v1/requests", body(world, day["slots"][0])))[0] == 201
    answer = await (await world.client.get(path)).json()
    assert {d["date"]: d["free"] for d in answer["days"]}[day["date"]] == 9
    answer = await (await world.client.get(path + "?kind=education")).json()
    assert {dt.date.fromisoformat(d["date"]).weekday() for d in answer["days"] if d["free"]} == {6}
    assert (await world.client.get(path + "?kind=visit")).status == 400
    assert (await world.client.get("/api/v1/facilities/f_none/days")).status == 404
