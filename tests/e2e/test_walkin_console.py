"""The walk-in page and the terminals panel of the officer console in Chromium, against a real
node and a real terminal agent: a walk-in started from the console connects from the link it
shows (and its QR code reads as that link), the audit holds the walk-in and the officer, and
the terminals panel shows the terminal online, in the visit, then offline when the agent stops."""

from __future__ import annotations

import io
import os
from pathlib import Path

import orjson
import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import Browser

from media.agent import AGENT
from services.admin.provision import Admin
from services.audit.query import AuditQuery
from services.domain.model import Role
from signaling.app import STORE
from tests.e2e.console import PASSWORD, console_node, console_page, log_in
from tests.e2e.stack import Stack, frames_flowing, open_page, until

pytestmark = pytest.mark.browser
# The officer's guide's pictures; refreshed by `TATAP_UPDATE_SCREENSHOTS=1 pytest tests/e2e`.
DOCS = Path(__file__).resolve().parents[2] / "docs"


async def _officer(stack: Stack) -> tuple[str, str]:
    """An officer of the stack's facility with a console password: (facility id, staff id)."""
    store = stack.app[STORE]
    terminal = await store.get_terminal(stack.terminal_id)
    assert terminal is not None
    staff = await Admin(store).staff("petugas", Role.OFFICER, PASSWORD, terminal.facility_id)
    return terminal.facility_id, staff.id


@pytest.mark.timeout(150)
async def test_a_walk_in_connects_from_the_link_the_console_shows(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    """Find the inmate, pick the free room, type the visitor, confirm: the page shows the QR
    code (which decodes to the link) and the link, which the family opens in another browser
    and the call connects with the terminal; the audit has `scheduled` with `walk_in` and the
    officer; the terminals panel shows the terminal in the visit, then offline once the agent
    stops."""
    facility_id, staff_id = await _officer(stack)
    context, page = await console_page(browser, f"{stack.base_url}/officer/walk-in")
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    await log_in(page, "petugas")
    assert "Walk-in" in await page.inner_text('#nav a[aria-current="page"]')

    await page.fill("#inmate-q", "budi")
    await page.check(f'#inmates input[type=radio][value="{stack.inmate_id}"]')
    # The agent connects as the page loads: the room turns free at the next poll at the latest.
    room = f'#rooms input[value="{stack.terminal_id}"]:not([disabled])'
    await page.wait_for_selector(room, timeout=25_000)
    await page.check(room)
    await page.fill("#visitor-name", "Siti Aminah")
    shot = DOCS / "officer-walkin.png" if os.environ.get("TATAP_UPDATE_SCREENSHOTS") else None
    await page.click("#walkin-start")
    assert "Siti Aminah" in await page.inner_text("#confirm-text")
    assert "15 menit" in await page.inner_text("#confirm-text")
    await page.click("#confirm-yes")
    await page.wait_for_selector("#walkin-done:not([hidden])")
    link = await page.input_value("#walkin-link")
    assert link.startswith(f"{stack.base_url}/v/")
    assert "B-1234" in await page.inner_text("#done-what")
    await page.click("#walkin-copy")
    assert await page.evaluate("navigator.clipboard.readText()") == link

    qr = Image.open(io.BytesIO(await page.locator("#walkin-qr").screenshot()))
    (found,) = zxingcpp.read_barcodes(qr)
    assert found.text == link
    if shot:
        await page.screenshot(path=str(shot))

    rows = await stack.app[STORE].audit_search(AuditQuery(facility_id=facility_id))
    (scheduled,) = [r for r in rows if r.action == "scheduled"]
    assert (scheduled.actor_role, scheduled.actor_id) == ("officer", staff_id)
    assert orjson.loads(scheduled.details)["walk_in"] is True
    secret = link.rsplit("/", 1)[1]
    assert not [r for r in rows if secret in r.details]

    family, call = await open_page(browser, link, locale="id-ID")
    await until(lambda: call.evaluate("window.tatap && window.tatap.state === 'call'"), 30, "call")
    await frames_flowing(call, peers=1, within=30)
    session = stack.agent.session
    assert session is not None and session.visit_id == scheduled.visit_id

    await page.goto(f"{stack.base_url}/officer/terminals")
    await page.wait_for_selector("#console:not([hidden])")
    terminal_row = f'#terminal-rows tr[data-id="{stack.terminal_id}"]'
    await page.wait_for_selector(f"{terminal_row}.online")
    text = await page.inner_text(terminal_row)
    assert "Aktif" in text and "Ruang 1" in text and AGENT in text
    visit = await stack.app[STORE].get_visit(scheduled.visit_id)
    assert visit is not None
    await page.wait_for_function(
        "([sel, code]) => document.querySelector(sel).innerText.includes(code)",
        arg=[terminal_row, visit.code],
    )
    if os.environ.get("TATAP_UPDATE_SCREENSHOTS"):
        await page.screenshot(path=str(DOCS / "officer-terminals.png"))
    await family.close()

    await stack.agent.aclose()  # the visit-room PC goes off: the panel says so, live
    await page.wait_for_selector(f"{terminal_row}.offline", timeout=10_000)
    assert "Mati" in await page.inner_text(terminal_row)
    await page.click('[data-lang="en"]')
    assert "Offline" in await page.inner_text(terminal_row)
    await context.close()


@pytest.mark.timeout(60)
async def test_an_officer_of_another_facility_sees_none_of_it(
    browser: Browser, tmp_path: Path
) -> None:
    """Officer `lain`, of a facility with no rooms, finds none of the other facility's inmates,
    rooms or terminals on the walk-in page and the terminals panel."""
    async with console_node(tmp_path) as node:
        context, page = await console_page(browser, f"{node.base_url}/officer/walk-in")
        await log_in(page, "lain")
        await page.wait_for_selector("#rooms-empty:not([hidden])")
        await page.fill("#inmate-q", "Budi")
        await page.wait_for_selector("#inmates li.muted")
        assert await page.inner_text("#inmates") == "Tidak ditemukan."
        await page.goto(f"{node.base_url}/officer/terminals")
        await page.locator("#live-note", has_text="Langsung").wait_for()
        assert await page.is_visible("#terminals-empty")
        assert await page.locator("#terminal-rows tr").count() == 0
        await context.close()
