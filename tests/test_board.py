"""The today board's server side: rows that follow a visit through its day as real sockets join,
"inmate ready" told to the family page, alerts on the hand-driven clock, facility scope."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from services.audit.query import AuditQuery
from services.clock import FakeClock
from services.domain.model import Role
from signaling.app import LINKS, create_app
from tests.helpers.board import alert_kinds, read_board, row
from tests.helpers.officer import as_officer
from tests.helpers.world import Peer, World, build_world


def _officer(world: World) -> dict[str, str]:
    return as_officer(world, "s_board", facility=world.facility_id)


async def _device(world: World, agent: str = "tatap-terminal/9.9") -> Peer:
    """The world's terminal logged in with its device credentials."""
    creds = world.creds
    return await world.connect(
        device={"id": creds.terminal_id, "secret": creds.secret, "agent": agent}
    )


async def _ready(world: World, visit_id: str, headers: dict[str, str]) -> Any:
    return await world.client.post(f"/api/v1/visits/{visit_id}/ready", headers=headers)


async def test_a_visit_moves_through_the_board_states_as_its_people_arrive(world: World) -> None:
    """scheduled → inmate_ready → family_waiting → live → ended, each read from the board while
    a real terminal and a real family socket join, with the terminal's session beside it."""
    headers = _officer(world)
    visit = await world.schedule(start_in=600)
    vid = visit.visit.id
    board = await read_board(world, headers)
    assert board["facility"]["id"] == world.facility_id
    assert board["facility"]["timezone"] == "Asia/Jakarta"
    assert row(board, vid)["state"] == "scheduled"
    assert row(board, vid)["inmate_number"] == "B-1234"
    assert row(board, vid)["inmate_name"] == "Budi"
    assert row(board, vid)["inmate_block"] == "A"  # for the printed schedule
    assert row(board, vid)["family_name"] == "Siti"
    (room,) = board["rooms"]
    (terminal,) = room["terminals"]
    assert terminal["online"] is False and terminal["last_seen_ms"] is None

    device = await _device(world)
    await device.expect("idle")  # its visit is not open yet
    board = await read_board(world, headers)
    (terminal,) = board["rooms"][0]["terminals"]
    assert terminal["online"] is True and terminal["agent"] == "tatap-terminal/9.9"
    assert terminal["visit_id"] is None

    resp = await _ready(world, vid, headers)
    assert resp.status == 200, await resp.text()
    assert row(await read_board(world, headers), vid)["state"] == "inmate_ready"

    await world.advance(600)  # the visit's window opens: the terminal is seated in it
    await device.until("welcome")
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    await fam.expect("welcome")
    board = await read_board(world, headers)
    line = row(board, vid)
    assert line["state"] == "family_waiting"
    assert line["terminal_present"] and line["family_present"]
    assert line["family_waiting_since_ms"] == int(world.clock.now() * 1000)
    assert board["rooms"][0]["terminals"][0]["visit_id"] == vid

    for peer in (device, fam):
        await peer.send({"type": "connected"})
        await peer.send({"type": "ping", "id": 1})
        await peer.until("pong")
    line = row(await read_board(world, headers), vid)
    assert line["state"] == "live"
    assert line["end_ms"] == int(visit.visit.end * 1000)  # the countdown's end

    await fam.send({"type": "leave"})
    await fam.closed()
    await device.until("idle")  # the end is on record and the terminal waits for the next
    line = row(await read_board(world, headers), vid)
    assert (line["state"], line["end_reason"]) == ("ended", "hangup")


async def test_ready_is_audited_once_with_the_officer_and_told_to_the_family(
    world: World,
) -> None:
    """The family's page hears `inmate-ready`, at once and on joining later; a second press
    keeps the first time and writes nothing; the audit row names the officer."""
    headers = _officer(world)
    visit = await world.schedule()
    vid = visit.visit.id
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    await fam.expect("welcome")

    first = await _ready(world, vid, headers)
    assert first.status == 200
    marked = await first.json()
    told = await fam.until("inmate-ready")
    assert told["at_ms"] == marked["ready_ms"] == int(world.clock.now() * 1000)

    await world.advance(30)
    again = await _ready(world, vid, headers)
    assert (await again.json())["ready_ms"] == marked["ready_ms"]
    rows = await world.store.audit_search(AuditQuery(visit_id=vid, action="inmate-ready"))
    assert [(r.actor_role, r.actor_id) for r in rows] == [("officer", "s_board")]

    await fam.close()  # a page reloaded: its new socket is told again after its welcome
    back = await world.connect(await world.token(visit, Role.FAMILY))
    await back.expect("welcome")
    assert (await back.until("inmate-ready"))["at_ms"] == marked["ready_ms"]
    stored = await world.store.get_visit(vid)
    assert stored is not None and stored.ready_at == marked["ready_ms"] / 1000


async def test_ready_is_refused_for_a_cancelled_visit(world: World) -> None:
    """A visit called off cannot have its inmate brought: 409, and nothing on record."""
    headers = _officer(world)
    visit = await world.schedule(start_in=3600)
    vid = visit.visit.id
    resp = await world.client.post(f"/api/v1/visits/{vid}/cancel", headers=headers, json={})
    assert resp.status == 200, await resp.text()
    refused = await _ready(world, vid, headers)
    assert refused.status == 409
    assert (await refused.json())["error"]["code"] == "conflict"
    rows = await world.store.audit_search(AuditQuery(visit_id=vid, action="inmate-ready"))
    assert rows == []
    assert row(await read_board(world, headers), vid)["state"] == "cancelled"


