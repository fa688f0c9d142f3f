"""/status and the refusals of /register in Chromium on a phone: a rejection's reason in the
page's language, a cancel after a confirm, the wait after too many wrong tries, the calendar
file, and a slot taken meanwhile (the sentence, and the free times reloaded)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog

from services.admin.provision import Admin
from signaling.app import STORE
from tests.e2e.booking import (
    NIK,
    fill_until_slots,
    open_today,
    phone_page,
    request_by_api,
    staff_post,
)
from tests.e2e.stack import Stack, until

pytestmark = pytest.mark.browser
READY = "!document.querySelector('#check').disabled"


@pytest.mark.timeout(60)
async def test_a_rejection_shows_its_reason_in_the_page_language(
    stack: Stack, browser: Browser
) -> None:
    facility_id = await open_today(stack)
    made = await request_by_api(stack, facility_id)
    reject = f"/api/v1/requests/{made['id']}/reject"
    assert await staff_post(stack, facility_id, reject, {"reason": "not_relative"}) == 200
    context, page = await phone_page(browser, f"{stack.base_url}/status?code={made['code']}")
    await page.fill("#nik_last4", NIK[-4:])
    await page.click("#check")
    await page.wait_for_selector("#rejected:not([hidden])")
    assert await page.inner_text("#state") == "Ditolak"
    indonesian = await page.inner_text("#reason")
    await page.click("[data-lang=en]")
    assert await page.inner_text("#state") == "Rejected"
    english = await page.inner_text("#reason")
    assert indonesian and english and indonesian != english
    assert await page.is_hidden("#approved") and await page.is_hidden("#cancel-box")
    await context.close()


@pytest.mark.timeout(60)
async def test_a_revoked_link_is_said_instead_of_shown(stack: Stack, browser: Browser) -> None:
    """An approved visit whose family seat an officer revoked shows no join button, and says
    the link was revoked, in the page's language."""
    facility_id = await open_today(stack)
    made = await request_by_api(stack, facility_id)
    approve = f"/api/v1/requests/{made['id']}/approve"
    assert await staff_post(stack, facility_id, approve, {}) == 200
    family = await _family_seat(stack, made["id"])
    revoke = f"/api/v1/participants/{family}/revoke"
    assert await staff_post(stack, facility_id, revoke, {"reason": "test"}) == 200
    context, page = await phone_page(browser, f"{stack.base_url}/status?code={made['code']}")
    await page.fill("#nik_last4", NIK[-4:])
    await page.click("#check")
    await page.wait_for_selector("#revoked:not([hidden])")
    assert await page.is_hidden("#approved")
    assert "dicabut" in await page.inner_text("#revoked")
    await page.click("[data-lang=en]")
    assert "revoked" in await page.inner_text("#revoked")
    await context.close()


async def _family_seat(stack: Stack, visit_id: str) -> str:
    visit = await stack.app[STORE].get_visit(visit_id)
    assert visit is not None
    return next(p.id for p in visit.participants if p.role.value == "family")


@pytest.mark.timeout(60)
async def test_a_family_cancels_after_confirming(stack: Stack, browser: Browser) -> None:
    """The first confirm is declined (nothing happens), the second accepted: cancelled."""
    facility_id = await open_today(stack)
    made = await request_by_api(stack, facility_id)
    context, page = await phone_page(browser, f"{stack.base_url}/status?code={made['code']}")
    await page.fill("#nik_last4", NIK[-4:])
    await page.click("#check")
    await page.wait_for_selector("#cancel-box:not([hidden])")
    assert await page.inner_text("#state") == "Menunggu persetujuan petugas"
    answers = iter([False, True])
    asked: list[str] = []

    async def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if next(answers) else dialog.dismiss())

    page.on("dialog", answer)
    await page.click("#cancel")
    visit = await stack.app[STORE].visit_by_code(made["code"])
    assert visit is not None and visit.status.value == "requested"
    await page.click("#cancel")
    await until(lambda: page.evaluate("window.tatapStatus.state === 'cancelled'"), 10, "cancel")
    assert await page.inner_text("#state") == "Dibatalkan"
    assert asked and "Batalkan" in asked[0]
    visit = await stack.app[STORE].visit_by_code(made["code"])
    assert visit is not None and visit.status.value == "cancelled"
    await context.close()


