"""The live wall's protocol on the server (PROTOCOL.md §3, §4, §7): officers negotiate with the
terminal only, `mute` is an officer's typed, audited message whose state every newcomer and a
restarted node get, and a terminate needs a reason."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
from aiohttp.test_utils import TestClient, TestServer

from services.audit.query import AuditQuery
from services.domain.model import Role
from signaling.app import create_app
from tests.helpers.officer import as_officer, officer
from tests.helpers.pair import actions, pair
from tests.helpers.world import Peer, World, make_settings

RECVONLY = {"sdp": {"type": "offer", "sdp": "v=0\r\nm=video 9 x\r\na=recvonly\r\n"}}
ANSWER = {"sdp": {"type": "answer", "sdp": "v=0\r\nm=video 9 x\r\na=sendonly\r\n"}}


async def _monitor(world: World, visit_id: str, staff_id: str = "s_officer") -> Peer:
    mon = await officer(world, visit_id, staff_id)
    await mon.expect("welcome")
    return mon


def _ids(welcome: dict[str, Any]) -> dict[str, str]:
    return {p["role"]: p["id"] for p in welcome["peers"]}


async def _rows(world: World, visit_id: str, action: str) -> list[Any]:
    await world.hub.tasks.idle()
    found = await world.store.audit_search(AuditQuery(visit_id=visit_id, limit=1000))
    return [r for r in found if r.action == action]


async def test_officer_signals_reach_the_terminal_only(world: World) -> None:
    """An officer's signal to the family is refused (`not_allowed`), the family's to the officer
    too; officer → terminal and terminal → officer are relayed."""
    term, fam, visit_id = await pair(world)
    mon = await officer(world, visit_id)
    peers = _ids(await mon.expect("welcome"))
    joined = await fam.expect("peer-joined")
    mon_id = joined["peer"]["id"]
    await mon.send({"type": "signal", "to": peers["family"], "data": RECVONLY})
    assert (await mon.expect("error"))["code"] == "not_allowed"
    await fam.send({"type": "signal", "to": mon_id, "data": ANSWER})
    assert (await fam.expect("error"))["code"] == "not_allowed"
    await fam.send({"type": "signal", "to": mon_id, "data": {"candidate": None}})
    assert (await fam.expect("error"))["code"] == "not_allowed"
    await mon.send({"type": "signal", "to": peers["terminal"], "data": RECVONLY})
    got = await term.until("signal")
    assert got["from"] == mon_id and got["data"] == RECVONLY
    await term.send({"type": "signal", "to": mon_id, "data": ANSWER})
    assert (await mon.until("signal"))["data"] == ANSWER
    await fam.send({"type": "ping", "id": 7})
    assert (await fam.expect("pong"))["id"] == 7  # nothing relayed to the family meanwhile


async def test_mute_is_told_to_everyone_and_audited(world: World) -> None:
    """An officer's `mute` reaches everyone in the visit as `muted` once its audit event (the
    officer as actor, `{side, muted}`) is on disk; unmuting is told and audited the same way."""
    term, fam, visit_id = await pair(world)
    mon = await _monitor(world, visit_id, "s_wall")
    await mon.send({"type": "mute", "side": "family", "muted": True})
    for peer in (term, fam, mon):
        assert await peer.until("muted") == {"type": "muted", "side": "family", "muted": True}
    await mon.send({"type": "mute", "side": "family", "muted": False})
    for peer in (term, fam, mon):
        assert await peer.until("muted") == {"type": "muted", "side": "family", "muted": False}
    rows = await _rows(world, visit_id, "muted")
    assert [(r.actor_role, r.actor_id) for r in rows] == [("officer", "officer:s_wall")] * 2
    assert [orjson.loads(r.details) for r in rows] == [
        {"side": "family", "muted": True},
        {"side": "family", "muted": False},
    ]


async def test_hostile_mutes_get_typed_errors_and_change_nothing(world: World) -> None:
    """A bad side, a non-boolean `muted`, a missing field: `bad_message`; a family's or the
    terminal's mute: `not_allowed`. None is told, audited or kept."""
    term, fam, visit_id = await pair(world)
    mon = await _monitor(world, visit_id)
    for bad in (
        {"type": "mute", "side": "officer", "muted": True},
        {"type": "mute", "side": ["family"], "muted": True},
        {"type": "mute", "side": "family", "muted": "true"},
        {"type": "mute", "side": "family", "muted": 1},
        {"type": "mute", "side": "inmate"},
    ):
        await mon.send(bad)
        assert (await mon.expect("error"))["code"] == "bad_message"
    for sender in (fam, term):
        await sender.send({"type": "mute", "side": "inmate", "muted": True})
        assert (await sender.until("error"))["code"] == "not_allowed"
    assert await _rows(world, visit_id, "muted") == []
    assert world.hub.rooms[visit_id].muted == set()
    await fam.send({"type": "ping", "id": 1})
    assert (await fam.expect("pong"))["id"] == 1  # no `muted` came before the answer


async def test_muted_follows_every_welcome(world: World) -> None:
    """A family, terminal or officer (re)joining a visit with a side muted gets `muted` for it
    right after its `welcome` and `time`."""
    term, fam, visit_id = await pair(world)
    mon = await _monitor(world, visit_id)
    await mon.send({"type": "mute", "side": "inmate", "muted": True})
    await fam.until("muted")
    await fam.close()
    visit = await world.store.get_visit(visit_id)
    assert visit is not None
    seat = next(p for p in visit.participants if p.role is Role.FAMILY)
    back = await world.connect(await world.links.participant_token(visit, seat))
    assert (await back.recv())["type"] == "welcome"
    assert (await back.recv())["type"] == "time"
    assert await back.recv() == {"type": "muted", "side": "inmate", "muted": True}
    second = await officer(world, visit_id, "s_second")
    assert (await second.recv())["type"] == "welcome"
    assert (await second.recv())["type"] == "time"
    assert (await second.recv())["side"] == "inmate"


