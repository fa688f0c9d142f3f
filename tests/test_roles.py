"""Officers monitor silently, send notices and terminate; seats are limited; terminals wait idle."""

from __future__ import annotations

from services.domain.model import Role
from tests.helpers.officer import as_officer, officer
from tests.helpers.pair import actions, pair
from tests.helpers.world import World


async def test_officer_monitors_and_terminates(world: World) -> None:
    """The monitor sees the others, they see it join; its terminate ends the visit `terminated`."""
    term, fam, visit_id = await pair(world)
    mon = await officer(world, visit_id)
    welcome = await mon.expect("welcome")
    assert sorted(p["role"] for p in welcome["peers"]) == ["family", "terminal"]
    assert (await fam.expect("peer-joined"))["peer"]["role"] == "officer"
    await mon.send({"type": "notice", "code": "dress_code"})
    assert (await fam.expect("notice"))["code"] == "dress_code"
    await mon.send({"type": "terminate", "reason": "rules broken"})
    for peer in (term, fam, mon):
        assert (await peer.until("ended"))["reason"] == "terminated"
    await world.hub.tasks.idle()
    log = await actions(world, visit_id)
    assert log[-3:] == ["notice", "terminated", "ended"]
    assert "monitor-joined" in log


async def test_monitor_may_not_send_media(world: World) -> None:
    """An officer's offer that would send media is refused; a receive-only one is relayed."""
    term, fam, visit_id = await pair(world)
    mon = await officer(world, visit_id)
    welcome = await mon.expect("welcome")
    target = next(p["id"] for p in welcome["peers"] if p["role"] == "terminal")
    sending = {"sdp": {"type": "offer", "sdp": "v=0\r\nm=video 9 x\r\na=sendrecv\r\n"}}
    await mon.send({"type": "signal", "to": target, "data": sending})
    assert (await mon.expect("error"))["code"] == "not_allowed"
    receiving = {"sdp": {"type": "offer", "sdp": "v=0\r\nm=video 9 x\r\na=recvonly\r\n"}}
    await mon.send({"type": "signal", "to": target, "data": receiving})
    await term.expect("peer-joined")
    assert (await term.expect("signal"))["data"] == receiving


async def test_rest_terminate_ends_the_visit(world: World) -> None:
    """An officer ending a visit through the API ends it for everyone in the room."""
    term, fam, visit_id = await pair(world)
    resp = await world.client.post(
        f"/api/v1/visits/{visit_id}/terminate",
        json={"reason": "test"},
        headers=as_officer(world),
    )
    assert resp.status == 202
    assert (await fam.expect("ended"))["reason"] == "terminated"


async def test_a_fifth_participant_is_refused(world: World) -> None:
    """Four seats at most: terminal, family and two officers fill a regular visit."""
    term, fam, visit_id = await pair(world)
    first, second = await officer(world, visit_id, "s_1"), await officer(world, visit_id, "s_2")
    await first.expect("welcome")
    await second.expect("welcome")
    third = await officer(world, visit_id, "s_3")
    assert (await third.expect("error"))["code"] == "visit_full"
    assert await third.closed() == 4409


async def test_terminal_device_session_waits_then_serves(world: World) -> None:
    """A terminal logged in with its credentials idles until its visit opens, then is seated,
    and after the end goes back to idle on the same socket."""
    visit = await world.schedule(start_in=900, length_s=300)
    term = await world.connect(device={"id": world.creds.terminal_id, "secret": world.creds.secret})
    idle = await term.expect("idle")
    assert idle["next"]["id"] == visit.visit.id
    await world.advance(900 - 300 + 1.5)  # the window opens 5 min early; the sweeper notices
    welcome = await term.expect("welcome")
    assert welcome["visit"]["id"] == visit.visit.id and welcome["you"]["role"] == "terminal"
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    await fam.expect("welcome")
    await fam.send({"type": "connected"})
    await term.send({"type": "connected"})
    await world.advance(300 + 300)
    assert (await term.until("ended"))["reason"] == "completed"
    assert (await term.until("idle"))["next"] is None
    await term.send({"type": "ping"})
    await term.expect("pong")


async def test_terminal_with_a_wrong_secret_is_refused(world: World) -> None:
    term = await world.connect(device={"id": world.creds.terminal_id, "secret": "nope"})
    assert (await term.expect("error"))["code"] == "unauthorized"
    assert await term.closed() == 4401


async def test_too_early_is_refused_with_the_start(world: World) -> None:
    """Joining more than 5 minutes before the start gets `visit_not_open` with the start time."""
    visit = await world.schedule(start_in=3600)
    peer = await world.connect(await world.token(visit, Role.FAMILY))
    err = await peer.expect("error")
    assert err["code"] == "visit_not_open"
    assert err["details"]["start_ms"] == int(visit.visit.start * 1000)
    assert await peer.closed() == 4425


async def test_metrics_show_what_the_node_holds(world: World) -> None:
    """/metrics counts rooms and connected participants in Prometheus text."""
    term, fam, _ = await pair(world)  # kept: a dropped client socket would close
    text = await (await world.client.get("/metrics")).text()
    assert 'tatap_rooms{node="node-test"} 1' in text
    assert 'tatap_participants_connected{node="node-test"} 2' in text


async def test_monitor_cannot_hide_a_direction_behind_a_vertical_tab(world: World) -> None:
    """`a=x-note:1\\x0ba=recvonly` is one line to a browser (so the section sends): refused with
    `bad_message` and not relayed; the socket stays open."""
    term, fam, visit_id = await pair(world)
    mon = await officer(world, visit_id)
    welcome = await mon.expect("welcome")
    target = next(p["id"] for p in welcome["peers"] if p["role"] == "terminal")
    await term.expect("peer-joined")
    hidden = {"sdp": {"type": "offer", "sdp": "v=0\r\nm=video 9 x\r\na=x-note:1\x0ba=recvonly\r\n"}}
    await mon.send({"type": "signal", "to": target, "data": hidden})
    assert (await mon.expect("error"))["code"] == "bad_message"
    await mon.send({"type": "ping", "id": 2})
    assert (await mon.expect("pong"))["id"] == 2
    await term.send({"type": "ping", "id": 3})
    assert (await term.expect("pong"))["id"] == 3  # nothing was relayed before the pong
