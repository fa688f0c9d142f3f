"""Dropped participants: the seat is kept for the reconnect grace, and the end time never moves."""

from __future__ import annotations

from services.domain.model import Role
from tests.helpers.pair import actions, pair
from tests.helpers.world import Peer, World


async def next_of(peer: Peer, kind: str) -> dict[str, object]:
    while True:
        msg = await peer.recv()
        if msg["type"] == kind:
            return msg


async def test_reconnect_within_grace_resumes_with_the_same_end(world: World) -> None:
    """A family that drops and comes back within the grace gets its seat, resumed, same end."""
    visit = await world.schedule(length_s=600)
    token = await world.token(visit, Role.FAMILY)
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    await term.expect("welcome")
    fam = await world.connect(token)
    first = await fam.expect("welcome")
    await fam.send({"type": "connected"})
    await term.expect("peer-joined")
    await term.send({"type": "connected"})
    await world.advance(100)
    await fam.close()
    left = await next_of(term, "peer-left")
    assert left["reason"] == "dropped"
    await world.advance(59)
    again = await world.connect(token)
    welcome = await again.expect("welcome")
    assert welcome["resumed"] is True
    assert welcome["visit"]["end_ms"] == first["visit"]["end_ms"]
    assert (await again.recv())["remaining_ms"] == 441_000
    joined = await next_of(term, "peer-joined")
    assert joined["resumed"] is True
    await world.advance(5)  # past the first grace: nothing ends, the seat is taken again
    assert not [m for m in term.seen if m["type"] == "ended"]
    log = await actions(world, visit.visit.id)
    assert log.count("left") == 1 and log.count("reconnected") == 1


async def test_no_reconnect_within_grace_ends_hangup(world: World) -> None:
    """A dropped family that does not return within the grace ends the visit `hangup`."""
    term, fam, visit_id = await pair(world)
    await fam.close()
    await next_of(term, "peer-left")
    await world.advance(59)
    assert not [m for m in term.seen if m["type"] == "ended"]
    await world.advance(1.5)
    assert (await next_of(term, "ended"))["reason"] == "hangup"
    assert await term.closed() == 4000


async def test_leave_ends_hangup_at_once(world: World) -> None:
    """The hang-up button (`leave`) ends the visit for everyone immediately."""
    term, fam, _ = await pair(world)
    await fam.send({"type": "leave"})
    assert (await next_of(term, "ended"))["reason"] == "hangup"
    assert (await next_of(fam, "ended"))["reason"] == "hangup"


async def test_same_participant_twice_replaces_the_older_socket(world: World) -> None:
    """A second tab with the same link takes the seat; the first socket is closed 4001."""
    visit = await world.schedule()
    token = await world.token(visit, Role.FAMILY)
    first = await world.connect(token)
    await first.expect("welcome")
    second = await world.connect(token)
    assert (await second.expect("welcome"))["resumed"] is True
    assert await first.closed() == 4001
    # The replaced socket closing is not a departure: no grace timer runs for the seat.
    await world.advance(120)
    assert not [m for m in second.seen if m["type"] == "ended"]


async def test_reconnect_after_the_end_is_refused(world: World) -> None:
    """Once the visit has ended, the same token gets `visit_over` and close 4410."""
    term, fam, visit_id = await pair(world, length_s=60)
    await world.advance(60)
    await next_of(fam, "ended")
    visit = await world.store.get_visit(visit_id)
    assert visit is not None
    seat = next(p for p in visit.participants if p.role is Role.FAMILY)
    late = await world.connect(await world.links.participant_token(visit, seat))
    err = await late.expect("error")
    assert err["code"] == "visit_over"
    assert await late.closed() == 4410


async def test_a_silent_client_is_dropped_and_its_seat_waits(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A client that stops answering pings (a phone that lost its network, no FIN) is dropped
    by the keepalive; the others see it leave and its reconnect grace starts."""

    from tests.helpers.world import build_world

    async for world in build_world(tmp_path, ping_idle_s=0.3, ping_interval_s=0.1):
        term, fam, _ = await pair(world)
        # A second family socket that never answers pings takes the seat over.
        visit = await world.store.get_visit(term.seen[0]["visit"]["id"])
        assert visit is not None
        seat = next(p for p in visit.participants if p.role is Role.FAMILY)
        token = await world.links.participant_token(visit, seat)
        assert world.session is not None
        mute = await world.session.ws_connect(
            world.client.make_url(f"/ws?token={token}"), autoping=False
        )
        await term.until("peer-joined")
        left = await term.until("peer-left", timeout=5)
        assert left["reason"] == "dropped"
        await mute.close()
