"""The survey after a visit in Chromium on a phone: it shows on the visit page once the visit has
ended (by a hangup, or by the server at its end), in the family's language; answered, it thanks
and does not come back, on the visit page or on /status."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, Dialog, Page

from services.domain.model import EndReason, Role
from signaling.app import STORE
from tests.e2e.booking import NIK, open_today, phone_page, request_by_api, staff_post
from tests.e2e.stack import Stack, until

pytestmark = pytest.mark.browser
FORM = "#survey-form"


async def _answer(page: Page, comment: str) -> None:
    """Tap a choice in every row, yes/no, type a comment, send."""
    picks = {"overall": 4, "registration": 3, "on_time": 2, "officers": 4, "sound": 5, "picture": 3}
    for name, value in picks.items():
        await page.click(f"fieldset[data-q={name}] input[value='{value}'] + span")
    await page.click("fieldset[data-q=asked_to_pay] input[value=no] + span")
    await page.fill("#sv-comment", comment)
    await page.click("#sv-send")


async def _stored(stack: Stack, visit_id: str) -> list[object]:
    store = stack.app[STORE]
    visit = await store.get_visit(visit_id)
    assert visit is not None
    seat = next(p for p in visit.participants if p.role is Role.FAMILY)
    found = await store.survey_answer(visit_id, seat.id)
    return [found] if found else []


@pytest.mark.timeout(150)
async def test_after_a_hangup_the_family_answers_and_status_no_longer_offers_it(
    stack: Stack, browser: Browser
) -> None:
    """A requested visit, approved, joined from /status's link; the family hangs up: the page
    shows the survey in Indonesian; a missing answer is pointed out; sent, it thanks. /status
    then shows the visit over and the thanks, not the form."""
    facility_id = await open_today(stack)
    made = await request_by_api(stack, facility_id)
    assert await staff_post(stack, facility_id, f"/api/v1/requests/{made['id']}/approve") == 200
    context, page = await phone_page(browser, f"{stack.base_url}/status?code={made['code']}")
    await page.fill("#nik_last4", NIK[-4:])
    await page.click("#check")
    await page.wait_for_selector("#approved:not([hidden])")
    assert await page.is_hidden("#survey")
    await page.click("#join")
    await until(lambda: page.evaluate("window.tatap && window.tatap.state === 'call'"), 30, "call")

    page.on("dialog", lambda dialog: asyncio.ensure_future(_accept(dialog)))
    await page.click("#hangup")
    await page.wait_for_selector(FORM, timeout=20_000)
    assert await page.evaluate("window.tatap.endedReason") == "hangup"
    assert "puas" in await page.inner_text(FORM)  # the family's language: Indonesian
    await page.click("#sv-send")  # nothing chosen yet
    assert "semua pertanyaan" in await page.inner_text("#sv-error")
    assert not await _stored(stack, made["id"])
    await _answer(page, "Terima kasih, petugas membantu.")
    await page.wait_for_selector(".sv-thanks")
    assert await page.locator(FORM).count() == 0
    (answer,) = await _stored(stack, made["id"])
    assert answer.comment == "Terima kasih, petugas membantu." and answer.language.value == "id"
    assert (answer.scores.overall, answer.scores.on_time, answer.scores.asked_to_pay) == (
        4,
        2,
        False,
    )
    visit = await stack.app[STORE].get_visit(made["id"])
    assert visit is not None and visit.end_reason is EndReason.HANGUP

    await page.goto(f"{stack.base_url}/status?code={made['code']}")
    await page.fill("#nik_last4", NIK[-4:])
    await page.click("#check")
    await page.wait_for_selector(".sv-thanks")
    assert await page.inner_text("#state") == "Selesai"
    assert await page.locator(FORM).count() == 0
    assert await page.evaluate("window.tatapSurvey.state") == "answered"
    await context.close()


@pytest.mark.timeout(90)
async def test_at_its_end_the_page_asks_in_english_and_a_reload_only_thanks(
    stack: Stack, browser: Browser
) -> None:
    """A visit ended by the server at its end: the survey shows; switched to English, it asks
    in English and is stored as answered in English; reopening the link shows the thanks, not
    the form."""
    visit = await stack.schedule(length_s=12)
    link = stack.link(visit, Role.FAMILY)
    context, page = await phone_page(browser, link)
    await until(lambda: page.evaluate("window.tatap.state === 'call'"), 20, "the call")
    await page.wait_for_selector(FORM, timeout=30_000)
    assert await page.evaluate("window.tatap.endedReason") == "completed"
    await page.click("[data-lang=en]")
    assert "Were you asked to pay" in await page.inner_text(FORM)
    await _answer(page, "")
    await page.wait_for_selector(".sv-thanks")
    assert "Thank you" in await page.inner_text(".sv-thanks")
    (answer,) = await _stored(stack, visit.visit.id)
    assert answer.language.value == "en" and answer.comment == ""

    await page.goto(link)
    await page.wait_for_selector(".sv-thanks", timeout=15_000)
    assert await page.locator(FORM).count() == 0
    await context.close()


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()
