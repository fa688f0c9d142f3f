"""A family takes its make-up visit through the API on a real server: the lookup of the ended
visit shows the offer, the take books a free slot approved at once with its own link, counts
against no quota, is audited with the offer, and cannot be taken twice."""

from __future__ import annotations

import asyncio
from typing import Any

from services.access.links import FamilyLinks
from services.audit.chain import AuditEvent
from services.booking.makeup_records import MakeupOffer
from services.booking.requests import RequestService
from services.domain.model import EndReason, VisitStatus
from services.ids import Actor, VisitId
from services.store.protocols import VisitChange
from tests.helpers.audit import rows
from tests.helpers.requests_api import _open, body, nik, officer, post
from tests.helpers.world import LINK_KEY, World

LAST4 = nik(1)[-4:]


async def ended_with_offer(world: World, start_ms: int) -> dict[str, Any]:
    """Visitor 1's visit to N-0 requested, approved, then ended (as a node ends one), with the
    make-up offer the offerer makes for it (its own tests: tests/test_makeup.py)."""
    status, made = await post(world, "/api/v1/requests", body(world, start_ms))
    assert status == 201, made
    path = f"/api/v1/requests/{made['id']}/approve"
    assert (await post(world, path, None, headers=officer(world)))[0] == 200
    visit = await world.store.get_visit(made["id"])
    assert visit is not None
    ended = AuditEvent("ended", "system", "system:n1", visit.facility_id, visit.id, {})
    change = VisitChange(
        VisitId(visit.id),
        VisitStatus.ENDED,
        frozenset({VisitStatus.SCHEDULED}),
        world.clock.now(),
        EndReason.COMPLETED,
    )
    await world.store.change_visit(change, [ended])
    family = next(p for p in visit.participants if p.visitor_id)
    assert family.visitor_id
    now_ms = int(world.clock.now() * 1000)
    offer = MakeupOffer(visit.id, visit.facility_id, family.visitor_id, 1_500_000, now_ms)
    added = await world.store.add_makeup_offers([(offer, offer.event(Actor.system("n1"), 20))], 0)
    assert added == 1
    return made


async def test_a_family_takes_its_makeup_visit_once(world: World) -> None:
    """The ended visit's lookup offers a make-up visit; taking it books the chosen slot at
    once (approved, with a link), writes `makeup-taken` naming the original, and marks the
    offer used: a second take is refused with makeup_unavailable and the lookup names the
    make-up visit's code."""
    day = await _open(world)
    made = await ended_with_offer(world, day["slots"][0])
    who = {"code": made["code"], "nik_last4": LAST4}
    status, state = await post(world, "/api/v1/requests/lookup", who)
    assert status == 200 and state["status"] == "ended"
    assert state["makeup"] == {
        "facility_id": world.facility_id,
        "kind": "regular",
        "used_code": None,
    }
    status, taken = await post(
        world, "/api/v1/requests/makeup", {**who, "start_ms": day["slots"][3]}
    )
    assert status == 201, taken
    assert taken["status"] == "approved" and taken["link"].startswith("http")
    assert taken["code"] != made["code"] and taken["start_ms"] == day["slots"][3]
    again = await post(world, "/api/v1/requests/makeup", {**who, "start_ms": day["slots"][4]})
    assert again[0] == 409 and again[1]["error"]["code"] == "makeup_unavailable"
    state = (await post(world, "/api/v1/requests/lookup", who))[1]
    assert state["makeup"]["used_code"] == taken["code"]
    db = world.settings.sqlite_path
    [(visit_id, details)] = rows(
        db, "SELECT visit_id, details FROM audit_events WHERE action = 'makeup-taken'"
    )
    assert details == f'{{"makeup_for":"{made["id"]}"}}'
    [(used,)] = rows(db, "SELECT used_visit_id FROM makeup_offers")
    assert used == visit_id
    approvals = rows(
        db, "SELECT details FROM audit_events WHERE action = 'approved' AND visit_id = ?", (used,)
    )
    assert approvals == [('{"auto":"makeup"}',)]


async def test_the_makeup_visit_counts_against_no_quota(world: World) -> None:
    """With quotas of one visit a week, the family still books an ordinary visit in the week
    of its make-up visit: the make-up one is not counted."""
    day = await _open(world)
    made = await ended_with_offer(world, day["slots"][0])
    who = {"code": made["code"], "nik_last4": LAST4, "start_ms": day["slots"][3]}
    assert (await post(world, "/api/v1/requests/makeup", who))[0] == 201
    status, second = await post(world, "/api/v1/requests", body(world, day["slots"][6]))
    assert status == 201, second


