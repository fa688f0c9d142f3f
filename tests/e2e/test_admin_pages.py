"""The officer console's administration pages in Chromium against a real node: an XLSX import
with a bad row previewed (nothing applied) then applied without it; a slot template added that
families see at once; an emergency close that says how many families it affects before it
cancels them; an admin creating an officer who then logs in; an officer refused the staff page
and its API; a visitor block listed with its last day."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from pathlib import Path

import openpyxl
import pytest
from playwright.async_api import Browser

from services.booking.slots import day_bounds, zone
from services.domain.model import InmateStatus, VisitStatus
from signaling.app import STORE
from tests.e2e.console import PASSWORD, TZ, console_node, console_page, log_in

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs"


def tomorrow() -> dt.date:
    return dt.datetime.fromtimestamp(time.time(), zone(TZ)).date() + dt.timedelta(days=1)


def export() -> bytes:
    """An SDP export: a changed name, a new remand inmate, one released, and a row without a
    name."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["No Registrasi", "Nama", "Blok", "Status"])
    sheet.append(["B-1234", "Budi Santoso", "A", "narapidana"])
    sheet.append(["D-9", "Dedi", "C", "tahanan"])
    sheet.append(["C-5", "Cahyo", "A", "bebas"])
    sheet.append(["E-1", None, "C", "narapidana"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.timeout(90)
async def test_an_xlsx_import_with_a_bad_row_applies_nothing_until_confirmed(
    browser: Browser, tmp_path: Path
) -> None:
    """The preview maps the Indonesian header, names the bad row and its problem, and changes
    nothing, nor does saying no; confirmed, the good rows are applied and the bad one skipped."""
    async with console_node(tmp_path) as node:
        store = node.app[STORE]
        context, page = await console_page(browser, f"{node.base_url}/officer/inmates")
        await log_in(page, "petugas")
        await page.set_input_files(
            "#file",
            files=[
                {"name": "sdp.xlsx", "mimeType": "application/octet-stream", "buffer": export()}
            ],
        )
        await page.click("#upload-form button[type=submit]")
        await page.wait_for_selector("#preview:not([hidden])")
        assert await page.input_value("#map-number") == "No Registrasi"
        errors = await page.inner_text("#errors tbody")
        assert "5" in errors and "E-1" in errors and "nama kosong" in errors
        counts = await page.inner_text("#counts")
        assert "1 baru" in counts and "1 diubah" in counts and "1 bebas" in counts
        assert "1 bermasalah" in counts
        shot = (
            DOCS / "officer-import.png"
            if os.environ.get("TATAP_UPDATE_SCREENSHOTS")
            else (tmp_path / "import.png")
        )
        await page.screenshot(path=str(shot))
        assert await store.find_inmate(node.facility_id, "D-9") is None
        await page.click("#apply")
        await page.wait_for_selector("#confirm[open]")
        assert "dilewati" in await page.inner_text("#confirm-text")
        await page.click("#confirm-no")
        assert await store.find_inmate(node.facility_id, "D-9") is None
        await page.click("#apply")
        await page.click("#confirm-yes")
        await page.wait_for_selector("#page-status:has-text('Diterapkan')")
        assert "3 baris" in await page.inner_text("#page-status")
        new = await store.find_inmate(node.facility_id, "D-9")
        assert new is not None and new.status is InmateStatus.REMAND
        budi = await store.find_inmate(node.facility_id, "B-1234")
        assert budi is not None and budi.name == "Budi Santoso"
        cahyo = await store.find_inmate(node.facility_id, "C-5")
        assert cahyo is not None and cahyo.status is InmateStatus.RELEASED
        assert await store.find_inmate(node.facility_id, "E-1") is None
        await context.close()


@pytest.mark.timeout(60)
async def test_a_template_added_shows_in_the_free_slots(browser: Browser, tmp_path: Path) -> None:
    """An afternoon template for every day, added on the page, is offered to families for
    tomorrow at once."""
    async with console_node(tmp_path) as node:
        context, page = await console_page(browser, f"{node.base_url}/officer/schedule")
        await log_in(page, "petugas")
        await page.wait_for_selector("#rooms .template")
        for day in await page.query_selector_all("#t-days input"):
            await day.check()
        await page.fill("#t-open", "13:00")
        await page.fill("#t-close", "14:00")
        await page.click("#template-form button[type=submit]")
        await page.wait_for_selector("#rooms .template:has-text('13:00')")
        assert "ditambahkan" in await page.inner_text("#page-status")
        query = f"date={tomorrow().isoformat()}"
        slots = await page.evaluate(
            """async (url) => (await (await fetch(url)).json()).slots.map(s => s.start_ms)""",
            f"/api/v1/facilities/{node.facility_id}/slots?{query}",
        )
        one_pm = day_bounds(tomorrow(), TZ)[0] + 13 * 3_600_000
        assert one_pm in slots and one_pm + 1_800_000 in slots
        await context.close()


@pytest.mark.timeout(60)
async def test_an_emergency_close_says_how_many_families_before_it_cancels(
    browser: Browser, tmp_path: Path
) -> None:
    """The confirmation counts the visits and families the close would cancel; no changes
    nothing; yes cancels exactly those and lists the closure."""
    async with console_node(tmp_path) as node:
        first = await node.request(1, "B-1234", "08:30")
        second = await node.request(2, "C-5", "09:00")
        context, page = await console_page(browser, f"{node.base_url}/officer/schedule")
        await log_in(page, "petugas")
        await page.wait_for_selector("#rooms .template")
        day = tomorrow().isoformat()
        await page.fill("#c-from-date", day)
        await page.fill("#c-from-time", "08:00")
        await page.fill("#c-until-date", day)
        await page.fill("#c-until-time", "12:00")
        await page.fill("#c-reason", "Banjir")
        await page.click("#close-form button[type=submit]")
        await page.wait_for_selector("#confirm[open]")  # after the preview's answer
        text = await page.inner_text("#confirm-text")
        assert "2 kunjungan dibatalkan" in text and "2 keluarga" in text, text
        shot = (
            DOCS / "officer-schedule.png"
            if os.environ.get("TATAP_UPDATE_SCREENSHOTS")
            else (tmp_path / "close.png")
        )
        await page.screenshot(path=str(shot))
        await page.click("#confirm-no")
        for visit in (first, second):
            found = await node.app[STORE].get_visit(visit.id)
            assert found is not None and found.status is VisitStatus.REQUESTED
        await page.click("#close-form button[type=submit]")
        await page.wait_for_selector("#confirm[open]")
        await page.click("#confirm-yes")
        await page.wait_for_selector("#page-status:has-text('2 kunjungan dibatalkan')")
        await page.wait_for_selector("#closures li:has-text('Banjir')")
        for visit in (first, second):
            found = await node.app[STORE].get_visit(visit.id)
            assert found is not None and found.status is VisitStatus.CANCELLED
        await context.close()


@pytest.mark.timeout(60)
async def test_an_admin_creates_an_officer_who_can_then_log_in(
    browser: Browser, tmp_path: Path
) -> None:
    async with console_node(tmp_path) as node:
        context, page = await console_page(browser, f"{node.base_url}/officer/staff")
        await log_in(page, "kepala")
        await page.wait_for_selector("#accounts tr[data-username=petugas]")
        nav = await page.eval_on_selector_all("#nav a", "els => els.map(e => e.textContent)")
        assert nav[-1] == "Petugas"
        await page.fill("#s-username", "petugas3")
        await page.select_option("#s-role", "officer")
        await page.select_option("#s-facility", label="Lapas Uji")
        await page.fill("#s-password", PASSWORD)
        await page.click("#staff-form button[type=submit]")
        await page.click("#confirm-yes")
        await page.wait_for_selector("#accounts tr[data-username=petugas3]")
        await context.close()
        context, page = await console_page(browser, f"{node.base_url}/officer")
        await log_in(page, "petugas3")
        assert "Lapas Uji" in await page.inner_text("#who")
        await context.close()


@pytest.mark.timeout(60)
async def test_an_officer_is_refused_the_staff_page_and_api(
    browser: Browser, tmp_path: Path
) -> None:
    async with console_node(tmp_path) as node:
        context, page = await console_page(browser, f"{node.base_url}/officer/staff")
        await log_in(page, "petugas")
        await page.wait_for_selector("#page-error:not([hidden])")
        assert "tidak boleh" in await page.inner_text("#page-error")
        assert await page.is_hidden("#staff-form") and await page.is_hidden("#accounts")
        status = await page.evaluate(
            """async () => (await Staff.api("POST", "/api/v1/staff",
                {username: "x9", role: "admin", password: "0123456789ab"})).status"""
        )
        assert status == 403
        assert await node.app[STORE].get_staff_by_username("x9") is None
        await context.close()


@pytest.mark.timeout(60)
async def test_a_block_with_a_last_day_is_listed_with_it(browser: Browser, tmp_path: Path) -> None:
    """A visitor blocked on the schedule page through a date is listed with "sampai" and that
    date, and the server holds the block's end at that day's end."""
    async with console_node(tmp_path) as node:
        context, page = await console_page(browser, f"{node.base_url}/officer/schedule")
        await log_in(page, "petugas")
        await page.wait_for_selector("#rooms .template")
        last = tomorrow() + dt.timedelta(days=6)
        await page.fill("#b-nik", "3201011508900077")
        await page.fill("#b-reason", "ribut di ruang tunggu")
        await page.fill("#b-until", last.isoformat())
        await page.click("#block-form button[type=submit]")
        await page.click("#confirm-yes")
        await page.wait_for_selector("#blocks li.block .until")
        shown = await page.inner_text("#blocks li.block")
        assert "0077" in shown and "3201011508900077" not in shown  # masked
        assert f"sampai {last.isoformat()}" in shown
        [blocked] = await node.app[STORE].blocked_visitors(node.facility_id, 10)
        assert blocked.until == day_bounds(last, TZ)[1] / 1000
        await context.close()