@pytest.mark.timeout(60)
async def test_too_many_wrong_tries_say_how_long_to_wait(stack: Stack, browser: Browser) -> None:
    context, page = await phone_page(browser, f"{stack.base_url}/status?code=AAAA1111")
    await page.fill("#nik_last4", "0000")
    for _ in range(10):
        await page.click("#check")
        await until(lambda: page.evaluate(READY), 10, "the answer")
    await page.click("#check")
    await until(lambda: page.evaluate(READY), 10, "the answer")
    message = await page.inner_text("#ask-error")
    assert message == "Terlalu banyak percobaan. Tunggu 10 menit, lalu coba lagi."
    await context.close()


@pytest.mark.timeout(60)
async def test_the_calendar_file_is_rfc_5545(stack: Stack, browser: Browser) -> None:
    """CRLF lines of at most 75 octets, one VEVENT with UID, DTSTAMP, DTSTART and DTEND in UTC,
    SUMMARY and the link as URL; the download is offered as a .ics file."""
    facility_id = await open_today(stack)
    made = await request_by_api(stack, facility_id)
    approve = f"/api/v1/requests/{made['id']}/approve"
    assert await staff_post(stack, facility_id, approve) == 200
    context, page = await phone_page(browser, f"{stack.base_url}/status?code={made['code']}")
    await page.fill("#nik_last4", NIK[-4:])
    await page.click("#check")
    await page.wait_for_selector("#approved:not([hidden])")
    async with page.expect_download() as download_info:
        await page.click("#ics")
    download = await download_info.value
    assert download.suggested_filename == f"tatap-{made['code']}.ics"
    text = (await asyncio.to_thread(Path(await download.path()).read_bytes)).decode()
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")[:-1]
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = "\r\n".join(lines).replace("\r\n ", "").split("\r\n")
    fields = dict(line.split(":", 1) for line in unfolded)
    assert unfolded[0] == "BEGIN:VCALENDAR" and fields["VERSION"] == "2.0"
    assert unfolded.count("BEGIN:VEVENT") == 1 and fields["UID"] and fields["DTSTAMP"]
    start, end = int(made["start_ms"]) // 1000, int(made["end_ms"]) // 1000

    def utc(s: int) -> str:
        return dt.datetime.fromtimestamp(s, dt.UTC).strftime("%Y%m%dT%H%M%SZ")

    assert (fields["DTSTART"], fields["DTEND"]) == (utc(start), utc(end))
    assert made["code"] in fields["SUMMARY"]
    assert fields["URL"] == await page.get_attribute("#join", "href")
    await context.close()


@pytest.mark.timeout(60)
async def test_a_slot_taken_meanwhile_is_said_and_the_times_reload(
    stack: Stack, browser: Browser
) -> None:
    """Another family books the chosen time while this one fills the form: the 409 slot_full
    becomes a sentence, and the free times come again without that one."""
    facility_id = await open_today(stack)
    await Admin(stack.app[STORE]).import_inmates(facility_id, "number,name,block\nB-9,Andi,A\n")
    context, page = await phone_page(browser, f"{stack.base_url}/register")
    await fill_until_slots(page)
    chosen = await page.get_attribute("#slots input[name=slot]:checked", "value")
    await request_by_api(stack, facility_id, inmate="B-9", nik="3201011508900002")
    await page.click("#submit")
    await page.wait_for_selector("#submit-error:not([hidden])")
    assert "baru saja diambil" in await page.inner_text("#submit-error")
    await page.wait_for_selector("#slots input[name=slot]")
    values = await page.eval_on_selector_all("#slots input[name=slot]", "l => l.map(e => e.value)")
    assert chosen not in values and values
    assert await page.evaluate("window.tatapRegister.step") == "when"
    await context.close()
