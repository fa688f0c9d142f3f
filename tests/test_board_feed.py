"""The board's live feed over a real HTTP connection: a change reaches a subscriber within a
second, a slow subscriber is let go with `resync` instead of buffered without end, the stream
pings and ends when the officer's credentials no longer hold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.access.revocation import Revocations
from services.admin.provision import Admin
from services.board.feed import MAX_SUBSCRIBERS, QUEUE_SIZE, FeedEvent, Subscription
from services.domain.model import Role
from services.ids import Actor, FacilityId
from signaling.app import BOARD_FEED
from tests.helpers.board import subscribe
from tests.helpers.officer import as_officer
from tests.helpers.world import World, build_world

PASSWORD = "a long enough pw 123"


def _officer(world: World, who: str = "s_feed") -> dict[str, str]:
    return as_officer(world, who, facility=world.facility_id)


async def test_a_family_joining_reaches_every_subscriber_within_a_second(world: World) -> None:
    """Two officers subscribed; the family's join is pushed to both as the visit's row, in its
    new state, within a second (real time), and the terminal's row comes with it."""
    visit = await world.schedule()
    streams = [await subscribe(world, _officer(world, f"s_{i}")) for i in range(2)]
    started = time.monotonic()
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    await fam.expect("welcome")
    for stream in streams:
        data = await stream.until("visit", timeout=1.0)
        assert data["visit"]["id"] == visit.visit.id
        assert data["visit"]["state"] == "family_waiting"
        assert data["terminal"]["id"] == world.terminal.id
    assert time.monotonic() - started < 1.0
    for stream in streams:
        await stream.close()


async def test_ready_a_decision_and_a_terminal_are_pushed(world: World) -> None:
    """ "Ready" pushes the row as inmate_ready; a terminal logging in pushes its row online."""
    headers = _officer(world)
    visit = await world.schedule(start_in=3600)
    stream = await subscribe(world, headers)
    resp = await world.client.post(f"/api/v1/visits/{visit.visit.id}/ready", headers=headers)
    assert resp.status == 200
    data = await stream.until("visit", timeout=1.0)
    assert (data["visit"]["id"], data["visit"]["state"]) == (visit.visit.id, "inmate_ready")

    creds = world.creds
    device = await world.connect(device={"id": creds.terminal_id, "secret": creds.secret})
    await device.expect("idle")
    data = await stream.until("terminal", timeout=1.0)
    assert data["terminal"]["online"] is True
    assert data["alerts"] == []
    await device.close()
    data = await stream.until("terminal", timeout=1.0)
    assert data["terminal"]["online"] is False
    assert [a["kind"] for a in data["alerts"]] == ["terminal_offline"]

    resp = await world.client.post(
        f"/api/v1/visits/{visit.visit.id}/cancel", headers=headers, json={}
    )
    assert resp.status == 200
    data = await stream.until("visit", timeout=1.0)
    assert data["visit"]["state"] == "cancelled"
    await stream.close()


async def test_a_slow_subscriber_is_dropped_with_resync(world: World) -> None:
    """A subscriber that does not keep up holds at most its queue, then gets one `resync`
    and its stream ends (it reconnects and reads the board again)."""
    stream = await subscribe(world, _officer(world))
    feed = world.app[BOARD_FEED]
    (sub,) = feed._subs[FacilityId(world.facility_id)]
    for i in range(QUEUE_SIZE * 4):  # far more than it may hold, faster than it reads
        sub.offer(FeedEvent("visit", b'{"n": %d}' % i))
        assert sub.queue.qsize() <= QUEUE_SIZE
    assert sub.dropped
    name, _ = await stream.next()
    assert name == "resync"
    with pytest.raises(EOFError):
        await stream.next()
    await asyncio.sleep(0)
    assert feed.subscribers(FacilityId(world.facility_id)) == 0


def test_a_subscription_never_holds_more_than_its_queue() -> None:
    """Offered without end, the queue stays bounded, and what it holds is one `resync`."""

    async def run() -> None:
        sub = Subscription(FacilityId("f"))
        for i in range(10_000):
            sub.offer(FeedEvent("visit", str(i).encode()))
        assert sub.queue.qsize() == 1
        event = await sub.next(0.1)
        assert event is not None and event.name == "resync"

    asyncio.run(run())


