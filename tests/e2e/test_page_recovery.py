"""The family page recovering on its own: a failed token renewal, a half-open socket, a visit that
ended while it was away, a phone whose clock is wrong."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, WebSocketRoute

from services.domain.model import Role
from tests.e2e.stack import Stack, frames_flowing, until

pytestmark = pytest.mark.browser


@dataclass
class SocketTap:
    """Every page socket goes through the test: it records what the page sends, and can make one
    socket silent both ways (a half-open connection: nothing arrives, nothing closes)."""

    sent: list[list[dict[str, Any]]] = field(default_factory=list)
    silent: set[int] = field(default_factory=set)
    drop_ended: set[int] = field(default_factory=set)
    routes: list[WebSocketRoute] = field(default_factory=list)

    async def install(self, page: Page) -> None:
        await page.route_web_socket("**/ws", self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        index = len(self.routes)
        self.routes.append(ws)
        self.sent.append([])
        server = ws.connect_to_server()

        def up(message: str | bytes) -> None:
            self.sent[index].append(json.loads(message))
            if index not in self.silent:
                server.send(message)

        def down(message: str | bytes) -> None:
            if index in self.silent:
                return
            if index in self.drop_ended and '"ended"' in str(message):
                # The end never arrives: the socket dies first (1006 is not ours to send).
                self.silent.add(index)
                asyncio.get_running_loop().create_task(ws.close(code=4999))
                return
            ws.send(message)

        def server_closed(code: int | None, reason: str | None) -> None:
            if index not in self.silent:
                asyncio.get_running_loop().create_task(ws.close(code=code, reason=reason))

        ws.on_message(up)
        server.on_message(down)
        server.on_close(server_closed)


async def call_up(
    stack: Stack, browser: Browser, length_s: int, init: str = "", tap: SocketTap | None = None
) -> tuple[Any, Page, Any]:
    visit = await stack.schedule(length_s=length_s)
    context = await browser.new_context(locale="en-US", viewport={"width": 960, "height": 600})
    if init:
        await context.add_init_script(init)
    page = await context.new_page()
    page.on("console", lambda m: m.type == "error" and print(f"[page] {m.text}"))
    if tap is not None:
        await tap.install(page)
    await page.goto(stack.link(visit, Role.FAMILY))
    await frames_flowing(page, peers=1)
    return context, page, visit


@pytest.mark.timeout(45)
async def test_token_renewal_that_fails_once_is_retried(stack: Stack, browser: Browser) -> None:
    """After a 4401 the page fetches a new token; when that fetch fails (a 503, then the
    network), it tries again with backoff instead of staying "reconnecting" for ever."""
    context, page, _ = await call_up(stack, browser, 40)
    failures = {"left": 2}

    async def flaky(route: Route) -> None:
        if failures["left"] == 2:
            failures["left"] -= 1
            await route.fulfill(status=503, body='{"error":{"code":"unavailable"}}')
        elif failures["left"] == 1:
            failures["left"] -= 1
            await route.abort("connectionreset")
        else:
            await route.continue_()

    await page.route("**/api/v1/join", flaky)
    # The token stops being accepted (as after a key rotation): the next hello gets 4401.
    await page.evaluate("() => { token = 'not-a-token'; window.tatap.ws.close(4999); }")
    await until(lambda: page.evaluate("window.tatap.welcomes.length === 2"), 20, "a new welcome")
    assert failures["left"] == 0
    assert await page.evaluate("window.tatap.state") == "call"
    await frames_flowing(page, peers=1)
    await context.close()


@pytest.mark.timeout(45)
async def test_half_open_socket_is_detected_and_replaced(stack: Stack, browser: Browser) -> None:
    """A socket that goes silent without closing (pongs stop coming) counts as a drop: the page
    reconnects with the same token, and right after the new welcome says `connected` again,
    since media kept flowing meanwhile."""
    tap = SocketTap()
    context, page, _ = await call_up(stack, browser, 40, "window.tatapPingMs = 1000;", tap)
    pinged = lambda: _async(any(m["type"] == "ping" for m in tap.sent[0]))  # noqa: E731
    await until(pinged, 5, "the page's first ping")
    tap.silent.add(0)
    await until(lambda: page.evaluate("window.tatap.welcomes.length === 2"), 10, "a new welcome")
    assert await page.evaluate("window.tatap.welcomes[1].resumed") is True
    assert len(tap.routes) == 2
    types = [m["type"] for m in tap.sent[1]]
    assert "connected" in types, types
    signals = [i for i, kind in enumerate(types) if kind == "signal"]
    assert not signals or types.index("connected") < signals[0], types
    await frames_flowing(page, peers=1)
    await context.close()


@pytest.mark.timeout(45)
async def test_page_ends_on_time_behind_a_silent_socket(stack: Stack, browser: Browser) -> None:
    """In the call, with a socket that went silent and no ping to notice it, the page still ends
    the visit itself a few seconds after its time is up."""
    tap = SocketTap()
    context, page, visit = await call_up(stack, browser, 10, "window.tatapPingMs = 600000;", tap)
    tap.silent.add(0)
    end = visit.visit.end
    await until(
        lambda: page.evaluate("window.tatap.state === 'ended'"),
        end - time.time() + 9,
        "the page to end the visit",
    )
    assert time.time() >= end + 4
    assert await page.evaluate("window.tatap.endedReason") == "completed"
    assert len(tap.routes) == 1
    await context.close()


@pytest.mark.timeout(45)
async def test_back_just_after_the_end_shows_the_ended_screen(
    stack: Stack, browser: Browser
) -> None:
    """The socket dies just before `ended` would arrive; the page reconnects, the server says
    `visit_over` (4410), and the page shows that the visit is over, not "cannot join"."""
    tap = SocketTap(drop_ended={0})
    context, page, _ = await call_up(stack, browser, 8, "", tap)
    await until(lambda: page.evaluate("window.tatap.state === 'ended'"), 15, "the ended screen")
    assert len(tap.routes) >= 2  # it did come back, and was told the visit is over
    assert await page.evaluate("window.tatap.endedReason") == "completed"
    assert await page.is_visible("#screen-ended")
    assert await page.is_hidden("#screen-error")
    await context.close()


@pytest.mark.timeout(45)
async def test_too_early_page_joins_by_the_servers_clock(stack: Stack, browser: Browser) -> None:
    """A phone whose clock runs an hour slow opens the link early: it waits for the window by
    the server's clock (start − 5 min) and joins on its own, not an hour later."""
    visit = await stack.schedule(length_s=600, start_in=5 * 60 + 4)
    context = await browser.new_context(locale="en-US")
    await context.add_init_script("""(() => {
      const now = Date.now; Date.now = () => now() - 3600 * 1000;
    })();""")
    page = await context.new_page()
    await page.goto(stack.link(visit, Role.FAMILY))
    await until(
        lambda: page.evaluate("window.tatap.errorCode === 'visit_not_open'"),
        10,
        "the page to be told it is early",
    )
    assert await page.is_visible("#wait-note")
    await until(lambda: page.evaluate("window.tatap.welcomes.length === 1"), 15, "the welcome")
    assert await page.evaluate("window.tatap.state") == "call"
    await context.close()


async def _async(value: object) -> object:
    return value
