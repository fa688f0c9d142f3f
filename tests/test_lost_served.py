"""Time lost by cause on a real ``tatap serve`` process: a node SIGKILLed and restarted mid-visit
loses the visit its down time to `system` (the log's `node-started` says since when; `connected`
is written again after the restart), a family's dropped socket loses it to `family`, and an
officer's terminate loses the rest of the scheduled time to `officer`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
import pytest

from services.access.links import FamilyLinks, VisitLinks
from services.access.tokens import TokenService
from services.admin.provision import Admin
from services.audit.chain import AuditRecord
from services.audit.runs import BEAT_S
from services.booking.scheduling import GuestSpec, VisitService
from services.clock import SystemClock
from services.domain.model import Role, Visit, VisitKind
from services.ids import Actor
from services.reports.lost import VisitLoss, node_downs, visit_loss
from services.settings import Settings
from services.store.factory import create_store
from tests.helpers.audit import EVENT_COLUMNS, rows
from tests.helpers.served import start_serve

pytestmark = pytest.mark.timeout(90)
WS = aiohttp.ClientWebSocketResponse
Serve = Callable[[Path], tuple[subprocess.Popen[bytes], str]]


@dataclass(frozen=True, slots=True)
class Site:
    data_dir: Path
    visit_id: str
    family: str  # tokens
    terminal: str
    staff: str


async def _provision(data_dir: Path) -> Site:
    """A facility with one regular visit of 15 minutes starting now."""
    settings = Settings.from_env(data_dir=data_dir)
    clock = SystemClock()
    store = create_store(settings, clock)
    tokens = TokenService(settings.token_keys)
    try:
        admin = Admin(store)
        links = VisitLinks(store, tokens, clock, settings.token_grace_s, FamilyLinks(b"k" * 32))
        facility = await admin.facility("Lapas Cilegon")
        room = await admin.room(facility.id, "Ruang 1")
        await admin.import_inmates(facility.id, "number,name\nB-1234,Budi\n")
        inmate = await store.find_inmate(facility.id, "B-1234")
        assert inmate is not None
        officer = await admin.staff("petugas", Role.OFFICER, "a long password", facility.id)
        staff, _ = tokens.issue(
            sub=officer.id, role=Role.OFFICER, visit="", now=clock.now(), ttl_s=3600,
            facility=facility.id,
        )  # fmt: skip
        terminal, _ = await admin.terminal(room.id, "PC 1", settings.base_url)
        visit = (
            await VisitService(store, clock).schedule(
                terminal_id=terminal.id,
                inmate_id=inmate.id,
                kind=VisitKind.REGULAR,
                start=clock.now(),
                guests=[GuestSpec(Role.FAMILY, "Siti")],
                actor=Actor(Role.ADMIN, "test"),
                length_s=900,
            )
        ).visit
        seat = {p.role: p for p in visit.participants}
        family = await links.participant_token(visit, seat[Role.FAMILY])
        term = await links.participant_token(visit, seat[Role.TERMINAL])
        return Site(data_dir, visit.id, family, term, staff)
    finally:
        await store.aclose()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start ``tatap serve`` on a data directory; every node still running is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
        proc, url = start_serve(data_dir, tmp_path / f"serve-{len(started)}.log")
        started.append(proc)
        return proc, url

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


async def _seated(http: aiohttp.ClientSession, url: str, token: str) -> WS:
    ws = await http.ws_connect(f"{url}/ws")
    await ws.send_str(orjson.dumps({"type": "hello", "token": token}).decode())
    while True:
        msg = await ws.receive(timeout=10)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        if orjson.loads(msg.data)["type"] == "welcome":
            return ws


async def _media_up(site: Site, term: WS, fam: WS, count: int) -> int:
    """Both sides say their media flows; waits for the log's ``count``-th `connected` and returns
    its time."""
    for ws in (term, fam):
        await ws.send_str('{"type":"connected"}')
    db = site.data_dir / "tatap.db"
    sql = "SELECT ts_ms FROM audit_events WHERE visit_id = ? AND action = 'connected' ORDER BY seq"
    for _ in range(200):
        found = rows(db, sql, (site.visit_id,))
        if len(found) >= count:
            return int(found[count - 1][0])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {count}. `connected` in the log")


async def _loss(site: Site, until_ms: int) -> VisitLoss:
    """The visit's loss from the log on disk, as the reports compute it."""
    db = site.data_dir / "tatap.db"
    every = [AuditRecord(*r) for r in rows(db, f"SELECT {EVENT_COLUMNS} FROM audit_events")]
    store = create_store(Settings.from_env(data_dir=site.data_dir), SystemClock())
    try:
        visit: Visit | None = await store.get_visit(site.visit_id)
    finally:
        await store.aclose()
    assert visit is not None
    mine = [e for e in every if e.visit_id == site.visit_id]
    return visit_loss(visit, mine, node_downs(every), until_ms)


