"""What the booking browser tests share: a stack's facility opened for requests today, a staff
token, and a phone-sized page."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import aiohttp
from playwright.async_api import Browser, BrowserContext, Page

from services.booking.calendar import CalendarService
from services.booking.slots import BookingWindow, zone
from services.domain.model import Role, VisitKind
from signaling.app import STORE, TOKENS
from tests.e2e.stack import Stack

PHONE = {"width": 360, "height": 740}
NIK = "3201011508900001"
LEAD_MIN = 2  # the first slot starts this many minutes (at most) from now: the UI has time


async def open_today(stack: Stack, length_min: int = 5) -> str:
    """Book from today (booking window 0 days) in slots of ``length_min`` from ``LEAD_MIN``
    minutes from now, facility time; returns the facility's id."""
    store = stack.app[STORE]
    terminal = await store.get_terminal(stack.terminal_id)
    assert terminal is not None
    facility = await store.get_facility(terminal.facility_id)
    assert facility is not None
    now = dt.datetime.fromtimestamp(time.time(), zone(facility.timezone))
    opens = now.hour * 60 + now.minute + LEAD_MIN
    closes = opens + 4 * length_min
    if closes > 24 * 60:
        import pytest

        pytest.skip("too close to the facility's midnight to open slots today")
    calendar = CalendarService(store)
    # Education visits on today's weekday as well as on Sundays, so that each kind has slots.
    education = frozenset({6, now.weekday()})
    await calendar.set_window(facility.id, BookingWindow(0, 14, education))
    kinds = frozenset({VisitKind.REGULAR, VisitKind.EDUCATION, VisitKind.LEGAL})
    await calendar.add_template(
        terminal.room_id, frozenset({now.weekday()}), (opens, closes), length_min, kinds
    )
    return facility.id


def officer_headers(stack: Stack, facility_id: str) -> dict[str, str]:
    token, _ = stack.app[TOKENS].issue(
        sub="s_off", role=Role.OFFICER, visit="", now=time.time(), ttl_s=600, facility=facility_id
    )
    return {"Authorization": f"Bearer {token}"}


async def phone_page(browser: Browser, url: str) -> tuple[BrowserContext, Page]:
    """A 360×740 phone in Indonesian, printing the page's errors."""
    context = await browser.new_context(locale="id-ID", viewport=PHONE, has_touch=True)
    page = await context.new_page()
    page.on("console", lambda m: m.type == "error" and print(f"[page] {m.text}"))
    page.on("pageerror", lambda e: print(f"[page] {e}"))
    await page.goto(url)
    return context, page


async def fill_until_slots(page: Page, nik: str = NIK, priority: bool = True) -> None:
    """Through /register's steps up to the first free slot picked, as a family would."""
    await page.wait_for_selector("#facility option:nth-child(2)", state="attached")
    await page.click("#step-facility button[type=submit]")
    await page.fill("#inmate_number", "B-1234")
    await page.fill("#inmate_name", "budi")
    await page.click("#step-inmate button[type=submit]")
    await page.wait_for_selector("#step-visitor:not([hidden])")
    await page.fill("#name", "Siti Aminah")
    await page.fill("#nik", nik)
    await page.fill("#phone", "0812-3456-7890")
    await page.select_option("#relationship", "spouse")
    await page.click("#step-visitor button[type=submit]")
    await page.wait_for_selector("#step-needs:not([hidden])")
    if priority:
        await page.check("#need-elderly")
    await page.click("#step-needs button[type=submit]")
    await page.wait_for_selector("#step-kind:not([hidden])")
    await page.check("#kind-regular")
    await page.click("#step-kind button[type=submit]")
    await page.wait_for_selector("#slots input[name=slot]")
    await page.check("#slots input[name=slot] >> nth=0")


async def request_by_api(
    stack: Stack, facility_id: str, inmate: str = "B-1234", nik: str = NIK, nth: int = 0
) -> dict[str, Any]:
    """A request for today's ``nth`` free slot, made through the API as the page makes it."""
    async with aiohttp.ClientSession(base_url=stack.base_url) as http:
        store = stack.app[STORE]
        facility = await store.get_facility(facility_id)
        assert facility is not None
        today = dt.datetime.fromtimestamp(time.time(), zone(facility.timezone)).date()
        path = f"/api/v1/facilities/{facility_id}/slots?date={today.isoformat()}"
        async with http.get(path) as resp:
            slots = (await resp.json())["slots"]
        body = {
            "facility_id": facility_id,
            "inmate_number": inmate,
            "kind": "regular",
            "start_ms": slots[nth]["start_ms"],
            "visitor": {
                "name": "Siti Aminah",
                "nik": nik,
                "phone": "0812-3456-7890",
                "relationship": "spouse",
            },
        }
        async with http.post("/api/v1/requests", json=body) as resp:
            assert resp.status == 201, await resp.text()
            made: dict[str, Any] = await resp.json()
            return made


async def staff_post(stack: Stack, facility_id: str, path: str, body: Any = None) -> int:
    """An officer's POST; its status."""
    async with aiohttp.ClientSession(base_url=stack.base_url) as http:
        headers = officer_headers(stack, facility_id)
        async with http.post(path, json=body, headers=headers) as resp:
            return resp.status
