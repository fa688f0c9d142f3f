"""Time limits enforced by the server, driven by a hand-moved clock."""

from __future__ import annotations

import asyncio

from services.domain.model import Role, VisitKind, VisitStatus
from tests.helpers.pair import actions, pair
from tests.helpers.world import Peer, World


async def wait_status(world: World, visit_id: str, status: VisitStatus) -> None:
    """Poll: an end no client hears of (no_show) is written after scheduler and sweeper turns
    the test cannot await."""
    async with asyncio.timeout(5):
        while (v := await world.store.get_visit(visit_id)) is None or v.status is not status:
            await asyncio.sleep(0.01)


async def test_time_is_sent_on_join_and_periodically(world: World) -> None:
    """`time` follows the welcome with the full remaining time, then comes every interval."""
    visit = await world.schedule(length_s=600)
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    await fam.expect("welcome")
    first = await fam.recv()
    assert first["type"] == "time" and first["remaining_ms"] == 600_000
    assert first["end_ms"] == int(visit.visit.end * 1000)
    await world.advance(30)
    tick = await fam.expect("time")
    assert tick["remaining_ms"] == 570_000


async def test_warnings_come_at_the_facility_points(world: World) -> None:
    """Warnings arrive 5 min and 1 min before the end, not earlier, and are audited."""
    term, fam, visit_id = await pair(world, length_s=600)
    await world.advance(299)  # 301 s left: no warning yet
    assert not [m for m in fam.seen if m["type"] == "warning"]
    await world.advance(1)
    warning = await fam.expect("warning")
    assert warning["remaining_ms"] == 300_000
    await world.advance(240)
    warning = await fam.expect("warning")
    assert warning["remaining_ms"] == 60_000
    assert (await term.expect("warning"))["remaining_ms"] == 300_000
    await world.hub.tasks.idle()
    assert (await actions(world, visit_id)).count("warned") == 2


async def test_visit_ends_completed_at_the_scheduled_end(world: World) -> None:
    """At the end everyone gets `ended: completed`, sockets close with 4000, the log says so."""
    term, fam, visit_id = await pair(world, length_s=120)
    await world.advance(119.9)
    assert not [m for m in fam.seen if m["type"] == "ended"]
    await world.advance(0.1)
    for peer in (term, fam):
        assert (await peer.expect("ended"))["reason"] == "completed"
        assert await peer.closed() == 4000
    await world.hub.tasks.idle()  # the end, spawned as the sockets closed, is written
    visit = await world.store.get_visit(visit_id)
    assert visit is not None and visit.status is VisitStatus.ENDED
    assert visit.end_reason is not None
    assert visit.end_reason.value == "completed"
    log = await actions(world, visit_id)
    assert log[0] == "scheduled" and log[-1] == "ended"
    assert log.count("joined") == 2


async def test_late_start_does_not_extend_the_end(world: World) -> None:
    """A visit joined 5 minutes late still ends at its scheduled end."""
    visit = await world.schedule(length_s=600)
    await world.advance(300)
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    await term.expect("welcome")
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    welcome = await fam.expect("welcome")
    assert welcome["visit"]["end_ms"] == int(visit.visit.end * 1000)
    assert (await fam.recv())["remaining_ms"] == 300_000
    await fam.send({"type": "connected"})
    await term.send({"type": "connected"})
    await world.advance(299.9)
    assert not [m for m in fam.seen if m["type"] == "ended"]
    await world.advance(0.1)
    assert (await _next_ended(fam))["reason"] == "completed"


async def test_short_visit_with_one_side_ends_no_show(world: World) -> None:
    """A visit shorter than the join grace still ends `no_show` if only one side came."""
    visit = await world.schedule(length_s=300)
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    await fam.expect("welcome")
    await world.advance(300)
    assert (await _next_ended(fam))["reason"] == "no_show"


async def test_short_visit_without_media_ends_failed(world: World) -> None:
    """Both sides in but media never up, and the end comes before the media timeout: `failed`."""
    term, fam, _ = await pair(world, length_s=90, media=False)
    await world.advance(90)
    assert (await _next_ended(fam))["reason"] == "failed"


async def _next_ended(peer: Peer) -> dict[str, object]:
    while True:
        msg = await peer.recv()
        if msg["type"] == "ended":
            return msg