async def test_no_offer_no_makeup(world: World) -> None:
    """A visit without an offer (or a wrong NIK) cannot take one: 409 makeup_unavailable for
    the right person, 404 for a wrong NIK; the lookup shows no offer."""
    day = await _open(world)
    status, made = await post(world, "/api/v1/requests", body(world, day["slots"][0]))
    assert status == 201
    who = {"code": made["code"], "nik_last4": LAST4}
    assert "makeup" not in (await post(world, "/api/v1/requests/lookup", who))[1]
    status, refused = await post(
        world, "/api/v1/requests/makeup", {**who, "start_ms": day["slots"][3]}
    )
    assert status == 409 and refused["error"]["code"] == "makeup_unavailable"
    wrong = {"code": made["code"], "nik_last4": "0000", "start_ms": day["slots"][3]}
    assert (await post(world, "/api/v1/requests/makeup", wrong))[0] == 404


async def test_the_node_offers_on_its_own(world: World) -> None:
    """With a 10-minute rule, the node's own offerer (started with the node, like the
    notifier) offers a make-up visit for a visit whose terminal was away 20 minutes, within
    a few of its polls, and writes `makeup-offered` once."""
    day = await _open(world)
    service = RequestService(world.store, world.clock, FamilyLinks(LINK_KEY))
    await service.set_makeup_after(world.facility_id, 10, Actor("admin", "s_adm"))
    status, made = await post(world, "/api/v1/requests", body(world, day["slots"][0]))
    assert status == 201
    path = f"/api/v1/requests/{made['id']}/approve"
    assert (await post(world, path, None, headers=officer(world)))[0] == 200
    start = day["slots"][0] / 1000
    vid = VisitId(made["id"])

    def ev(action: str, role: str, minute: float) -> AuditEvent:
        actor = "system:n1" if role == "system" else f"{role}_1"
        return AuditEvent(action, role, actor, world.facility_id, vid, {}, start + minute * 60)

    live = VisitChange(vid, VisitStatus.LIVE, frozenset({VisitStatus.SCHEDULED}), start + 60)
    await world.store.change_visit(live, [ev("joined", "terminal", 1)])
    await world.store.append([ev("joined", "family", 1), ev("connected", "system", 1)])
    await world.store.append([ev("left", "terminal", 5)])
    await world.store.append([ev("reconnected", "terminal", 25), ev("connected", "system", 25)])
    end = VisitChange(
        vid, VisitStatus.ENDED, frozenset({VisitStatus.LIVE}), start + 1800, EndReason.COMPLETED
    )
    await world.store.change_visit(end, [ev("ended", "system", 30)])
    for _ in range(20):
        if await world.store.makeup_offer(vid) is not None:
            break
        await world.clock.advance(world.settings.notify_poll_s)
        await asyncio.sleep(0.05)
    offer = await world.store.makeup_offer(vid)
    assert offer is not None and offer.lost_ms == 20 * 60_000
    sql = "SELECT count(*) FROM audit_events WHERE action = 'makeup-offered'"
    assert rows(world.settings.sqlite_path, sql) == [(1,)]


async def test_two_takes_at_once_book_one(world: World) -> None:
    """Two takes of one offer racing for two different times: exactly one is booked, the
    other answers makeup_unavailable (the offer is marked used in the booking's transaction)."""
    day = await _open(world)
    made = await ended_with_offer(world, day["slots"][0])
    who = {"code": made["code"], "nik_last4": LAST4}
    answers = await asyncio.gather(
        *(
            post(world, "/api/v1/requests/makeup", {**who, "start_ms": day["slots"][i]})
            for i in (3, 5)
        )
    )
    assert sorted(status for status, _ in answers) == [201, 409], answers
    refused = next(a for s, a in answers if s == 409)
    assert refused["error"]["code"] == "makeup_unavailable"
    sql = "SELECT count(*) FROM audit_events WHERE action = 'makeup-taken'"
    assert rows(world.settings.sqlite_path, sql) == [(1,)]
    assert rows(world.settings.sqlite_path, "SELECT count(*) FROM visits") == [(2,)]
