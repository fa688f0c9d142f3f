"""The auditor console's reports in Chromium against a real node: a regional auditor shows the
month's report over its two facilities, switches it to English, and follows a figure's "see
events" link to the search it names; the facility's own auditor sees its facility only."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from services.admin.provision import Admin
from services.booking.slots import zone
from services.domain.model import Role
from signaling.app import STORE
from tests.e2e.console import PASSWORD, TZ, console_node, console_page, log_in

pytestmark = pytest.mark.browser
REQUESTED = "tr[data-figure='requests.requested.all']"


async def _show(page: Page, month: str) -> None:
    await page.click("#tab-reports")
    await page.fill("#report-form input[name=month]", month)
    await page.click("#report-form button[type=submit]")
    await page.wait_for_selector(f"#report-body main.report[data-month='{month}']")


@pytest.mark.timeout(90)
async def test_a_regional_auditor_reads_the_regions_report_and_its_sources(
    browser: Browser, tmp_path: Path
) -> None:
    """The region's report names both facilities and counts the month's two requests; in
    English on the language switch; its "see events" link opens the search for `requested`
    events, which lists exactly those; an auditor of the facility sees its own name only."""
    month = dt.datetime.fromtimestamp(time.time(), zone(TZ)).strftime("%Y-%m")
    async with console_node(tmp_path) as node:
        admin = Admin(node.app[STORE])
        second = await admin.facility("Lapas Dua", TZ)
        await admin.staff(
            "kanwil", Role.REGIONAL_AUDITOR, PASSWORD, None, [node.facility_id, second.id]
        )
        first = await node.request(1, "B-1234", "08:30")
        await node.request(2, "C-5", "09:00")
        context, page = await console_page(browser, f"{node.base_url}/auditor")
        await log_in(page, "kanwil")
        await _show(page, month)
        facts = await page.inner_text("#report-body .report-facts")
        assert "Lapas Uji" in facts and "Lapas Dua" in facts
        assert (await page.inner_text(f"{REQUESTED} td.num")).strip() == "2"
        assert "Semua jumlah sesuai totalnya." in await page.inner_text("#report-body")
        await page.click("button[data-lang=en]")
        await page.wait_for_function(
            "() => document.querySelector('#report-body h1')?.textContent"
            " === 'Monthly video visit report'"
        )
        await page.click(f"{REQUESTED} a")
        await page.wait_for_selector("#search:not([hidden])")
        assert await page.input_value("select[name=action]") == "requested"
        await page.wait_for_function(
            "() => { const rows = [...document.querySelectorAll('#events tbody tr')];"
            " return rows.length === 2 && rows.every(r => r.children[2].textContent"
            " === 'requested'); }"
        )
        shown = await page.eval_on_selector_all(
            "#events tbody tr td:nth-child(5)", "tds => tds.map(td => td.textContent)"
        )
        assert first.id in shown
        await context.close()
        context, page = await console_page(browser, f"{node.base_url}/auditor")
        await log_in(page, "rina")
        await _show(page, month)
        assert await page.is_hidden("#report-facility-pick")
        facts = await page.inner_text("#report-body .report-facts")
        assert "Lapas Uji" in facts and "Lapas Dua" not in facts
        await context.close()
