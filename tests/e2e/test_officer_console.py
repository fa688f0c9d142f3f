"""The officer console in Chromium against a real node: log in, work the approval queue (approve,
a remand request with its letter number, reject with a reason), a visit's messages with their
wa.me links; scope, a forged cross-site POST, the idle timeout and logout."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port
from playwright.async_api import Browser, Page

from services.access.sessions import SESSION_COOKIE
from services.domain.model import VisitStatus
from signaling.app import STORE
from tests.e2e.console import PASSWORD, Node, console_node, console_page, log_in
from tests.e2e.stack import until

pytestmark = pytest.mark.browser
# The README's picture; refreshed by `TATAP_UPDATE_SCREENSHOTS=1 pytest tests/e2e`.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "officer-queue.png"


async def status_of(node: Node, visit_id: str) -> VisitStatus:
    visit = await node.app[STORE].get_visit(visit_id)
    assert visit is not None
    return visit.status


def row(page: Page, visit_id: str) -> str:
    return f'#queue li[data-id="{visit_id}"]'


@pytest.mark.timeout(90)
async def test_officer_works_the_queue(browser: Browser, tmp_path: Path) -> None:
    """Requests soonest first with the priority flag and the remand marker; approve one;
    approve the remand one only with its letter number; reject one with a canned reason and
    a note (required for `other`); each behind a confirmation; then the approved visit's
    messages with a wa.me link, marked sent."""
    async with console_node(tmp_path) as node:
        late = await node.request(3, "C-5", "10:00")
        remand = await node.request(2, "T-77", "09:00")
        first = await node.request(1, "B-1234", "08:30", priority=True)
        context, page = await console_page(browser, f"{node.base_url}/officer#requests")
        await log_in(page, "petugas")
        assert "petugas" in await page.inner_text("#who")
        assert "Lapas Uji" in await page.inner_text("#who")
        nav = await page.eval_on_selector_all(
            "#nav a:not([hidden])", "els => els.map(e => e.textContent)"
        )
        # No staff page: that is for admins only.
        assert nav == [
            "Hari ini",
            "Permintaan",
            "Walk-in",
            "Layar pantau",
            "Terminal",
            "Jadwal",
            "Warga binaan",
        ]
        await page.wait_for_selector(row(page, late.id))
        ids = await page.eval_on_selector_all("#queue li", "els => els.map(e => e.dataset.id)")
        assert ids == [first.id, remand.id, late.id]
        first_row = await page.inner_text(row(page, first.id))
        assert "Prioritas" in first_row and "3201011508900001" in first_row
        assert "WIB" in first_row and "08.30" in first_row
        assert "Tahanan" in await page.inner_text(row(page, remand.id))
        shot = DOCS_SCREENSHOT if os.environ.get("TATAP_UPDATE_SCREENSHOTS") else tmp_path / "q.png"
        await page.screenshot(path=str(shot))
        assert 10_000 < shot.stat().st_size < 200_000
        await page.click('[data-lang="en"]')
        assert await page.inner_text(f"{row(page, first.id)} .approve") == "Approve"
        assert "Priority" in await page.inner_text(row(page, first.id))
        await page.click('[data-lang="id"]')

        # Approve, after saying no once: nothing changes until the officer confirms.
        await page.click(f"{row(page, first.id)} .approve")
        await page.click("#confirm-no")
        assert await status_of(node, first.id) is VisitStatus.REQUESTED
        await page.click(f"{row(page, first.id)} .approve")
        assert first.code in await page.inner_text("#confirm-text")
        await page.click("#confirm-yes")
        await page.wait_for_selector(row(page, first.id), state="detached")
        assert await status_of(node, first.id) is VisitStatus.SCHEDULED

        # The remand visit needs the letter number.
        await page.click(f"{row(page, remand.id)} .approve")
        await page.click("#confirm-yes")
        await page.wait_for_selector("#confirm-error:not([hidden])")
        assert await status_of(node, remand.id) is VisitStatus.REQUESTED
        await page.fill("#permission-ref", "B/123/PN/2026")
        await page.click("#confirm-yes")
        await page.wait_for_selector(row(page, remand.id), state="detached")
        approved = await node.app[STORE].get_visit(remand.id)
        assert approved is not None and approved.permission_ref == "B/123/PN/2026"

        # Reject with `other`: a note is required.
        await page.click(f"{row(page, late.id)} .reject")
        await page.select_option("#reject-reason", "other")
        await page.click("#confirm-yes")
        await page.wait_for_selector("#confirm-error:not([hidden])")
        await page.fill("#reject-note", "Jadwal bentrok dengan sidang")
        await page.click("#confirm-yes")
        await page.wait_for_selector("#queue-empty:not([hidden])")
        assert await status_of(node, late.id) is VisitStatus.REJECTED

        # The approved visit's messages: the approval, with its wa.me link, marked sent.
        await page.click('[data-status="scheduled"]')
        await page.wait_for_selector(row(page, first.id))
        await page.click(f"{row(page, first.id)} .messages-toggle")
        approval = f"{row(page, first.id)} .message:has-text('Disetujui')"

        async def shown() -> bool:
            if await page.query_selector(approval):
                return True
            await page.evaluate("window.officerQueue.refresh(false)")
            return False

        await until(shown, 15, "the approval message")
        href = await page.get_attribute(f"{approval} a.wa", "href")
        assert href is not None and href.startswith("https://wa.me/62812")
        await page.click(f"{approval} .mark-sent")
        await page.wait_for_selector(
            f"{row(page, first.id)} .message.state-sent:has-text('Disetujui')"
        )
        await context.close()


@pytest.mark.timeout(60)
async def test_officer_of_another_facility_sees_none(browser: Browser, tmp_path: Path) -> None:
    """An officer of another facility gets an empty queue on the page, and the API answers
    "no such ..." for this facility's queue and request."""
    async with console_node(tmp_path) as node:
        visit = await node.request(1, "B-1234", "08:30")
        context, page = await console_page(browser, f"{node.base_url}/officer#requests")
        await log_in(page, "lain")
        await page.wait_for_selector("#queue-empty:not([hidden])")
        assert await page.query_selector(row(page, visit.id)) is None
        statuses = await page.evaluate(
            """async ([facility, id]) => [
                (await fetch(`/api/v1/requests?facility=${facility}`)).status,
                (await fetch(`/api/v1/requests/${id}/notifications`)).status,
                (await Staff.api("POST", `/api/v1/requests/${id}/approve`)).status,
            ]""",
            [node.facility_id, visit.id],
        )
        assert statuses == [404, 404, 404]
        assert await status_of(node, visit.id) is VisitStatus.REQUESTED
        await context.close()


