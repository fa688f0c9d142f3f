"""The auditor console in Chromium against a real node: an auditor logs in at /auditor, searches
and finds a visit, opens its timeline (media-up intervals drawn as a bar), exports the search as
CSV whose bytes are the CLI's, verifies the chain (OK, then the first bad row after a row is
doctored); a regional auditor sees its two facilities and an auditor only its own."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from services.admin.provision import Admin
from services.audit.chain import AuditEvent
from services.booking.slots import zone
from services.domain.model import Role
from signaling.app import STORE
from tests.e2e.console import PASSWORD, TZ, Node, console_node, console_page, log_in
from tests.e2e.stack import until
from tests.helpers.audit import rows, run_cli, tamper

pytestmark = pytest.mark.browser
# The README's picture; refreshed by `TATAP_UPDATE_SCREENSHOTS=1 pytest tests/e2e`.
DB = "tatap.db"  # in the node's data directory (console_node's tmp_path)
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "auditor-timeline.png"


async def _media_events(node: Node, visit_id: str, start_s: float) -> None:
    """The visit's media up, a family drop and return (a gap), then the end: as the hub logs."""
    events = [
        ("joined", "family", "p_fam", 0),
        ("joined", "terminal", "t_room", 20),
        ("connected", "family", "p_fam", 30),
        ("left", "family", "p_fam", 300),
        ("reconnected", "family", "p_fam", 420),
        ("ended", "system", "node", 900),
    ]
    await node.app[STORE].append(
        [
            AuditEvent(a, role, who, node.facility_id, visit_id, {}, ts=start_s + at)
            for a, role, who, at in events
        ]
    )


async def _visits_shown(page: Page) -> list[str]:
    return await page.eval_on_selector_all(
        "#events tbody tr td:nth-child(5)", "tds => tds.map(td => td.textContent)"
    )


@pytest.mark.timeout(90)
async def test_auditor_searches_opens_a_timeline_exports_and_verifies(
    browser: Browser, tmp_path: Path
) -> None:
    """Search by the inmate's name finds only its visit; the timeline shows two media-up
    intervals (one gap, lost on the family side, with its minutes); the CSV download of the
    search is the CLI's export byte for byte; verify says OK, then names the doctored row."""
    async with console_node(tmp_path) as node:
        # Approved: a visit that was to be held (a request never approved loses nothing).
        visit = await node.approve(await node.request(1, "B-1234", "08:30"))
        await node.request(2, "C-5", "09:00")
        await _media_events(node, visit.id, visit.start)
        context, page = await console_page(browser, f"{node.base_url}/auditor")
        await log_in(page, "rina")
        assert "Lapas Uji" in await page.inner_text("#who")
        assert await page.is_hidden("#facility-pick")
        await page.wait_for_selector("#events tbody tr")
        await page.fill("input[name=inmate]", "budi")
        await page.select_option("select[name=action]", "requested")
        await page.click("#filters button[type=submit]")
        await page.wait_for_function(
            "id => [...document.querySelectorAll('#events tbody tr td:nth-child(5)')]"
            ".every(td => td.textContent === id)",
            arg=visit.id,
        )
        assert await _visits_shown(page) == [visit.id]
        # A date range in the facility's days: today's request is not found from tomorrow on,
        # and found within today.
        today = dt.datetime.now(zone(TZ)).date()
        await page.fill("input[name=since]", (today + dt.timedelta(days=1)).isoformat())
        await page.click("#filters button[type=submit]")
        await page.wait_for_selector("#search-empty:not([hidden])")
        await page.fill("input[name=since]", today.isoformat())
        await page.fill("input[name=until]", today.isoformat())
        await page.click("#filters button[type=submit]")
        await page.wait_for_selector("#events:not([hidden])")
        assert await _visits_shown(page) == [visit.id]
        await page.fill("input[name=until]", "")
        await page.fill("input[name=since]", "")
        await page.click("#filters button[type=submit]")
        await page.wait_for_selector("#events:not([hidden])")

        # Export the search: the bytes `tatap audit export` writes for the same filter.
        async with page.expect_download() as download:
            await page.click("#export-csv")
        saved = await (await download.value).path()
        cli = tmp_path / "cli.csv"
        done = run_cli(
            tmp_path,  # the node's data directory: the CLI reads its database beside it
            "audit",
            "export",
            "--facility",
            node.facility_id,
            "--inmate",
            "budi",
            "--action",
            "requested",
            "--out",
            str(cli),
        )
        assert done.returncode == 0, done.stderr
        assert saved is not None and saved.read_bytes() == cli.read_bytes()  # noqa: ASYNC240
        assert visit.id in cli.read_text()

        # The visit's timeline: every event, and media up twice around the family's drop.
        await page.click(f"#events tbody button:text('{visit.id}')")
        await page.wait_for_selector("#timeline:not([hidden]) #timeline-events li")
        assert await page.eval_on_selector_all("#media-bar .up", "els => els.length") == 2
        actions = await page.eval_on_selector_all(
            "#timeline-events li strong", "els => els.map(e => e.textContent)"
        )
        assert actions[0] == "requested" and "connected" in actions and actions[-1] == "ended"
        assert "2 jeda" not in await page.inner_text("#media-to")  # one gap between two
        assert "1 jeda" in await page.inner_text("#media-to")
        # The family's drop is time lost on the family side: drawn in its colour, and counted.
        assert await page.eval_on_selector_all("#media-bar .gap.family", "els => els.length") == 1
        assert await page.eval_on_selector_all("#media-bar .gap.system", "els => els.length") == 0
        family = await page.inner_text("#lost-totals li[data-cause=family]")
        assert family == "Sisi keluarga: 2.0 menit"
        assert "0.0 menit" in await page.inner_text("#lost-totals li[data-cause=system]")
        shot = DOCS_SCREENSHOT if os.environ.get("TATAP_UPDATE_SCREENSHOTS") else tmp_path / "t.png"
        await page.screenshot(path=str(shot))

        # Verify: OK, then the doctored row named.
        await page.click("#tab-verify")
        await page.click("#verify-run")
        await page.wait_for_selector("#verify-result[data-ok=true]")
        assert (await page.inner_text("#verify-result")).startswith("OK:")
        assert "Tidak ada saksi" in await page.inner_text("#witness")
        db = tmp_path / DB
        target = rows(
            db,
            "SELECT seq FROM audit_events WHERE visit_id = ? AND action = 'requested'",
            (visit.id,),
        )[0][0]
        tamper(db, ("UPDATE audit_events SET details = '{}' WHERE seq = ?", (target,)))
        await page.click("#verify-run")
        await page.wait_for_selector("#verify-result[data-ok=false]")
        assert await page.get_attribute("#verify-result", "data-first-bad") == str(target)
        assert f"no. {target}" in await page.inner_text("#verify-result")
        await context.close()


