"""The waiting room when the camera cannot be used: a clear message, and a way in without it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from services.domain.model import Role
from tests.e2e.stack import CHROMIUM, CHROMIUM_ARGS, Stack, frames_flowing, open_page, until

pytestmark = pytest.mark.browser


@pytest.fixture
async def strict_browser() -> AsyncIterator[Browser]:
    """Chromium that does not grant camera and microphone by itself (no fake permission UI)."""
    async with async_playwright() as pw:
        args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.mark.timeout(60)
async def test_denied_camera_is_explained_and_the_visit_still_works(
    stack: Stack, strict_browser: Browser
) -> None:
    """Permission denied shows its own message; joining without the camera still gives the family
    the inmate's picture, and the terminal receives a connection."""
    visit = await stack.schedule(length_s=60)
    context = await strict_browser.new_context(locale="en-US")
    page = await context.new_page()
    await page.goto(stack.link(visit, Role.FAMILY))
    await page.wait_for_selector("#device-error:not([hidden])", timeout=10_000)
    assert "permission was denied" in await page.inner_text("#device-error-text")
    assert await page.evaluate("Object.keys(window.tatap.pcs).length") == 0

    await page.click("#no-camera")
    await until(lambda: page.evaluate("window.tatap.state === 'call'"), 10, "the call screen")
    await frames_flowing(page, peers=1)
    session = stack.agent.session
    assert session is not None and session.peers
    await context.close()


@pytest.mark.timeout(60)
async def test_early_page_says_when_and_joins_by_itself(stack: Stack, browser: Browser) -> None:
    """Opened before the visit's window (5 minutes before the start), the page says when it opens,
    waits, and joins the call by itself once it does."""
    visit = await stack.schedule(length_s=60, start_in=300 + 3)
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY))
    await page.wait_for_selector("#wait-note:not([hidden])", timeout=10_000)
    assert "has not opened yet" in await page.inner_text("#wait-note")
    assert await page.evaluate("window.tatap.errorCode") == "visit_not_open"
    assert await page.evaluate("window.tatap.state") == "waiting"

    await until(lambda: page.evaluate("window.tatap.state === 'call'"), 20, "the call to open")
    await frames_flowing(page, peers=1)
    await context.close()
