"""A family whose connection drops mid-visit comes back into the same visit, same end time."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from services.domain.model import Role
from tests.e2e.stack import Stack, frames_flowing, open_page, until

pytestmark = pytest.mark.browser


@pytest.mark.timeout(60)
async def test_page_resumes_after_its_socket_drops(stack: Stack, browser: Browser) -> None:
    """The page reconnects by itself: `welcome.resumed` is true, the end time is unchanged, a new
    connection to the terminal replaces the old one, and media flows again both ways."""
    visit = await stack.schedule(length_s=45)
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY))
    await until(lambda: page.evaluate("window.tatap.state === 'call'"), 10, "the call screen")
    await frames_flowing(page, peers=1)
    session = stack.agent.session
    assert session is not None
    first_pc = session.peers[next(iter(session.peers))]
    first_end = await page.evaluate("window.tatap.endMs")

    # The page's socket closes with a code no server sends (a clean close, not a network drop:
    # see the test below for that).
    await page.evaluate("window.tatap.ws.close(4999)")
    await until(lambda: page.evaluate("window.tatap.welcomes.length === 2"), 15, "a second welcome")
    welcome = await page.evaluate("window.tatap.welcomes[1]")
    assert welcome["resumed"] is True
    assert welcome["visit"]["end_ms"] == first_end
    assert abs(first_end - visit.visit.end * 1000) <= 1
    assert await page.evaluate("window.tatap.state") == "call"

    await frames_flowing(page, peers=1)

    async def replaced() -> bool:
        peer = next(iter(session.peers.values()), None)
        return peer is not None and peer is not first_pc and peer.frames.video > 5

    await until(replaced, 10, "the terminal to decode video on the new connection")
    assert first_pc.pc.connectionState == "closed"
    left = await page.evaluate("window.tatap.remainingMs")
    assert 0 < left < 45_000
    actions = await stack.actions(visit.visit.id)
    assert "left" in actions and "reconnected" in actions
    assert actions.index("reconnected") > actions.index("left")
    await context.close()


@pytest.mark.timeout(60)
async def test_both_ends_come_back_after_the_server_drops_them(
    stack: Stack, browser: Browser
) -> None:
    """Every socket to the server is cut at once: the terminal reconnects by itself (device
    session, backoff), both sides are welcomed back into the same visit, and media flows on."""
    visit = await stack.schedule(length_s=45)
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY))
    await frames_flowing(page, peers=1)
    agent = stack.agent
    assert agent.connects == 1

    runner = stack.server.runner
    assert runner is not None and runner.server is not None
    for handler in runner.server.connections:  # a network cut: no close frames
        if handler.transport is not None:
            handler.transport.abort()

    async def terminal_back() -> bool:
        return agent.connects >= 2 and agent.welcomes[-1].resumed is True

    await until(terminal_back, 15, "the terminal to be welcomed back")
    assert agent.welcomes[-1].visit == agent.welcomes[0].visit
    await until(lambda: page.evaluate("window.tatap.welcomes.length >= 2"), 15, "the page back")
    assert await page.evaluate("window.tatap.welcomes[1].resumed") is True

    await frames_flowing(page, peers=1)
    session = agent.session
    assert session is not None and session.visit_id == visit.visit.id
    decoded = session.frames_decoded

    async def terminal_decoding() -> bool:
        return session.frames_decoded > decoded + 5

    await until(terminal_decoding, 10, "the terminal to keep decoding")
    await context.close()


@pytest.mark.timeout(60)
async def test_page_comes_back_after_its_network_drops(stack: Stack, browser: Browser) -> None:
    """The browser goes offline (no close frame reaches anyone) and comes back: the page notices
    the dead socket, reconnects with the same token into the same visit, and media flows."""
    visit = await stack.schedule(length_s=45)
    context = await browser.new_context(locale="en-US")
    await context.add_init_script("window.tatapPingMs = 1000;")
    page = await context.new_page()
    await page.goto(stack.link(visit, Role.FAMILY))
    await frames_flowing(page, peers=1)

    await context.set_offline(True)
    await until(
        lambda: page.evaluate("window.tatap.state === 'reconnecting'"),
        10,
        "the page to notice the drop",
    )
    await context.set_offline(False)
    await until(lambda: page.evaluate("window.tatap.welcomes.length === 2"), 15, "a second welcome")
    assert await page.evaluate("window.tatap.welcomes[1].resumed") is True
    assert await page.evaluate("window.tatap.state") == "call"
    await frames_flowing(page, peers=1)
    await context.close()
