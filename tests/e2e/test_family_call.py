"""A family page and the visit-room terminal in a real call: Chromium and aiortc."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser

from services.domain.model import Role
from tests.e2e.stack import (
    REMOTE_WIDTHS_JS,
    Stack,
    frames_flowing,
    make_agent,
    open_page,
    until,
)

pytestmark = pytest.mark.browser
# The README's picture; refreshed by `TATAP_UPDATE_SCREENSHOTS=1 pytest tests/e2e`.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "family-call.png"


def first_of_each(actions: list[str], wanted: list[str]) -> list[str]:
    """The wanted actions in the order of their first appearance."""
    seen: list[str] = []
    for action in actions:
        if action in wanted and action not in seen:
            seen.append(action)
    return seen


@pytest.mark.timeout(60)
async def test_short_visit_runs_to_completed(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    """Media flows both ways, the countdown and the warning show, and at the end the page says
    `completed`, the terminal hangs up, and the audit log holds joined, connected, warned, ended."""
    visit = await stack.schedule(length_s=20)
    end_ms = int(visit.visit.end * 1000)
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY), locale="id-ID")

    await until(lambda: page.evaluate("window.tatap.state === 'call'"), 10, "the call screen")
    await frames_flowing(page, peers=1)
    widths = await page.evaluate(REMOTE_WIDTHS_JS)
    assert len(widths) == 1 and widths[0] > 0
    session = stack.agent.session
    assert session is not None and session.visit_id == visit.visit.id
    decoded = session.frames_decoded
    await until(lambda: _async(session.frames_decoded > decoded + 5), 5, "terminal decoding")

    countdown = await page.inner_text("#countdown-value")
    minutes, seconds = (int(x) for x in countdown.split(":"))
    left = end_ms / 1000 - time.time()
    assert abs(minutes * 60 + seconds - left) <= 2, (countdown, left)
    shot = DOCS_SCREENSHOT if os.environ.get("TATAP_UPDATE_SCREENSHOTS") else tmp_path / "call.png"
    await page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # a picture, not a blank page

    await page.wait_for_selector("#banner:not([hidden])", timeout=15_000)
    banner = await page.inner_text("#banner")
    assert "detik" in banner  # the warning, in Indonesian

    await until(lambda: page.evaluate("window.tatap.state === 'ended'"), 15, "the ended screen")
    assert await page.evaluate("window.tatap.endedReason") == "completed"
    assert await page.is_visible("#screen-ended")
    assert "habis" in await page.inner_text("#ended-text")

    await until(lambda: _async(session.closed.is_set()), 5, "the terminal to close the visit")
    assert session.end_reason == "completed"
    assert session.history and all(p.pc.connectionState == "closed" for p in session.history)

    async def logged() -> list[str] | None:
        actions = first_of_each(
            await stack.actions(visit.visit.id), ["joined", "connected", "warned", "ended"]
        )
        return actions if len(actions) == 4 else None

    assert await until(logged, 5, "the audit events") == ["joined", "connected", "warned", "ended"]
    await context.close()


@pytest.mark.timeout(60)
async def test_terminal_that_comes_later_offers(stack: Stack, browser: Browser) -> None:
    """The page waits for the visit room; the terminal, connecting after it, sends the offer."""
    await stack.agent.aclose()
    visit = await stack.schedule(length_s=60)
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY))
    await until(lambda: page.evaluate("window.tatap.state === 'call'"), 10, "the call screen")
    assert await page.inner_text("#status") == "Waiting for the visit room to connect…"
    assert await page.evaluate("Object.keys(window.tatap.pcs).length") == 0

    stack.agent = make_agent(stack.creds)
    stack.agent.start()
    await frames_flowing(page, peers=1)
    session = stack.agent.session
    assert session is not None and session.history[0].pc.localDescription.type == "offer"
    assert await page.is_hidden("#status")
    await context.close()


async def _async(value: object) -> object:
    return value