async def test_nobody_joins_ends_no_show(world: World) -> None:
    """A visit nobody joins ends `no_show` once the join grace has passed."""
    visit = await world.schedule(length_s=1800)
    await world.advance(1.5)  # the sweeper arms the visit
    await world.advance(597.5)  # one second short of the grace
    current = await world.store.get_visit(visit.visit.id)
    assert current is not None and current.status is VisitStatus.SCHEDULED
    await world.advance(2)
    await wait_status(world, visit.visit.id, VisitStatus.ENDED)
    current = await world.store.get_visit(visit.visit.id)
    assert current is not None and current.end_reason is not None
    assert current.end_reason.value == "no_show"


async def test_one_side_only_ends_no_show(world: World) -> None:
    """The terminal waiting alone past the join grace gets `ended: no_show`."""
    visit = await world.schedule(length_s=1800)
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    await term.expect("welcome")
    await world.advance(601)
    assert (await _next_ended(term))["reason"] == "no_show"


async def test_media_never_connecting_ends_failed(world: World) -> None:
    """Both sides in, but nobody reports media up within the timeout: `ended: failed`."""
    term, fam, _ = await pair(world, length_s=900, media=False)
    await world.advance(121)
    assert (await _next_ended(fam))["reason"] == "failed"


async def test_media_up_is_recorded_once_and_stops_the_timeout(world: World) -> None:
    """`connected` is audited once per visit and the visit then runs to its end."""
    term, fam, visit_id = await pair(world, length_s=300, media=False)
    await fam.send({"type": "connected"})
    await term.send({"type": "connected"})
    await world.advance(200)
    assert not [m for m in fam.seen if m["type"] == "ended"]
    await world.advance(100)
    assert (await _next_ended(fam))["reason"] == "completed"
    await world.hub.tasks.idle()
    assert (await actions(world, visit_id)).count("connected") == 1


async def test_two_hundred_visits_ending_in_the_same_second(world: World) -> None:
    """200 visits scheduled to end together: all 400 participants get `ended` at that moment."""
    # Each visit on its own terminal (a terminal has one visit at a time).
    from services.admin.provision import Admin

    admin = Admin(world.store)
    room = await admin.room(world.facility_id, "Ruang besar")
    peers: list[Peer] = []
    for i in range(200):
        terminal, _ = await admin.terminal(room.id, f"PC {i}", "http://test")
        world.terminal = terminal
        visit = await world.schedule(length_s=60)
        term = await world.connect(await world.token(visit, Role.TERMINAL))
        await term.expect("welcome")
        peers += [term, await world.connect(await world.token(visit, Role.FAMILY))]
    for peer in peers[1::2]:
        await peer.expect("welcome")
    for peer in peers:
        await peer.send({"type": "connected"})
    await world.advance(60)
    results = await asyncio.gather(*(_next_ended(p) for p in peers))
    assert [r["reason"] for r in results] == ["completed"] * 400
    closes = await asyncio.gather(*(p.closed() for p in peers))
    assert closes == [4000] * 400


async def test_education_visit_seats_three(world: World) -> None:
    """An education visit has terminal, child (family) and teacher; all three meet."""
    visit = await world.schedule(kind=VisitKind.EDUCATION)
    peers = []
    for role in (Role.TERMINAL, Role.FAMILY, Role.TEACHER):
        peer = await world.connect(await world.token(visit, role))
        peers.append((role, peer, await peer.expect("welcome")))
    teacher_welcome = peers[2][2]
    assert sorted(p["role"] for p in teacher_welcome["peers"]) == ["family", "terminal"]
    assert (await peers[0][1].expect("peer-joined"))["peer"]["role"] == "family"
    assert (await peers[0][1].expect("peer-joined"))["peer"]["role"] == "teacher"


async def test_a_starting_node_writes_the_ends_that_came_due_while_it_was_down(
    world: World,
) -> None:
    """A node starting after a visit's join grace passed with nobody in it has written that
    visit's `no_show` by the time it starts serving: no family is let into it meanwhile."""
    from signaling.cluster.factory import create_cluster
    from signaling.runtime.deadlines import DeadlineScheduler
    from signaling.visits.hub import Hub

    visit = await world.schedule(start_in=-700, length_s=1800)  # grace 600 s: over while down
    restarted = Hub(
        world.settings,
        world.store,
        world.clock,
        DeadlineScheduler(world.clock),
        create_cluster(world.settings),
    )
    await restarted.start()
    try:
        current = await world.store.get_visit(visit.visit.id)
        assert current is not None and current.status is VisitStatus.ENDED
        assert current.end_reason is not None and current.end_reason.value == "no_show"
    finally:
        await restarted.aclose()
