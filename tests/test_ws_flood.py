"""One hostile socket against a real server: floods of frames may cost that socket its connection,
never the rest of the node its time. The visit clock here is real time, because what is measured
is how late another visit's end arrives while the flood is read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from services.clock import FakeClock
from services.domain.model import Role
from signaling.transport.frames import OP_CONTINUATION, OP_TEXT
from tests.helpers.pair import pair
from tests.helpers.raw_ws import RawSocket, client_frame
from tests.helpers.world import World, build_world

# The attack of issue 7: about 115 KiB of empty continuation frames froze the node for 8-10 s.
FLOOD = (
    client_frame(OP_TEXT, b"", fin=False) + client_frame(OP_CONTINUATION, b"", fin=False) * 30_000
)
# How late another visit's `ended` may be (timer and scheduling noise on a shared machine).
LATE_MS = 50.0


class WallClock(FakeClock):
    """Real time behind the test clock's interface."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, when: float) -> None:
        await asyncio.sleep(max(0.0, when - time.time()))


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[World]:
    async for w in build_world(tmp_path, clock=WallClock()):
        yield w


async def test_continuation_flood_does_not_delay_another_visits_end(live: World) -> None:
    """An unauthenticated socket sends 30,000 empty continuation frames just before another
    visit's end: that visit's `ended` still arrives within a few ms of its end."""
    term, fam, visit_id = await pair(live, length_s=2)
    visit = await live.store.get_visit(visit_id)
    assert visit is not None
    await asyncio.sleep(visit.end - time.time() - 0.2)
    raw = await RawSocket.open(live)
    raw.send(FLOOD)
    await fam.until("ended")
    late_ms = (time.time() - visit.end) * 1000
    raw.close()
    assert late_ms < LATE_MS, f"ended {late_ms:.0f} ms late"


async def test_healthz_answers_at_once_during_a_continuation_flood(live: World) -> None:
    """/healthz asked right after the flood was written answers in well under 100 ms."""
    raw = await RawSocket.open(live)
    raw.send(FLOOD)
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        async with http.get(live.client.make_url("/healthz")) as resp:
            assert resp.status == 200
    took_ms = (time.perf_counter() - started) * 1000
    raw.close()
    assert took_ms < 100, f"/healthz took {took_ms:.0f} ms"


async def test_continuation_flood_before_hello_closes_1009(live: World) -> None:
    """The flooding socket itself is closed with 1009 once it passes the fragment limit."""
    raw = await RawSocket.open(live)
    raw.send(FLOOD)
    assert await raw.close_code() == 1009
    raw.close()


async def test_continuation_flood_after_hello_closes_1009(world: World) -> None:
    """The same bound holds for a joined participant: its socket closes 1009 and its peer is told
    it dropped."""
    visit = await world.schedule()
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    await term.expect("welcome")
    raw = await RawSocket.open(world)
    hello = {"type": "hello", "token": await world.token(visit, Role.FAMILY)}
    raw.send(client_frame(OP_TEXT, orjson.dumps(hello)))
    await term.expect("peer-joined")
    raw.send(FLOOD)
    assert await raw.close_code() == 1009
    assert (await term.expect("peer-left"))["reason"] == "dropped"
    raw.close()
