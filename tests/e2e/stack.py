"""A real node (SystemClock, SQLite, a real socket), a real terminal agent, and real Chromium.

Shared by the browser tests and by ``python -m tests.e2e.measure_join``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from media.agent import Credentials, TerminalAgent
from media.display import NullDisplay
from media.sources import open_source
from media.speaker import Speaker
from services.admin.provision import Admin
from services.audit.query import AuditQuery
from services.booking.scheduling import GuestSpec, ScheduledVisit
from services.domain.model import FacilityRules, Role, VisitKind
from services.ids import Actor
from signaling.app import STORE, VISITS, create_app
from tests.helpers.world import make_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHORT_RULES = FacilityRules(
    warnings_s=(10,), join_grace_s=60, reconnect_grace_s=15, connect_timeout_s=30
)


@dataclass
class Stack:
    app: web.Application
    server: TestServer
    agent: TerminalAgent
    creds: Credentials
    terminal_id: str
    inmate_id: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def schedule(
        self, length_s: int, kind: VisitKind = VisitKind.REGULAR, start_in: float = 0.0
    ) -> ScheduledVisit:
        guests = [GuestSpec(Role.FAMILY, "Siti")]
        if kind is VisitKind.EDUCATION:
            guests.append(GuestSpec(Role.TEACHER, "Bu Guru"))
        return await self.app[VISITS].schedule(
            terminal_id=self.terminal_id,
            inmate_id=self.inmate_id,
            kind=kind,
            start=time.time() + start_in,
            guests=guests,
            actor=Actor(Role.OFFICER, "s_test"),
            length_s=length_s,
        )

    def link(self, scheduled: ScheduledVisit, role: Role) -> str:
        seat = next(p for p in scheduled.visit.participants if p.role is role)
        return f"{self.base_url}/v/{scheduled.links[seat.id]}"

    async def actions(self, visit_id: str) -> list[str]:
        rows = await self.app[STORE].audit_search(AuditQuery(visit_id=visit_id, limit=1000))
        return [r.action for r in rows]


@asynccontextmanager
async def running_stack(
    tmp_path: Path,
    rules: FacilityRules = SHORT_RULES,
    size: tuple[int, int] = (320, 240),
    speaker: Speaker | None = None,
) -> AsyncIterator[Stack]:
    """A node on 127.0.0.1 (media goes over the machine's own interface address: both Chromium and
    aioice skip loopback host candidates) and a terminal agent with the test pattern, headless."""
    # The port is chosen first so that the node's links (its public URL) point at it.
    port = unused_port()
    settings = make_settings(
        tmp_path,
        time_interval_s=5.0,
        sweep_interval_s=0.5,
        host="127.0.0.1",
        port=port,
        public_url=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    admin = Admin(app[STORE])
    facility = await admin.facility("Lapas Uji", rules=rules)
    room = await admin.room(facility.id, "Ruang 1")
    terminal, creds = await admin.terminal(room.id, "PC Ruang 1", f"http://127.0.0.1:{server.port}")
    await admin.import_inmates(facility.id, "number,name,block\nB-1234,Budi,A\n")
    inmate = await app[STORE].find_inmate(facility.id, "B-1234")
    assert inmate is not None
    device = Credentials(creds.server, creds.terminal_id, creds.secret)
    agent = make_agent(device, size, speaker)
    agent.start()
    stack = Stack(app, server, agent, device, terminal.id, inmate.id)
    try:
        yield stack
    finally:
        await stack.agent.aclose()
        await server.close()


def make_agent(
    creds: Credentials, size: tuple[int, int] = (320, 240), speaker: Speaker | None = None
) -> TerminalAgent:
    """A headless terminal agent sending the test pattern (its speaker a test's, if given)."""
    source = open_source("testpattern", size=size, fps=15)
    return TerminalAgent(creds, source, NullDisplay(), speaker=speaker)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def open_page(
    browser: Browser, url: str, locale: str = "en-US"
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(locale=locale, viewport={"width": 960, "height": 600})
    page = await context.new_page()
    page.on("console", lambda m: m.type == "error" and print(f"[page] {m.text}"))
    await page.goto(url)
    return context, page


async def until(check: Callable[[], Awaitable[Any]], within: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.1)


# Inbound video of each RTCPeerConnection of the page: {peerId: {framesDecoded, width}}.
VIDEO_STATS_JS = """async () => {
  const out = {};
  for (const [id, pc] of Object.entries(window.tatap.pcs)) {
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") {
        out[id] = {framesDecoded: s.framesDecoded || 0, width: s.frameWidth || 0};
      }
    });
  }
  return out;
}"""

REMOTE_WIDTHS_JS = "() => [...document.querySelectorAll('#remotes video')].map(v => v.videoWidth)"


async def video_stats(page: Page) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = await page.evaluate(VIDEO_STATS_JS)
    return result


async def frames_flowing(page: Page, peers: int, within: float = 15.0) -> dict[str, int]:
    """Wait until the page decodes video from ``peers`` participants and the count keeps rising."""

    async def decoding() -> dict[str, int] | None:
        stats = await video_stats(page)
        ok = {k: v["framesDecoded"] for k, v in stats.items() if v["framesDecoded"] > 0}
        return ok if len(ok) >= peers else None

    first = await until(decoding, within, f"video decoded from {peers} participant(s)")

    async def rising() -> bool:
        now = await video_stats(page)
        return all(now.get(k, {}).get("framesDecoded", 0) > n for k, n in first.items())

    await until(rising, 5.0, "framesDecoded to keep rising")
    return dict(first)