@pytest.fixture
async def quick(tmp_path: Path) -> AsyncIterator[World]:
    """A world whose board streams ping every 0.2 s."""
    async for w in build_world(tmp_path, board_heartbeat_s=0.2):
        yield w


async def test_the_stream_pings_while_quiet(quick: World) -> None:
    """With nothing to say, the stream sends a comment every heartbeat."""
    stream = await subscribe(quick, _officer(quick))
    await asyncio.sleep(0.7)
    with pytest.raises(TimeoutError):
        await stream.next(timeout=0.1)
    assert stream.pings >= 2
    await stream.close()


async def test_the_stream_ends_when_the_account_is_disabled(tmp_path: Path) -> None:
    """A disabled account's stream ends within the revocation poll (well before the next
    heartbeat) with a `closed` event naming why."""
    async for world in build_world(tmp_path, board_heartbeat_s=60.0):
        await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
        login = await world.client.post(
            "/api/v1/auth/login", json={"username": "petugas", "password": PASSWORD}
        )
        assert login.status == 200, await login.text()
        headers = {"Authorization": f"Bearer {(await login.json())['token']}"}
        stream = await subscribe(world, headers)
        await Revocations(world.store, world.clock).disable_staff("petugas", Actor("admin", "t"))
        data = await stream.until("closed", timeout=2.0)
        assert data["code"] == "access_revoked"
        with pytest.raises(EOFError):
            await stream.next()
        assert world.app[BOARD_FEED].subscribers() == 0


async def test_a_quiet_stream_outlives_the_http_idle_timeout(tmp_path: Path) -> None:
    """The edge closes idle keep-alive connections after `header_timeout_s`; a board stream
    with nothing to say for longer than that stays open and still delivers."""
    async for world in build_world(tmp_path, header_timeout_s=0.3, board_heartbeat_s=5.0):
        stream = await subscribe(world, _officer(world))
        await asyncio.sleep(1.0)  # over three idle timeouts without a byte
        visit = await world.schedule()
        fam = await world.connect(await world.token(visit, Role.FAMILY))
        await fam.expect("welcome")
        data = await stream.until("visit", timeout=1.0)
        assert data["visit"]["id"] == visit.visit.id
        await stream.close()


async def test_subscribers_of_one_facility_are_bounded(world: World) -> None:
    """Past the cap a facility's subscriber is refused with 429 instead of held; /metrics
    counts those held."""
    feed = world.app[BOARD_FEED]
    facility = FacilityId(world.facility_id)
    held = [feed.subscribe(facility) for _ in range(MAX_SUBSCRIBERS)]
    resp = await world.client.get(
        "/api/v1/board/events", params={"facility": world.facility_id}, headers=_officer(world)
    )
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "rate_limited"
    metrics = await (await world.client.get("/metrics")).text()
    assert f'tatap_board_subscribers{{node="node-test"}} {MAX_SUBSCRIBERS}' in metrics
    for sub in held:
        feed.unsubscribe(sub)
    assert feed.subscribers() == 0


async def test_an_emergency_close_pushes_the_visits_it_cancels(world: World) -> None:
    """Visits a closure calls off, never loaded on this node, are pushed as cancelled."""
    headers = as_officer(world, "s_admin", facility=world.facility_id)
    visit = await world.schedule(start_in=7200)
    stream = await subscribe(world, _officer(world))
    start_ms = int(visit.visit.start * 1000)
    body = {"start_ms": start_ms - 60_000, "end_ms": start_ms + 60_000, "reason": "banjir"}
    resp = await world.client.post(
        f"/api/v1/facilities/{world.facility_id}/closures", json=body, headers=headers
    )
    assert resp.status == 201, await resp.text()
    data = await stream.until("visit", timeout=1.0)
    assert (data["visit"]["id"], data["visit"]["state"]) == (visit.visit.id, "cancelled")
    await stream.close()
