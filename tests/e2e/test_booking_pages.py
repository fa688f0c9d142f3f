"""The booking pages in Chromium on a phone: the language toggle, a refused field shown at its
field, a wrong code on /status, and each page's weight and time on a throttled connection."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from playwright.async_api import Browser, Request

from services.booking.slots import zone
from signaling.app import STORE
from tests.e2e.booking import fill_until_slots, open_today, phone_page
from tests.e2e.measure_page import throttled_page
from tests.e2e.stack import Stack, until

pytestmark = pytest.mark.browser

BUDGET_BYTES = 60_000  # everything the page loads, compressed, API answers included
BUDGET_MS = 5000
# When each page is usable: its text is there and what it needs from the API has come.
USABLE = {
    "/": "document.querySelector('#to-register') && document.querySelector('#to-register')"
    ".textContent === 'Daftar kunjungan'",
    "/register": "document.querySelectorAll('#facility option').length > 1",
    "/status": "window.tatapStatus && window.tatapStatus.state === 'ready'",
}


@pytest.mark.timeout(60)
async def test_the_language_toggle_is_remembered_and_lang_wins(
    stack: Stack, browser: Browser
) -> None:
    """Indonesian first; EN switches every text and is remembered across pages; ?lang=id
    switches back."""
    context, page = await phone_page(browser, f"{stack.base_url}/")
    assert await page.inner_text("h1") == "Kunjungan video dengan warga binaan"
    assert await page.get_attribute("[data-lang=id]", "aria-pressed") == "true"
    await page.click("[data-lang=en]")
    assert await page.inner_text("h1") == "Video visits with an inmate"
    assert await page.inner_text("#to-staff") == "Staff login"
    assert await page.title() == "Tatap · Video Visit"
    assert await page.evaluate("document.documentElement.lang") == "en"
    await page.click("#to-status")
    await page.wait_for_url("**/status")
    assert await page.inner_text("h1") == "Check your visit"
    await page.goto(f"{stack.base_url}/register?lang=id")
    assert await page.inner_text("#step-facility h1") == "Lapas atau rutan"
    await page.goto(f"{stack.base_url}/")
    assert await page.inner_text("h1") == "Kunjungan video dengan warga binaan"
    assert await page.get_attribute("#to-staff", "href") == "/officer"
    await context.close()


@pytest.mark.timeout(60)
async def test_a_refused_field_is_shown_at_that_field(stack: Stack, browser: Browser) -> None:
    """A NIK whose birth date cannot be: the server's 400 takes the family back to the biodata
    step with the reason under the NIK field, in Indonesian, then in English on a switch."""
    await open_today(stack)
    context, page = await phone_page(browser, f"{stack.base_url}/register")
    await fill_until_slots(page, nik="3201013208900001")
    await page.click("#submit")
    await page.wait_for_selector("#step-visitor:not([hidden])")
    error = await page.inner_text("#err-nik")
    assert "bukan tanggal lahir" in error
    assert await page.get_attribute("#nik", "aria-invalid") == "true"
    await page.click("[data-lang=en]")
    assert "not a valid date of birth" in await page.inner_text("#err-nik")
    await context.close()


@pytest.mark.timeout(60)
async def test_the_dates_come_in_one_call_and_a_days_slots_when_it_is_picked(
    stack: Stack, browser: Browser
) -> None:
    """The date step asks once for the booking window's dates (today to 14 days ahead here)
    and for the slots of the day it shows; dates without a free time are listed but greyed
    out (disabled, marked full); another day's slots come when the family picks it."""
    facility_id = await open_today(stack)
    facility = await stack.app[STORE].get_facility(facility_id)
    assert facility is not None
    today = dt.datetime.fromtimestamp(time.time(), zone(facility.timezone)).date()
    context, page = await phone_page(browser, f"{stack.base_url}/register")
    asked: list[str] = []

    def record(request: Request) -> None:
        if "/api/v1/facilities/" in request.url:
            asked.append(request.url.split("/api/v1/facilities/", 1)[1])

    page.on("request", record)
    await fill_until_slots(page)
    assert [u.split("?")[0].rsplit("/", 1)[1] for u in asked] == ["days", "slots"]
    options = await page.eval_on_selector_all(
        "#date option", "os => os.map(o => [o.value, o.disabled, o.textContent])"
    )
    week = [(today + dt.timedelta(days=n)).isoformat() for n in (0, 7, 14)]
    assert [o[0] for o in options] == [(today + dt.timedelta(n)).isoformat() for n in range(15)]
    assert [o[0] for o in options if not o[1]] == week
    assert all(o[2].endswith("(penuh)") for o in options if o[1])
    await page.select_option("#date", week[1])
    await until(lambda: _two_slot_calls(asked), 10, "the picked day's slots")
    assert f"date={week[1]}" in asked[-1]
    await page.wait_for_selector("#slots input[name=slot]")
    await context.close()


async def _two_slot_calls(asked: list[str]) -> bool:
    return sum("/slots?" in u for u in asked) == 2


@pytest.mark.timeout(60)
async def test_a_wrong_inmate_name_is_refused_without_revealing_it(
    stack: Stack, browser: Browser
) -> None:
    """The name check says the number and the name do not match, and never shows the name."""
    await open_today(stack)
    context, page = await phone_page(browser, f"{stack.base_url}/register")
    await page.wait_for_selector("#facility option:nth-child(2)", state="attached")
    await page.click("#step-facility button[type=submit]")
    await page.fill("#inmate_number", "B-1234")
    await page.fill("#inmate_name", "Andi")
    await page.click("#step-inmate button[type=submit]")
    await page.wait_for_selector("#err-inmate_name:not([hidden])")
    assert "tidak cocok" in await page.inner_text("#err-inmate_name")
    assert "Budi" not in await page.content()
    assert await page.evaluate("window.tatapRegister.step") == "inmate"
    await context.close()


@pytest.mark.timeout(60)
async def test_a_wrong_code_on_status_gets_the_generic_answer(
    stack: Stack, browser: Browser
) -> None:
    """Nothing says whether the code or the NIK was wrong."""
    context, page = await phone_page(browser, f"{stack.base_url}/status?code=zzzz99")
    assert await page.input_value("#code") == "ZZZZ99"
    await page.fill("#nik_last4", "1234")
    await page.click("#check")
    await page.wait_for_selector("#ask-error:not([hidden])")
    assert await page.inner_text("#ask-error") == (
        "Kode kunjungan atau NIK tidak cocok. Periksa kembali keduanya."
    )
    assert await page.is_hidden("#result")
    await context.close()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("path", list(USABLE))
async def test_each_page_is_light_and_quick_on_a_throttled_phone(
    stack: Stack, browser: Browser, path: str
) -> None:
    """400 ms RTT, 400 kbit/s: at most 60 KB transferred (everything, compressed), nothing from
    another origin, usable within 5 s."""
    await open_today(stack)
    started = time.monotonic()
    context, page, trace = await throttled_page(browser, stack.base_url + path, size=(360, 740))
    await until(lambda: page.evaluate(USABLE[path]), 10, f"{path} usable")
    usable_ms = (time.monotonic() - started) * 1000
    await page.wait_for_load_state("networkidle")
    assert usable_ms <= BUDGET_MS, (path, usable_ms)
    assert trace.transferred <= BUDGET_BYTES, (path, trace.requests)
    assert all(url.startswith(stack.base_url) for _, _, url, _ in trace.requests), trace.requests
    print(f"{path}: usable in {usable_ms:.0f} ms, {trace.transferred} B, {len(trace.requests)} req")
    await context.close()
