"""Offers lost while a socket was down, and both sides offering at once, still end in media."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import pytest
from playwright.async_api import Browser

from services.domain.model import Role
from tests.e2e.stack import Stack, frames_flowing, make_agent, open_page, until

pytestmark = pytest.mark.browser

GLARE_JS = """(id) => {
  chain(id, () => peers.offer(id));
  chain(id, () => new Promise((resolve) => setTimeout(resolve, 1500)));
}"""


@pytest.mark.timeout(60)
async def test_terminal_offers_again_after_its_offer_was_lost(
    stack: Stack, browser: Browser
) -> None:
    """The terminal joins after the page and offers, but the offer never reaches the server (the
    socket died under it). Back on a new socket (`resumed`), the terminal offers again to the page
    whose connection is not up, and media flows."""
    await stack.agent.aclose()
    visit = await stack.schedule(length_s=60)
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY))
    await until(lambda: page.evaluate("window.tatap.state === 'call'"), 10, "the call screen")

    agent = stack.agent = make_agent(stack.creds)
    send = agent._send
    sent: list[dict[str, Any]] = []
    lost = asyncio.Event()

    def lossy(message: dict[str, Any]) -> bool:
        if message["type"] == "signal" and not lost.is_set():
            lost.set()
            return True  # queued, as far as the session can tell, and then lost with the socket
        sent.append(message)
        return send(message)

    agent._send = lossy  # type: ignore[method-assign]
    agent.start()
    await asyncio.wait_for(lost.wait(), 10)
    session = agent.session
    assert session is not None
    stuck = next(iter(session.peers.values()))
    assert stuck.pc.signalingState == "have-local-offer"
    ws = agent._ws
    assert ws is not None
    await ws.close(code=4999)  # the socket goes; the device session comes back by itself

    await until(lambda: _async(len(agent.welcomes) >= 2), 10, "the terminal's second welcome")
    assert agent.welcomes[-1].resumed is True
    await frames_flowing(page, peers=1)
    assert stuck.pc.connectionState == "closed"
    assert any(m["type"] == "signal" and m["data"]["sdp"]["type"] == "offer" for m in sent)
    await context.close()


@pytest.mark.timeout(60)
async def test_both_sides_offering_at_once_converge(stack: Stack, browser: Browser) -> None:
    """Glare: the page and the terminal send each other an offer at the same moment. The
    terminal yields and answers the page's offer, the page ignores the terminal's, and media
    flows on the page's new connection."""
    visit = await stack.schedule(length_s=60)
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY))
    await frames_flowing(page, peers=1)
    session = stack.agent.session
    assert session is not None
    pid = next(iter(session.peers))
    terminal_id = await page.evaluate("Object.keys(window.tatap.pcs)[0]")
    old = await page.evaluate("window.tatap.pcs[Object.keys(window.tatap.pcs)[0]]._tag = 'old'")
    assert old == "old"

    # Both offers cross: the page offers and then holds its incoming signals back for a moment,
    # so the terminal's offer (sent at the same time) finds the page's own offer pending.
    session._spawn(session._locked(pid, partial(session._offer, pid)), "offer")
    await page.evaluate(GLARE_JS, terminal_id)

    async def new_connection_up() -> bool:
        return bool(
            await page.evaluate(
                "(id) => { const pc = window.tatap.pcs[id];"
                " return !!pc && pc._tag !== 'old' && pc.connectionState === 'connected'; }",
                terminal_id,
            )
        )

    await until(new_connection_up, 15, "the page's new connection to come up")
    await frames_flowing(page, peers=1)
    peer = session.peers[pid]
    assert not peer.offered  # the terminal answered: it yielded
    decoded = peer.frames.video
    await until(lambda: _async(peer.frames.video > decoded + 5), 10, "the terminal decoding")
    await context.close()


async def _async(value: object) -> object:
    return value