@pytest.mark.timeout(60)
async def test_regional_auditor_sees_its_facilities_and_an_auditor_its_own(
    browser: Browser, tmp_path: Path
) -> None:
    """A regional auditor of two facilities picks either of them and finds both facilities'
    events (and none of a third); the facility's own auditor sees its facility only."""
    async with console_node(tmp_path) as node:
        admin = Admin(node.app[STORE])
        second = await admin.facility("Lapas Dua", "Asia/Jakarta")
        await admin.facility("Lapas Tiga", "Asia/Jakarta")
        await admin.staff(
            "kanwil", Role.REGIONAL_AUDITOR, PASSWORD, None, [node.facility_id, second.id]
        )
        context, page = await console_page(browser, f"{node.base_url}/auditor")
        await log_in(page, "kanwil")
        await page.wait_for_selector("#facility-pick:not([hidden])")
        await page.click("button[data-lang=en]")
        assert await page.inner_text("#tab-search") == "Search"
        assert await page.inner_text(".title") == "Auditor console"
        await page.click("button[data-lang=id]")
        assert await page.inner_text("#tab-verify") == "Verifikasi"
        names = await page.eval_on_selector_all("#facility option", "os => os.map(o => o.label)")
        assert names[1:] == ["Lapas Uji", "Lapas Dua"] or names[1:] == ["Lapas Dua", "Lapas Uji"]
        await page.wait_for_selector("#events tbody tr")
        region = {node.facility_id, second.id}
        assert await _facilities_shown(tmp_path, page) == region
        await page.select_option("#facility", label="Lapas Dua")

        async def only_second() -> bool:
            return await _facilities_shown(tmp_path, page) == {second.id}

        await until(only_second, 10, "the events of Lapas Dua alone")
        await page.click("#logout")
        await log_in(page, "rina")
        assert await page.is_hidden("#facility-pick")
        await page.wait_for_selector("#events tbody tr")
        assert await _facilities_shown(tmp_path, page) == {node.facility_id}
        await context.close()


async def _facilities_shown(data_dir: Path, page: Page) -> set[str]:
    """The facilities of the events in the table (by their seq, from the database)."""
    seqs = await page.eval_on_selector_all(
        "#events tbody tr", "trs => trs.map(tr => Number(tr.dataset.seq))"
    )
    db = data_dir / DB
    marks = ",".join("?" * len(seqs))
    found = rows(
        db, f"SELECT DISTINCT facility_id FROM audit_events WHERE seq IN ({marks})", tuple(seqs)
    )
    return {r[0] for r in found}


async def _seqs(page: Page) -> list[int]:
    return await page.eval_on_selector_all(
        "#events tbody tr", "trs => trs.map(tr => Number(tr.dataset.seq))"
    )


@pytest.mark.timeout(60)
async def test_auditor_pages_through_the_newest_events(browser: Browser, tmp_path: Path) -> None:
    """Newest first, 50 a page: "next" goes on to older events until none are left, "previous"
    comes back to the same page; oldest first starts at the log's first event."""
    async with console_node(tmp_path) as node:
        await node.app[STORE].append(
            [
                AuditEvent("notice", "admin", "cli", node.facility_id, "", {"i": i})
                for i in range(130)
            ]
        )
        # The facility's first event (the node's own `node-started`, of no facility, comes before).
        sql = "SELECT min(seq) FROM audit_events WHERE facility_id = ?"
        oldest_seq = rows(tmp_path / DB, sql, (node.facility_id,))[0][0]
        context, page = await console_page(browser, f"{node.base_url}/auditor")
        await log_in(page, "rina")
        await page.wait_for_selector("#events tbody tr")
        first = await _seqs(page)
        assert len(first) == 50 and first == sorted(first, reverse=True)
        assert await page.is_disabled("#prev-page")
        pages = [first]
        while await page.is_enabled("#next-page"):
            before = pages[-1]
            await page.click("#next-page")

            async def moved(before: list[int] = before) -> list[int] | None:
                now = await _seqs(page)
                return now if now and now != before else None

            pages.append(await until(moved, 10, "the next page"))
            assert max(pages[-1]) < min(before)
        assert (
            min(pages[-1]) == oldest_seq and len(pages) >= 3
        )  # so that "previous" is a middle page
        await page.click("#prev-page")

        async def back() -> bool:
            return await _seqs(page) == pages[-2]

        await until(back, 10, "the previous page again")
        await page.select_option("select[name=order]", "asc")
        await page.click("#filters button[type=submit]")

        async def oldest() -> bool:
            seqs = await _seqs(page)
            return bool(seqs) and seqs[0] == oldest_seq

        await until(oldest, 10, "the oldest event first")
        await context.close()