@pytest.mark.timeout(60)
async def test_admin_picks_a_facility_and_an_auditor_is_sent_away(
    browser: Browser, tmp_path: Path
) -> None:
    """An admin of every facility picks the facility whose queue to work from every facility
    (one that takes no online requests too), and sees its request, and its Today board;
    an auditor logging in at /officer is sent to /auditor."""
    async with console_node(tmp_path) as node:
        visit = await node.request(1, "B-1234", "08:30")
        context, page = await console_page(browser, f"{node.base_url}/officer#requests")
        await log_in(page, "kepala")
        assert "semua lapas" in await page.inner_text("#who")
        await page.wait_for_selector("#facility-pick:not([hidden])")
        # Every facility, by name: Lapas Lain takes no online requests but has a board.
        names = await page.eval_on_selector_all("#facility option", "os => os.map(o => o.label)")
        assert names == ["Lapas Lain", "Lapas Uji"]
        await page.select_option("#facility", label="Lapas Uji")
        await page.wait_for_selector(row(page, visit.id))
        # The Today board picks its facility the same way.
        await page.click('#nav a[href$="#today"]')
        await page.wait_for_selector("#board-facility-pick:not([hidden])")
        await page.select_option("#board-facility", label="Lapas Uji")
        await page.wait_for_selector("#rooms section.room h2:has-text('Ruang 1')")
        await page.click("#logout")
        await page.wait_for_selector("#login:not([hidden])")
        await page.fill("#username", "rina")
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await page.wait_for_url(f"{node.base_url}/auditor")
        await context.close()


@pytest.mark.timeout(60)
async def test_forged_cross_site_post_is_refused(browser: Browser, tmp_path: Path) -> None:
    """A page on another origin (same site: another port of 127.0.0.1, so the SameSite cookie
    goes along) auto-submits a form to approve a request, and fires a credentialed fetch: both
    are refused (csrf_refused) and the request stays requested."""
    async with console_node(tmp_path) as node:
        visit = await node.request(1, "B-1234", "08:30")
        context, page = await console_page(browser, f"{node.base_url}/officer#requests")
        await log_in(page, "petugas")
        await page.wait_for_selector(row(page, visit.id))
        target = f"{node.base_url}/api/v1/requests/{visit.id}/approve"
        evil_html = f"""<!doctype html><html><body>
<form id="f" method="POST" action="{target}"><input name="permission_ref" value="x"></form>
<script>
fetch("{target}", {{method: "POST", credentials: "include", mode: "no-cors",
  body: "{{}}", headers: {{"Content-Type": "text/plain"}}}}).finally(() =>
  document.getElementById("f").submit());
</script></body></html>"""

        async def evil(request: web.Request) -> web.Response:
            return web.Response(text=evil_html, content_type="text/html")

        other = web.Application()
        other.router.add_get("/", evil)
        port = unused_port()
        server = TestServer(other, host="127.0.0.1", port=port)
        await server.start_server()
        try:
            await page.goto(f"http://127.0.0.1:{port}/")
            await page.wait_for_url(target)
            assert "csrf_refused" in await page.inner_text("body")
        finally:
            await server.close()
        assert await status_of(node, visit.id) is VisitStatus.REQUESTED
        await context.close()


@pytest.mark.timeout(60)
async def test_idle_timeout_and_logout(browser: Browser, tmp_path: Path) -> None:
    """A console left alone past the idle timeout is back at the login form at its next poll,
    saying the session ended; after logging in again, logout clears the session, and the
    cookie it had no longer works."""
    async with console_node(tmp_path, console_idle_s=3.0) as node:
        context, page = await console_page(browser, f"{node.base_url}/officer#requests")
        await log_in(page, "petugas")
        await page.wait_for_timeout(4000)
        await page.evaluate("window.officerQueue.refresh(true)")
        await page.wait_for_selector("#login:not([hidden])")
        assert "Sesi berakhir" in await page.inner_text("#login-note")
        assert await page.is_hidden("#console")

        await log_in(page, "petugas")
        cookies = await context.cookies(node.base_url)
        session = next(c for c in cookies if c["name"] == SESSION_COOKIE)
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        await page.click("#logout")
        await page.wait_for_selector("#login:not([hidden])")
        assert "keluar" in await page.inner_text("#login-note")
        assert not [c for c in await context.cookies(node.base_url) if c["name"] == SESSION_COOKIE]
        async with aiohttp.ClientSession(node.base_url) as http:
            replay = {"Cookie": f"{SESSION_COOKIE}={session['value']}"}
            resp = await http.get("/officer/session", headers=replay)
            assert resp.status == 401
        await page.reload()
        await page.wait_for_selector("#login:not([hidden])")
        await context.close()
