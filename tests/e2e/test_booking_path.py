"""The whole booking path in Chromium on a phone, in Indonesian: a family registers on
/register, an officer approves through the API, the family reads /status, follows the link and
the call connects with a real terminal agent."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser

from services.domain.model import VisitStatus
from signaling.app import STORE
from tests.e2e.booking import NIK, fill_until_slots, officer_headers, open_today, phone_page
from tests.e2e.stack import Stack, frames_flowing, until

pytestmark = pytest.mark.browser
# The README's picture; refreshed by `TATAP_UPDATE_SCREENSHOTS=1 pytest tests/e2e`.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "register-phone.png"


@pytest.mark.timeout(120)
async def test_register_approve_status_join(stack: Stack, browser: Browser, tmp_path: Path) -> None:
    """Every step through the UI; the code shown big; once approved /status shows the time in
    WIB and the link, which opens the call with the visit room."""
    facility_id = await open_today(stack)
    context, page = await phone_page(browser, f"{stack.base_url}/register")
    await fill_until_slots(page)
    shot = DOCS_SCREENSHOT if os.environ.get("TATAP_UPDATE_SCREENSHOTS") else tmp_path / "r.png"
    await page.screenshot(path=str(shot))
    assert 10_000 < shot.stat().st_size < 150_000
    assert "WIB" in await page.inner_text("#slots-note")
    await page.click("#submit")
    await page.wait_for_selector("#step-done:not([hidden])")
    code = (await page.inner_text("#visit-code")).strip()
    size = await page.eval_on_selector(
        "#visit-code", "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert size >= 32 and "Petugas" in await page.inner_text("#step-done")

    visit = await stack.app[STORE].visit_by_code(code)
    assert visit is not None and visit.status is VisitStatus.REQUESTED
    family = await stack.app[STORE].get_visitor(visit.participants[-1].visitor_id or "")
    assert family is not None and family.priority and family.nik == NIK
    async with aiohttp.ClientSession() as http:
        url = f"{stack.base_url}/api/v1/requests/{visit.id}/approve"
        async with http.post(url, headers=officer_headers(stack, facility_id)) as resp:
            assert resp.status == 200, await resp.text()

    await page.click("#to-status")
    await page.wait_for_url("**/status?code=*")
    assert await page.input_value("#code") == code
    await page.fill("#nik_last4", NIK[-4:])
    await page.click("#check")
    await page.wait_for_selector("#approved:not([hidden])")
    # The terminal takes its seat as the visit opens: the visit may be live already.
    assert await page.inner_text("#state") in ("Disetujui", "Sedang berlangsung")
    assert "WIB" in await page.inner_text("#when")
    calendar = await page.evaluate("window.tatapStatus.calendar()")
    assert "\r\nDTSTART:" in calendar and "\r\nUID:" in calendar and "\r\nURL:" in calendar

    await page.click("#join")
    await page.wait_for_url("**/v/*")
    await until(lambda: page.evaluate("window.tatap && window.tatap.state === 'call'"), 20, "call")
    await frames_flowing(page, peers=1, within=30)
    session = stack.agent.session
    assert session is not None and session.visit_id == visit.id
    await context.close()