async def test_sigkill_and_restart_is_system_loss(tmp_path: Path, serve: Serve) -> None:
    """Media up, the node SIGKILLed for ~3 s and restarted, both sides back and media said again:
    the loss is `system`, from the dead run's last heartbeat (at most a beat before the kill) to
    the `connected` written again; nothing is lost to the family."""
    site = await _provision(tmp_path)
    proc, url = serve(tmp_path)
    async with aiohttp.ClientSession() as http:
        term, fam = await _seated(http, url, site.terminal), await _seated(http, url, site.family)
        await _media_up(site, term, fam, 1)
        await asyncio.sleep(1)
        before_ms = time.time_ns() // 1_000_000
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        killed_ms = time.time_ns() // 1_000_000  # every sign of life of that run is before
        await asyncio.sleep(3)
        _, url = serve(tmp_path)
        term, fam = await _seated(http, url, site.terminal), await _seated(http, url, site.family)
        again_ms = await _media_up(site, term, fam, 2)
        until_ms = time.time_ns() // 1_000_000  # before the sockets close on the way out
    loss = await _loss(site, until_ms)
    by = {c.value: ms for c, ms in loss.lost_by_cause().items()}
    assert by["family"] == 0 and by["officer"] == 0
    # From the last beat (or event) to media again: at most a beat (and the loop's lag) early.
    assert again_ms - killed_ms <= by["system"] <= again_ms - before_ms + BEAT_S * 1000 + 1000
    assert len(loss.gaps) == 1 and loss.gaps[0].end_ms == again_ms


async def test_family_drop_is_family_loss(tmp_path: Path, serve: Serve) -> None:
    """The family's socket drops for ~2 s while the terminal and node are fine: that time is
    lost to `family`, from its `left` to its `reconnected`."""
    site = await _provision(tmp_path)
    _, url = serve(tmp_path)
    async with aiohttp.ClientSession() as http:
        term, fam = await _seated(http, url, site.terminal), await _seated(http, url, site.family)
        await _media_up(site, term, fam, 1)
        await fam.close()
        await asyncio.sleep(2)
        fam = await _seated(http, url, site.family)
        await asyncio.sleep(0.5)
        until_ms = time.time_ns() // 1_000_000  # before the sockets close on the way out
    db = tmp_path / "tatap.db"
    sql = "SELECT action, ts_ms FROM audit_events WHERE visit_id = ? AND actor_role = 'family'"
    ts = dict(reversed(rows(db, sql + " ORDER BY seq", (site.visit_id,))))  # the first of each
    loss = await _loss(site, until_ms)
    by = {c.value: ms for c, ms in loss.lost_by_cause().items()}
    assert by == {"system": 0, "family": ts["reconnected"] - ts["left"], "officer": 0}
    assert 1500 <= by["family"] <= 5000


async def test_terminate_is_officer_loss(tmp_path: Path, serve: Serve) -> None:
    """An officer terminates a minute-old visit of 15: the rest of the scheduled time is lost to
    `officer`, from the `terminated` to the scheduled end."""
    site = await _provision(tmp_path)
    _, url = serve(tmp_path)
    async with aiohttp.ClientSession() as http:
        term, fam = await _seated(http, url, site.terminal), await _seated(http, url, site.family)
        await _media_up(site, term, fam, 1)
        async with http.post(
            f"{url}/api/v1/visits/{site.visit_id}/terminate",
            json={"reason": "rules broken"},
            headers={"Authorization": f"Bearer {site.staff}"},
        ) as resp:
            assert resp.status == 202
    db = tmp_path / "tatap.db"
    sql = "SELECT ts_ms FROM audit_events WHERE visit_id = ? AND action = 'terminated'"
    ((terminated_ms,),) = rows(db, sql, (site.visit_id,))
    loss = await _loss(site, time.time_ns() // 1_000_000)
    by = {c.value: ms for c, ms in loss.lost_by_cause().items()}
    assert by["system"] == 0 and by["family"] == 0
    assert loss.gaps[-1].start_ms == terminated_ms
    assert by["officer"] == loss.gaps[-1].end_ms - terminated_ms > 890_000