async def test_alerts_come_and_go_with_the_clock(world: World) -> None:
    """Not ready 10 minutes before the start, a family waiting more than 5 minutes, and a
    terminal offline: each appears when it holds, and the ready alert goes once ready."""
    headers = _officer(world)
    visit = await world.schedule(start_in=900)
    vid = visit.visit.id
    kinds = alert_kinds(await read_board(world, headers))
    assert ("terminal_offline", None) in kinds
    assert ("not_ready", vid) not in kinds  # 15 minutes ahead: not yet
    assert row(await read_board(world, headers), vid)["ready_due_ms"] == int(
        (visit.visit.start - 600) * 1000
    )

    await world.advance(301)  # 9 min 59 s before the start
    assert ("not_ready", vid) in alert_kinds(await read_board(world, headers))

    await world.advance(599)  # the window is open; the family comes, the terminal does not
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    await fam.expect("welcome")
    await world.advance(299)
    kinds = alert_kinds(await read_board(world, headers))
    assert ("family_waiting", vid) not in kinds
    await world.advance(2)
    kinds = alert_kinds(await read_board(world, headers))
    assert ("family_waiting", vid) in kinds and ("not_ready", vid) in kinds

    assert (await _ready(world, vid, headers)).status == 200
    kinds = alert_kinds(await read_board(world, headers))
    assert ("not_ready", vid) not in kinds and ("family_waiting", vid) in kinds


async def test_another_facilitys_officer_sees_nothing(world: World) -> None:
    """The board, its feed and "ready" of a facility are 404 to an officer of another."""
    visit = await world.schedule()
    other = as_officer(world, "s_elsewhere", facility="f_other")
    for path in ("/api/v1/board", "/api/v1/board/events"):
        resp = await world.client.get(path, params={"facility": world.facility_id}, headers=other)
        assert resp.status == 404, path
    resp = await _ready(world, visit.visit.id, other)
    assert resp.status == 404
    own = await world.client.get("/api/v1/board", headers=other)  # its own: no such facility
    assert own.status == 404


async def test_board_refuses_bad_input(world: World) -> None:
    """A date that is not YYYY-MM-DD is 400; no token is 401; a family's token is refused."""
    headers = _officer(world)
    for bad in ("2027-1-5", "tomorrow", "2027-02-30", "x" * 100):
        resp = await world.client.get(
            "/api/v1/board", params={"facility": world.facility_id, "date": bad}, headers=headers
        )
        assert resp.status == 400, bad
    assert (await world.client.get("/api/v1/board")).status == 401
    visit = await world.schedule()
    family = {"Authorization": f"Bearer {await world.token(visit, Role.FAMILY)}"}
    resp = await world.client.get(
        "/api/v1/board", params={"facility": world.facility_id}, headers=family
    )
    assert resp.status in (401, 403)


async def test_another_date_shows_that_days_visits(world: World) -> None:
    """`date` picks the day in the facility's time zone; today's visits are not on tomorrow's."""
    headers = _officer(world)
    today = await world.schedule(start_in=60)
    tomorrow = await world.schedule(start_in=86_400)
    board = await read_board(world, headers)
    ids = {v["id"] for v in board["visits"]}
    assert today.visit.id in ids and tomorrow.visit.id not in ids
    date = dt.date.fromisoformat(board["date"]) + dt.timedelta(days=1)
    later = await read_board(world, headers, date=date.isoformat())
    assert [v["id"] for v in later["visits"]] == [tomorrow.visit.id]


async def test_a_terminal_with_a_bad_agent_version_is_refused(world: World) -> None:
    """`device.agent` must be short printable text: anything else is a bad hello."""
    device = await _device(world, agent="x\n" * 10)
    error = await device.until("error")
    assert error["code"] == "bad_message"


async def test_ready_survives_a_restart_of_the_node(tmp_path: Path) -> None:
    """Marked ready, then the node stops and a new one opens the same database: the board
    still says inmate_ready, and a family joining the new node is told."""
    clock = FakeClock()
    async for world in build_world(tmp_path, clock=clock):
        headers = _officer(world)
        visit = await world.schedule(start_in=60)
        assert (await _ready(world, visit.visit.id, headers)).status == 200
        settings, facility_id = world.settings, world.facility_id
    app = create_app(settings, clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        resp = await client.get("/api/v1/board", params={"facility": facility_id}, headers=headers)
        board = await resp.json()
        assert row(board, visit.visit.id)["state"] == "inmate_ready"
        family = next(p for p in visit.visit.participants if p.role is Role.FAMILY)
        token = await app[LINKS].participant_token(visit.visit, family)
        async with client.ws_connect("/ws") as ws:
            await ws.send_json({"type": "hello", "token": token})
            kinds = []
            while "inmate-ready" not in kinds:
                kinds.append((await ws.receive_json(timeout=5))["type"])
            assert kinds[0] == "welcome"
    finally:
        await client.close()


async def test_a_family_that_reconnects_has_waited_since_it_first_came(world: World) -> None:
    """A dropped family back within its grace keeps its waiting time: the alert is not reset."""
    headers = _officer(world)
    visit = await world.schedule()
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    await fam.expect("welcome")
    first = int(world.clock.now() * 1000)
    await world.advance(200)
    await fam.close()
    await world.advance(10)
    back = await world.connect(await world.token(visit, Role.FAMILY))
    await back.expect("welcome")
    await world.advance(100)
    board = await read_board(world, headers)
    assert row(board, visit.visit.id)["family_waiting_since_ms"] == first
    assert ("family_waiting", visit.visit.id) in alert_kinds(board)
