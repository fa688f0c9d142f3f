"""Ends that were acknowledged survive a SIGKILL: a real ``tatap serve`` killed the instant the
last acknowledgement arrives, then restarted on the same data directory.

A terminate (REST or an officer's /ws message), a hangup the other side was told of, and a cancel
are ends the schedule cannot recompute after a restart, so each must be on disk before anyone
hears of it: whatever was acknowledged is `ended`/`cancelled` in the database with its audit
events, and the family's link and token are refused by the restarted node.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
import pytest

from services.access.links import FamilyLinks, VisitLinks
from services.access.tokens import TokenService
from services.admin.provision import Admin
from services.booking.scheduling import GuestSpec, VisitService
from services.clock import SystemClock
from services.domain.model import FacilityRules, Role, VisitKind
from services.ids import Actor
from services.settings import Settings
from services.store.factory import create_store
from tests.helpers.audit import rows
from tests.helpers.served import start_serve

VISITS = 10
pytestmark = pytest.mark.timeout(60)


@dataclass(frozen=True, slots=True)
class Seats:
    visit_id: str
    link: str  # the family's link secret
    family: str  # tokens
    terminal: str


@dataclass(frozen=True, slots=True)
class Site:
    data_dir: Path
    staff_token: str
    visits: list[Seats]


async def _provision(
    data_dir: Path, count: int, start_in: float, rules: FacilityRules | None = None
) -> Site:
    settings = Settings.from_env(data_dir=data_dir)
    clock = SystemClock()
    store = create_store(settings, clock)
    tokens = TokenService(settings.token_keys)
    try:
        admin = Admin(store)
        visits = VisitService(store, clock)
        family = FamilyLinks(settings.link_key)
        links = VisitLinks(store, tokens, clock, settings.token_grace_s, family)
        facility = await admin.facility("Lapas Cilegon", rules=rules)
        room = await admin.room(facility.id, "Ruang 1")
        await admin.import_inmates(facility.id, "number,name\nB-1234,Budi\n")
        inmate = await store.find_inmate(facility.id, "B-1234")
        assert inmate is not None
        officer = await admin.staff("petugas", Role.OFFICER, "a long password", facility.id)
        staff_token, _ = tokens.issue(
            sub=officer.id,
            role=Role.OFFICER,
            visit="",
            now=clock.now(),
            ttl_s=3600,
            facility=facility.id,
        )
        out = []
        for i in range(count):
            terminal, _ = await admin.terminal(room.id, f"PC {i}", settings.base_url)
            scheduled = await visits.schedule(
                terminal_id=terminal.id,
                inmate_id=inmate.id,
                kind=VisitKind.REGULAR,
                start=clock.now() + start_in,
                guests=[GuestSpec(Role.FAMILY, f"Siti {i}")],
                actor=Actor(Role.ADMIN, "test"),
                length_s=900,
            )
            visit = scheduled.visit
            seat = {p.role: p for p in visit.participants}
            out.append(
                Seats(
                    visit.id,
                    scheduled.links[seat[Role.FAMILY].id],
                    await links.participant_token(visit, seat[Role.FAMILY]),
                    await links.participant_token(visit, seat[Role.TERMINAL]),
                )
            )
        return Site(data_dir, staff_token, out)
    finally:
        await store.aclose()


@dataclass
class Node:
    proc: subprocess.Popen[bytes]
    url: str

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, nothing is flushed."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Path], Node]]:
    """Start ``tatap serve`` on a data directory; every node still running is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(data_dir: Path) -> Node:
        proc, url = start_serve(data_dir, tmp_path / f"serve-{len(started)}.log")
        started.append(proc)
        return Node(proc, url)

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


async def _hello(
    http: aiohttp.ClientSession, node: Node, token: str
) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"{node.url}/ws")
    await ws.send_str(orjson.dumps({"type": "hello", "token": token}).decode())
    return ws


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, object] | None:
    """The next message of this type, or None if the socket closes first."""
    while True:
        msg = await ws.receive()
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return None
        data: dict[str, object] = orjson.loads(msg.data)
        if data["type"] == kind:
            return data


