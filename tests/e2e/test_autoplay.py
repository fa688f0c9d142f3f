"""Browsers that refuse to play sound before a tap (iOS Safari): the page offers the tap."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from services.domain.model import Role
from tests.e2e.stack import Stack, frames_flowing, until

pytestmark = pytest.mark.browser

# Chromium lets a page that captures the camera play sound at once; iOS Safari may not. Refuse
# play() until the user has tapped, as such a browser does.
REFUSE_UNTIL_TAP_JS = """(() => {
  const play = HTMLMediaElement.prototype.play;
  window.playRefused = 0;
  document.addEventListener("click", () => { window.tapped = true; }, true);
  HTMLMediaElement.prototype.play = function () {
    if (window.tapped || this.muted) return play.call(this);
    window.playRefused += 1;
    this.pause();
    return Promise.reject(new DOMException("needs a gesture", "NotAllowedError"));
  };
})();"""
PAUSED_JS = "[...document.querySelectorAll('#remotes video')].map((v) => v.paused)"


@pytest.mark.timeout(60)
async def test_refused_autoplay_shows_a_tap_to_play_button(stack: Stack, browser: Browser) -> None:
    """The remote video carries the sound, so it is not muted; when the browser refuses to play
    it without a gesture the page shows "tap to play" (translated), and a tap starts it."""
    visit = await stack.schedule(length_s=45)
    context = await browser.new_context(locale="id-ID")
    await context.add_init_script(REFUSE_UNTIL_TAP_JS)
    page = await context.new_page()
    await page.goto(stack.link(visit, Role.FAMILY))
    await frames_flowing(page, peers=1)
    await page.wait_for_selector("#tap-play:not([hidden])", timeout=10_000)
    assert await page.inner_text("#tap-play") == "Ketuk untuk memutar video"
    assert await page.evaluate("window.playRefused") >= 1
    assert await page.evaluate("document.querySelector('#remotes video').muted") is False
    await page.click("#tap-play")
    await until(lambda: page.evaluate(f"{PAUSED_JS}[0] === false"), 5, "the video to play")
    assert await page.is_hidden("#tap-play")
    await page.click("[data-lang=en]")
    assert await page.evaluate("t('tap_to_play')") == "Tap to play the video"
    await context.close()
