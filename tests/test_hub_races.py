"""Edge cases of the hub: restarts, cancellations, seat limits, joins racing their own writes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from services.domain.model import Role, VisitKind, VisitStatus
from services.ids import CLI_ACTOR
from signaling.app import create_app
from tests.helpers.officer import as_officer, officer
from tests.helpers.pair import actions, pair
from tests.helpers.world import Peer, World, make_settings


async def test_a_restart_does_not_end_live_visits_as_no_show(world: World, tmp_path: Path) -> None:
    """A node restarted mid-visit recovers who had joined from the log: the visit goes on and
    returning clients are `resumed`."""
    term, fam, visit_id = await pair(world, length_s=1800)
    await world.advance(700)  # past the join grace
    await term.close()
    await fam.close()
    await world.client.close()  # the node stops
    app = create_app(make_settings(tmp_path), world.clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    world.app, world.client, world.session = app, client, None
    try:
        await world.advance(2)  # the new node's sweeper loads the live visit
        visit = await world.store.get_visit(visit_id)
        assert visit is not None and visit.status is VisitStatus.LIVE
        seat = next(p for p in visit.participants if p.role is Role.FAMILY)
        back = await world.connect(await world.links.participant_token(visit, seat))
        assert (await back.expect("welcome"))["resumed"] is True
    finally:
        if world.session is not None:
            await world.session.close()
            world.session = None
        await client.close()


async def test_cancel_of_an_armed_visit_refuses_later_joins(world: World) -> None:
    """A visit whose room is already loaded (its window is open) and is then cancelled through
    the API admits nobody, and the log shows no join and no second end."""
    visit = await world.schedule(start_in=200)
    await world.hub.sweep()  # the window is open: the sweeper loads and arms the room
    assert visit.visit.id in world.hub.rooms
    resp = await world.client.post(
        f"/api/v1/visits/{visit.visit.id}/cancel", headers=as_officer(world)
    )
    assert resp.status == 200
    assert visit.visit.id not in world.hub.rooms
    late = await world.connect(await world.token(visit, Role.FAMILY))
    assert (await late.expect("error"))["code"] == "visit_over"
    await world.advance(1000)
    log = await actions(world, visit.visit.id)
    assert log == ["scheduled", "cancelled"]


async def test_cancel_from_another_process_is_noticed_by_the_sweeper(world: World) -> None:
    """A visit cancelled in the database by someone else (the CLI) is dropped by the sweeper."""
    visit = await world.schedule(start_in=200)
    await world.hub.sweep()
    assert visit.visit.id in world.hub.rooms
    await world.visits.cancel(visit.visit.id, CLI_ACTOR)
    await world.hub.sweep()
    assert visit.visit.id not in world.hub.rooms
    late = await world.connect(await world.token(visit, Role.FAMILY))
    assert (await late.expect("error"))["code"] == "visit_over"


async def test_officers_never_take_a_participants_seat(world: World) -> None:
    """In an education visit one officer fits; a second is refused and the teacher still joins."""
    visit = await world.schedule(kind=VisitKind.EDUCATION)
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    await term.expect("welcome")
    first = await officer(world, visit.visit.id, "s_1")
    await first.expect("welcome")
    second = await officer(world, visit.visit.id, "s_2")
    assert (await second.expect("error"))["code"] == "visit_full"
    teacher = await world.connect(await world.token(visit, Role.TEACHER))
    assert (await teacher.expect("welcome"))["you"]["role"] == "teacher"


async def test_concurrent_officers_do_not_overfill(world: World) -> None:
    term, fam, visit_id = await pair(world)
    peers = await asyncio.gather(*(officer(world, visit_id, f"s_{i}") for i in range(4)))
    firsts = await asyncio.gather(*(p.recv() for p in peers))
    kinds = sorted(m["type"] for m in firsts)
    assert kinds == ["error", "error", "welcome", "welcome"]


async def test_monitor_offer_without_direction_is_refused(world: World) -> None:
    """No direction attribute means sendrecv: an officer may not send that."""
    term, fam, visit_id = await pair(world)
    mon = await officer(world, visit_id)
    welcome = await mon.expect("welcome")
    target = next(p["id"] for p in welcome["peers"] if p["role"] == "terminal")
    offer = {"sdp": {"type": "offer", "sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}}
    await mon.send({"type": "signal", "to": target, "data": offer})
    assert (await mon.expect("error"))["code"] == "not_allowed"


async def test_officer_connected_does_not_count_as_media(world: World) -> None:
    """Only the visit's own participants can report media up; the media timeout still fires."""
    term, fam, visit_id = await pair(world, media=False)
    mon = await officer(world, visit_id)
    await mon.expect("welcome")
    await mon.send({"type": "connected"})
    await world.advance(121)
    assert (await fam.until("ended"))["reason"] == "failed"


async def test_terminate_of_a_future_visit_is_refused(world: World) -> None:
    visit = await world.schedule(start_in=7 * 86400)
    resp = await world.client.post(
        f"/api/v1/visits/{visit.visit.id}/terminate",
        json={"reason": "too early"},
        headers=as_officer(world),
    )
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "visit_not_open"
    current = await world.store.get_visit(visit.visit.id)
    assert current is not None and current.status is VisitStatus.SCHEDULED


async def test_two_sockets_racing_with_one_token_log_one_join(world: World) -> None:
    """The same link opened twice at once: one `joined`, one `reconnected`, one seat."""
    visit = await world.schedule()
    token = await world.token(visit, Role.FAMILY)
    a, b = await asyncio.gather(world.connect(token), world.connect(token))
    first = await asyncio.gather(a.recv(), b.recv())
    assert sorted(m["resumed"] for m in first) == [False, True]
    await world.hub.tasks.idle()
    log = await actions(world, visit.visit.id)
    assert log.count("joined") == 1 and log.count("reconnected") == 1


async def test_join_whose_socket_drops_during_the_write_takes_no_seat(world: World) -> None:
    """A participant that disconnects while its join is being written is not left as a ghost:
    the seat waits out the grace and the visit ends `hangup`."""
    term, fam, visit_id = await pair(world)
    gate, writing = asyncio.Event(), asyncio.Event()
    store = world.store
    original = store.append

    async def slow_append(events):  # type: ignore[no-untyped-def]
        if events and events[0].action == "reconnected":
            writing.set()
            await gate.wait()
        return await original(events)

    store.append = slow_append  # type: ignore[method-assign]
    await fam.close()
    await term.until("peer-left")
    visit = await world.store.get_visit(visit_id)
    assert visit is not None
    seat = next(p for p in visit.participants if p.role is Role.FAMILY)
    back = await world.connect(await world.links.participant_token(visit, seat))
    await writing.wait()
    await back.close()
    gate.set()
    await asyncio.sleep(0.05)  # the server notices the close and finishes the join: no event
    room = world.hub.rooms[visit_id]
    assert room.seats[seat.id].conn is None
    await world.advance(61)
    assert (await term.until("ended"))["reason"] == "hangup"


async def test_idle_terminal_reconnects_keep_one_wakeup(world: World) -> None:
    """A terminal reconnecting many times while idle leaves one pending wake-up, not many."""
    await world.schedule(start_in=86400)
    before = world.hub.pending_deadlines
    peers: list[Peer] = []
    for _ in range(20):
        peer = await world.connect(
            device={"id": world.creds.terminal_id, "secret": world.creds.secret}
        )
        await peer.until("idle")
        peers.append(peer)
    await asyncio.sleep(0.05)
    assert world.hub.pending_deadlines - before <= 1