async def _kill_on_last(node: Node, acks: list[Awaitable[bool]]) -> int:
    """Wait for every acknowledgement, SIGKILL the node the instant the last one arrives (or the
    first one fails), and return how many were acknowledged."""
    acked = 0
    for done in asyncio.as_completed(acks):
        if not await done:
            break
        acked += 1
    node.kill()
    return acked


def _state(site: Site, visit_id: str) -> tuple[str, str | None, list[str]]:
    db = site.data_dir / "tatap.db"
    sql = "SELECT status, end_reason FROM visits WHERE id = ?"
    ((status, reason),) = rows(db, sql, (visit_id,))
    actions = [
        a
        for (a,) in rows(
            db, "SELECT action FROM audit_events WHERE visit_id = ? ORDER BY seq", (visit_id,)
        )
    ]
    return status, reason, actions


async def _refused_after_restart(node: Node, http: aiohttp.ClientSession, seats: Seats) -> None:
    """The restarted node lets the family in neither by its link nor by its token."""
    async with http.post(f"{node.url}/api/v1/join", json={"link": seats.link}) as resp:
        body = await resp.json()
        assert resp.status == 409 and body["error"]["code"] == "visit_over", body
    ws = await _hello(http, node, seats.family)
    refusal = await _next(ws, "error")
    assert refusal is not None and refusal["code"] == "visit_over"
    await ws.receive()
    assert ws.close_code == 4410


async def _crash_after(
    serve: Callable[[Path], Node], site: Site, end: Callable[..., Awaitable[bool]]
) -> list[Seats]:
    """Seat both sides of every visit, end them all at once with ``end``, SIGKILL the node at the
    last acknowledgement; returns the visits acknowledged (every one, or the test fails)."""
    node = serve(site.data_dir)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        seated = []
        for seats in site.visits:
            term = await _hello(http, node, seats.terminal)
            fam = await _hello(http, node, seats.family)
            assert await _next(term, "welcome") and await _next(fam, "welcome")
            seated.append((seats, term, fam))
        results = [end(http, node, s, term, fam) for s, term, fam in seated]
        acked = await _kill_on_last(node, results)
    assert acked == len(site.visits), "every end was acknowledged before the kill"
    return site.visits


async def test_rest_terminate_survives_sigkill(
    tmp_path: Path, serve: Callable[[Path], Node]
) -> None:
    """Every terminate answered 202 is `ended`/`terminated` with its `terminated` and `ended`
    events after a SIGKILL at the last 202, and the restarted node refuses the family."""
    site = await _provision(tmp_path, VISITS, start_in=0)

    async def end(http: aiohttp.ClientSession, node: Node, seats: Seats, *_: object) -> bool:
        async with http.post(
            f"{node.url}/api/v1/visits/{seats.visit_id}/terminate",
            json={"reason": "rules broken"},
            headers={"Authorization": f"Bearer {site.staff_token}"},
        ) as resp:
            return resp.status == 202

    await _assert_durable(serve, site, end, "ended", "terminated", "terminated")


async def test_ws_terminate_survives_sigkill(tmp_path: Path, serve: Callable[[Path], Node]) -> None:
    """Every visit whose officer monitor got `ended` after sending `terminate` on /ws is
    `ended`/`terminated` with its events after a SIGKILL at the last `ended`."""
    site = await _provision(tmp_path, VISITS, start_in=0)

    async def end(http: aiohttp.ClientSession, node: Node, seats: Seats, *_: object) -> bool:
        async with http.post(
            f"{node.url}/api/v1/visits/{seats.visit_id}/monitor",
            headers={"Authorization": f"Bearer {site.staff_token}"},
        ) as resp:
            token = (await resp.json())["token"]
        mon = await _hello(http, node, token)
        assert await _next(mon, "welcome")
        await mon.send_str(orjson.dumps({"type": "terminate", "reason": "rules broken"}).decode())
        told = await _next(mon, "ended")
        return told is not None and told["reason"] == "terminated"

    await _assert_durable(serve, site, end, "ended", "terminated", "terminated")


