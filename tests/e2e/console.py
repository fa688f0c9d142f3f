"""What the console browser tests share: a node (no terminal agent: the queue needs none) with a
facility taking requests tomorrow, its officer, an officer of another facility, requests made
as families make them, and a console page on an office PC's screen."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port
from playwright.async_api import Browser, BrowserContext, Page

from services.access.links import FamilyLinks
from services.admin.provision import Admin
from services.booking.calendar import CalendarService
from services.booking.forms import RequestForm, VisitorForm
from services.booking.requests import RequestService
from services.booking.slots import day_bounds, zone
from services.clock import SystemClock
from services.domain.model import Role, Visit, VisitKind
from services.ids import Actor
from signaling.app import STORE, create_app
from tests.helpers.world import LINK_KEY, make_settings

OFFICE_PC = {"width": 1366, "height": 768}
PASSWORD = "rahasia-petugas-1"
TZ = "Asia/Jakarta"


@dataclass
class Node:
    app: web.Application
    server: TestServer
    facility_id: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def request(self, n: int, inmate: str, hhmm: str, priority: bool = False) -> Visit:
        """Visitor ``n``'s request for ``inmate`` tomorrow at ``hhmm`` (facility time)."""
        tomorrow = dt.datetime.fromtimestamp(time.time(), zone(TZ)).date() + dt.timedelta(days=1)
        hours, minutes = map(int, hhmm.split(":"))
        start = day_bounds(tomorrow, TZ)[0] + (hours * 60 + minutes) * 60_000
        person = VisitorForm(
            name=f"Siti Aminah {'ABC'[n % 3]}",
            nik=f"320101150890{n:04d}",
            phone=f"0812-3456-{7890 + n}",
            relationship="spouse",
        )
        form = RequestForm(
            self.facility_id, inmate, VisitKind.REGULAR, start, person, None, priority
        )
        service = RequestService(self.app[STORE], SystemClock(), FamilyLinks(LINK_KEY))
        return await service.submit(form)

    async def approve(self, visit: Visit) -> Visit:
        """The request approved by the facility's officer, as the queue does."""
        service = RequestService(self.app[STORE], SystemClock(), FamilyLinks(LINK_KEY))
        return (await service.approve(visit, Actor(Role.OFFICER.value, "petugas"))).visit


@asynccontextmanager
async def console_node(tmp_path: Path, **settings: Any) -> AsyncIterator[Node]:
    """A node on 127.0.0.1 whose facility (officer ``petugas``) takes requests tomorrow
    08:00-12:00 for inmates B-1234 and C-5 (convicted) and T-77 (remand); officer ``lain``
    belongs to another facility, admin ``kepala`` to none (every facility), and auditor
    ``rina`` to this one."""
    port = unused_port()
    config = make_settings(
        tmp_path,
        host="127.0.0.1",
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        notify_poll_s=0.3,
        **settings,
    )
    app = create_app(config)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        admin = Admin(app[STORE])
        facility = await admin.facility("Lapas Uji", TZ)
        room = await admin.room(facility.id, "Ruang 1")
        await admin.terminal(room.id, "PC Ruang 1", f"http://127.0.0.1:{port}")
        csv = (
            "number,name,block,status\nB-1234,Budi,A,convicted\nT-77,Tono,B,remand\nC-5,Cahyo,A,\n"
        )
        await admin.import_inmates(facility.id, csv)
        tomorrow = dt.datetime.fromtimestamp(time.time(), zone(TZ)) + dt.timedelta(days=1)
        await CalendarService(app[STORE]).add_template(
            room.id, frozenset({tomorrow.weekday()}), (480, 720), 30, frozenset({VisitKind.REGULAR})
        )
        await admin.staff("petugas", Role.OFFICER, PASSWORD, facility.id)
        other = await admin.facility("Lapas Lain", TZ)
        await admin.staff("lain", Role.OFFICER, PASSWORD, other.id)
        await admin.staff("kepala", Role.ADMIN, PASSWORD, None)
        await admin.staff("rina", Role.AUDITOR, PASSWORD, facility.id)
        yield Node(app, server, facility.id)
    finally:
        await server.close()


async def console_page(browser: Browser, url: str) -> tuple[BrowserContext, Page]:
    """The console on a 1366×768 office PC in Indonesian, printing the page's errors."""
    context = await browser.new_context(locale="id-ID", viewport=OFFICE_PC)
    page = await context.new_page()
    page.on("console", lambda m: m.type == "error" and print(f"[page] {m.text}"))
    page.on("pageerror", lambda e: print(f"[page] {e}"))
    await page.goto(url)
    return context, page


async def log_in(page: Page, username: str) -> None:
    """Through the login form, as an officer would."""
    await page.wait_for_selector("#login:not([hidden])")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("#console:not([hidden])")