async def test_mute_state_survives_a_node_restart(world: World, tmp_path: Path) -> None:
    """A restarted node recovers each side's last `muted` from the audit log: the family muted
    then unmuted and the inmate muted read back as just the inmate muted."""
    term, fam, visit_id = await pair(world, length_s=1800)
    mon = await _monitor(world, visit_id)
    for side, muted in (("family", True), ("inmate", True), ("family", False)):
        await mon.send({"type": "mute", "side": side, "muted": muted})
        await fam.until("muted")
    for peer in (term, fam, mon):
        await peer.close()
    await world.hub.tasks.idle()
    await world.client.close()  # the node stops
    app = create_app(make_settings(tmp_path), world.clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    world.app, world.client, world.session = app, client, None
    try:
        visit = await world.store.get_visit(visit_id)
        assert visit is not None
        seat = next(p for p in visit.participants if p.role is Role.FAMILY)
        back = await world.connect(await world.links.participant_token(visit, seat))
        assert (await back.recv())["resumed"] is True
        assert (await back.recv())["type"] == "time"
        assert await back.recv() == {"type": "muted", "side": "inmate", "muted": True}
        await back.send({"type": "ping", "id": 2})
        assert (await back.recv()) == {"type": "pong", "id": 2}  # and not the family's
    finally:
        if world.session is not None:
            await world.session.close()
            world.session = None
        await client.close()


async def test_terminate_needs_a_reason(world: World) -> None:
    """A `terminate` without a reason, or a blank one, is `bad_message` naming `reason` and the
    visit goes on; with one, everyone gets `ended: terminated` and the audit holds the reason
    and the officer."""
    term, fam, visit_id = await pair(world)
    mon = await _monitor(world, visit_id, "s_ender")
    for bad in ({"type": "terminate"}, {"type": "terminate", "reason": "   "}):
        await mon.send(bad)
        error = await mon.expect("error")
        assert error["code"] == "bad_message" and "`reason`" in error["message"]
    await mon.send({"type": "terminate", "reason": "x" * 501})
    assert (await mon.expect("error"))["code"] == "bad_message"
    assert "terminated" not in await actions(world, visit_id)
    await mon.send({"type": "terminate", "reason": "perilaku " + "y" * 400})
    for peer in (term, fam, mon):
        assert (await peer.until("ended"))["reason"] == "terminated"
    [row] = await _rows(world, visit_id, "terminated")
    assert (row.actor_role, row.actor_id) == ("officer", "officer:s_ender")
    assert orjson.loads(row.details) == {"note": ("perilaku " + "y" * 400)[:200]}


async def test_rest_terminate_needs_a_reason(world: World) -> None:
    """`POST /terminate` without a body, without `reason` or with a blank one is a typed 400 and
    the visit goes on; with a reason it ends `terminated`, recorded with the officer."""
    term, fam, visit_id = await pair(world)
    path = f"/api/v1/visits/{visit_id}/terminate"
    headers = as_officer(world, "s_rest")
    for body in (None, {}, {"reason": ""}, {"reason": " \t"}, {"reason": "z" * 501}):
        resp = await world.client.post(path, json=body, headers=headers)
        assert resp.status == 400
        error = (await resp.json())["error"]
        assert error["code"] == "bad_request" and "`reason`" in error["message"]
    assert "terminated" not in await actions(world, visit_id)
    resp = await world.client.post(path, json={"reason": "keributan"}, headers=headers)
    assert resp.status == 202
    assert (await fam.until("ended"))["reason"] == "terminated"
    [row] = await _rows(world, visit_id, "terminated")
    assert (row.actor_id, orjson.loads(row.details)) == ("s_rest", {"note": "keributan"})


async def test_a_mute_that_cannot_be_written_changes_nothing(world: World) -> None:
    """A `mute` whose audit event fails to be written is `not_recorded` to the officer; nobody
    hears `muted` and the room keeps nothing; sent again, it goes through."""
    term, fam, visit_id = await pair(world)
    mon = await _monitor(world, visit_id)
    append = world.store.append

    async def failing(events: Any) -> Any:
        if any(e.action == "muted" for e in events):
            raise sqlite3.OperationalError("disk I/O error")
        return await append(events)

    world.store.append = failing  # type: ignore[method-assign]
    await mon.send({"type": "mute", "side": "family", "muted": True})
    assert (await mon.until("error"))["code"] == "not_recorded"
    assert world.hub.rooms[visit_id].muted == set()
    assert not any(m["type"] == "muted" for m in await _drain(fam))
    world.store.append = append  # type: ignore[method-assign]
    await mon.send({"type": "mute", "side": "family", "muted": True})
    assert (await fam.until("muted"))["muted"] is True
    assert world.hub.rooms[visit_id].muted == {"family"}


async def _drain(peer: Peer) -> list[dict[str, Any]]:
    """What the peer got until a ping's answer (nothing is left unread before it)."""
    await peer.send({"type": "ping", "id": "drain"})
    got = []
    while (msg := await peer.recv())["type"] != "pong":
        got.append(msg)
    return got
