"""The family page while it waits: an officer marks the inmate ready, and the page says the
inmate is in the visit room."""

from __future__ import annotations

import time

import aiohttp
import pytest
from playwright.async_api import Browser

from services.access.tokens import TokenService
from services.domain.model import Role
from signaling.app import STORE
from tests.e2e.stack import Stack, open_page, until
from tests.helpers.world import KEYS

pytestmark = pytest.mark.browser


@pytest.mark.timeout(60)
async def test_the_waiting_family_is_told_the_inmate_is_in_the_room(
    stack: Stack, browser: Browser
) -> None:
    """With the visit room's terminal not connected, the page waits for it; once an officer
    presses "ready", the page says the inmate is in the visit room."""
    await stack.agent.aclose()  # the terminal is not there: the family waits
    visit = await stack.schedule(length_s=120)
    terminal = await stack.app[STORE].get_terminal(stack.terminal_id)
    assert terminal is not None
    token, _ = TokenService(KEYS).issue(
        sub="s_officer",
        role=Role.OFFICER,
        visit="",
        now=time.time(),
        ttl_s=600,
        facility=terminal.facility_id,
    )
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY), locale="id-ID")
    await until(lambda: page.evaluate("window.tatap.state === 'call'"), 10, "the call screen")
    await page.wait_for_selector("#status:not([hidden])")
    assert "Menunggu ruang kunjungan" in await page.inner_text("#status")

    async with aiohttp.ClientSession() as http:
        url = f"{stack.base_url}/api/v1/visits/{visit.visit.id}/ready"
        resp = await http.post(url, headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 200, await resp.text()

    async def told() -> bool:
        return "Warga binaan sudah di ruang kunjungan" in await page.inner_text("#status")

    await until(told, 5, "the page to say the inmate is in the visit room")
    await context.close()
