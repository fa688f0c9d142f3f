"""What an officer does reaches the family page: a canned notice, and ending the visit."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import Browser

from services.admin.provision import Admin
from services.domain.model import Role
from services.ids import Actor
from signaling.app import STORE, VISITS
from tests.e2e.stack import Stack, frames_flowing, open_page, until

pytestmark = pytest.mark.browser
PASSWORD = "rahasia-petugas-1"


@pytest.mark.timeout(60)
async def test_notice_is_translated_and_termination_is_explained(
    stack: Stack, browser: Browser
) -> None:
    """A `dress_code` notice shows as an Indonesian banner; a termination through the REST API
    ends the call with the ended screen saying an officer ended it."""
    terminal = await stack.app[STORE].get_terminal(stack.terminal_id)
    assert terminal is not None
    await Admin(stack.app[STORE]).staff("petugas", Role.OFFICER, PASSWORD, terminal.facility_id)
    visit = await stack.schedule(length_s=60)
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY), locale="id-ID")
    await frames_flowing(page, peers=1)

    async with aiohttp.ClientSession(stack.base_url) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"username": "petugas", "password": PASSWORD}
        )
        auth = {"Authorization": f"Bearer {(await login.json())['token']}"}
        monitor = await http.post(f"/api/v1/visits/{visit.visit.id}/monitor", headers=auth)
        async with http.ws_connect("/ws") as ws:
            await ws.send_json({"type": "hello", "token": (await monitor.json())["token"]})
            assert (await ws.receive_json())["type"] == "welcome"
            await ws.send_json({"type": "notice", "code": "dress_code"})
            await page.wait_for_selector("#banner:not([hidden])", timeout=5000)
            assert await page.inner_text("#banner") == "Pesan petugas: mohon berpakaian sopan."

            ended = await http.post(
                f"/api/v1/visits/{visit.visit.id}/terminate", headers=auth, json={"reason": "uji"}
            )
            assert ended.status == 202

    await until(lambda: page.evaluate("window.tatap.state === 'ended'"), 10, "the ended screen")
    assert await page.evaluate("window.tatap.endedReason") == "terminated"
    assert await page.inner_text("#ended-text") == "Kunjungan dihentikan oleh petugas."
    await page.click("[data-lang=en]")
    assert await page.inner_text("#ended-text") == "The visit was ended by an officer."
    await context.close()


@pytest.mark.timeout(30)
async def test_bad_link_and_cancelled_visit_get_a_clear_screen(
    stack: Stack, browser: Browser
) -> None:
    """A link that opens nothing and the link of a cancelled visit each show why, and no call."""
    context, page = await open_page(browser, f"{stack.base_url}/v/{'x' * 43}")
    await until(lambda: page.evaluate("window.tatap.state === 'error'"), 10, "the error screen")
    assert await page.evaluate("window.tatap.errorCode") == "unauthorized"
    assert "link is invalid" in await page.inner_text("#error-text")

    visit = await stack.schedule(length_s=60, start_in=3600)  # not open: nobody can seat it
    await stack.app[VISITS].cancel(visit.visit.id, Actor(Role.OFFICER, "s_test"), "sakit")
    await page.goto(stack.link(visit, Role.FAMILY))
    await until(lambda: page.evaluate("window.tatap.state === 'error'"), 10, "the error screen")
    assert await page.evaluate("window.tatap.errorCode") == "visit_over"
    assert await page.is_visible("#screen-error") and await page.is_hidden("#screen-call")
    await context.close()
