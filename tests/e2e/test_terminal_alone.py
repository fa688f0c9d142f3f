"""The terminal enforces the end of a visit by itself when the server is gone."""

from __future__ import annotations

import time

import pytest
from playwright.async_api import Browser

from services.domain.model import Role
from tests.e2e.stack import Stack, frames_flowing, open_page, until

pytestmark = pytest.mark.browser

COUNT_SOCKETS_JS = """() => {
  const Real = window.WebSocket;
  window.socketsOpened = 0;
  window.WebSocket = function (...args) { window.socketsOpened += 1; return new Real(...args); };
  Object.assign(window.WebSocket, { OPEN: Real.OPEN, CLOSED: Real.CLOSED });
}"""


async def cut_off(stack: Stack) -> None:
    """The server becomes unreachable at once: it stops listening and every connection to it is
    dropped without a close frame (no `ended` can reach anyone)."""
    runner = stack.server.runner
    assert runner is not None and runner.server is not None
    for site in list(runner.sites):
        await site.stop()
    for handler in runner.server.connections:
        if handler.transport is not None:
            handler.transport.abort()


@pytest.mark.timeout(60)
async def test_terminal_hangs_up_at_the_end_without_the_server(
    stack: Stack, browser: Browser
) -> None:
    """With the server stopped mid-visit (no `ended` can come), the terminal closes every
    connection of the visit about two seconds after the scheduled end, not before, and the page
    stops reconnecting once the visit's time is up, even when the network comes back."""
    visit = await stack.schedule(length_s=12)
    end = visit.visit.end
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY))
    await frames_flowing(page, peers=1)
    session = stack.agent.session
    assert session is not None

    await cut_off(stack)
    assert time.time() < end - 2  # the server really went away before the end
    assert session.end_reason is None  # a lost server alone does not end the visit

    async def closed() -> bool:
        return session.closed.is_set()

    await until(closed, end - time.time() + 6, "the terminal to end the visit itself")
    assert session.end_reason == "deadline"
    assert end + 1.0 <= time.time() <= end + 5.0
    assert all(p.pc.connectionState == "closed" for p in session.history)
    # The page, reconnecting in vain, stops at the end of the visit's time too.
    await until(lambda: page.evaluate("window.tatap.state === 'ended'"), 8, "the page to stop")
    assert await page.evaluate("window.tatap.endedReason") == "completed"
    # Back online after the end: nothing is reopened.
    await page.evaluate(COUNT_SOCKETS_JS)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.socketsOpened") == 0
    assert await page.evaluate("window.tatap.state") == "ended"
    await context.close()