async def test_hangup_survives_sigkill(tmp_path: Path, serve: Callable[[Path], Node]) -> None:
    """Every visit whose terminal was told `ended {hangup}` after the family's `leave` is
    `ended`/`hangup` with its `ended` event after a SIGKILL at the last such `ended`."""
    site = await _provision(tmp_path, VISITS, start_in=0)

    async def end(
        _: object,
        __: object,
        seats: Seats,
        term: aiohttp.ClientWebSocketResponse,
        fam: aiohttp.ClientWebSocketResponse,
    ) -> bool:
        await fam.send_str('{"type":"leave"}')
        told = await _next(term, "ended")
        return told is not None and told["reason"] == "hangup"

    await _assert_durable(serve, site, end, "ended", "hangup", "ended")


async def test_media_timeout_failure_survives_sigkill(
    tmp_path: Path, serve: Callable[[Path], Node]
) -> None:
    """Every visit whose terminal was told `ended {failed}` because media never came up within
    the media timeout is `ended`/`failed` after a SIGKILL at the last such `ended`: a restarted
    node does not re-arm that timeout, so it could not recompute the end."""
    site = await _provision(tmp_path, VISITS, start_in=0, rules=FacilityRules(connect_timeout_s=3))

    async def end(
        _: object, __: object, ___: Seats, term: aiohttp.ClientWebSocketResponse, *____: object
    ) -> bool:
        told = await _next(term, "ended")
        return told is not None and told["reason"] == "failed"

    await _assert_durable(serve, site, end, "ended", "failed", "ended")


async def test_no_show_is_recomputed_after_sigkill(
    tmp_path: Path, serve: Callable[[Path], Node]
) -> None:
    """A `no_show` at the join grace is sent before it is written; after a SIGKILL at the last
    one the restarted node reaches the same end: it refuses the family and records `no_show`."""
    site = await _provision(tmp_path, VISITS, start_in=0, rules=FacilityRules(join_grace_s=3))
    node = serve(site.data_dir)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        families = [await _hello(http, node, seats.family) for seats in site.visits]
        for fam in families:
            assert await _next(fam, "welcome")

        async def told(fam: aiohttp.ClientWebSocketResponse) -> bool:
            ended = await _next(fam, "ended")
            return ended is not None and ended["reason"] == "no_show"

        assert await _kill_on_last(node, [told(fam) for fam in families]) == VISITS
        node = serve(site.data_dir)
        for seats in site.visits:
            await _refused_after_restart(node, http, seats)
        async with asyncio.timeout(10):
            for seats in site.visits:
                while _state(site, seats.visit_id)[:2] != ("ended", "no_show"):
                    await asyncio.sleep(0.05)


async def test_cancel_survives_sigkill(tmp_path: Path, serve: Callable[[Path], Node]) -> None:
    """Every cancel answered 200 is `cancelled` with its `cancelled` event after a SIGKILL at
    the last answer, and the restarted node refuses the family."""
    site = await _provision(tmp_path, VISITS, start_in=3600)
    node = serve(site.data_dir)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def cancel(seats: Seats) -> bool:
            async with http.post(
                f"{node.url}/api/v1/visits/{seats.visit_id}/cancel",
                headers={"Authorization": f"Bearer {site.staff_token}"},
            ) as resp:
                return resp.status == 200

        acked = await _kill_on_last(node, [cancel(s) for s in site.visits])
        assert acked == VISITS
        for seats in site.visits:
            status, reason, actions = _state(site, seats.visit_id)
            assert (status, reason) == ("cancelled", "cancelled") and "cancelled" in actions
        node = serve(site.data_dir)
        for seats in site.visits:
            await _refused_after_restart(node, http, seats)


async def _assert_durable(
    serve: Callable[[Path], Node],
    site: Site,
    end: Callable[..., Awaitable[bool]],
    status: str,
    reason: str,
    action: str,
) -> None:
    acked = await _crash_after(serve, site, end)
    for seats in acked:
        got_status, got_reason, actions = _state(site, seats.visit_id)
        assert (got_status, got_reason) == (status, reason), seats.visit_id
        assert action in actions and "ended" in actions, actions
    node = serve(site.data_dir)
    async with aiohttp.ClientSession() as http:
        for seats in acked:
            await _refused_after_restart(node, http, seats)
