"""/status in Chromium on a phone: an ended visit whose family was offered a make-up visit
shows the offer in the page's language, and the family takes a free time, which shows the new
visit approved with its join link and code."""

from __future__ import annotations

import time

import pytest
from playwright.async_api import Browser

from services.audit.chain import AuditEvent
from services.booking.makeup_records import MakeupOffer
from services.domain.model import EndReason, VisitStatus
from services.ids import Actor, VisitId
from services.store.protocols import VisitChange
from signaling.app import STORE
from tests.e2e.booking import NIK, open_today, phone_page, request_by_api, staff_post
from tests.e2e.stack import Stack, until

pytestmark = pytest.mark.browser


async def _ended_with_offer(stack: Stack, facility_id: str) -> str:
    """A request approved, ended as a node ends one, with its make-up offer (as the offerer
    writes it: tests/test_makeup.py); its code."""
    made = await request_by_api(stack, facility_id)
    approve = f"/api/v1/requests/{made['id']}/approve"
    assert await staff_post(stack, facility_id, approve, {}) == 200
    store = stack.app[STORE]
    visit = await store.get_visit(made["id"])
    assert visit is not None
    ended = AuditEvent("ended", "system", "system:n1", facility_id, visit.id, {})
    # The stack's terminal may already have opened it (the day's first slot can be now).
    expect = frozenset({VisitStatus.SCHEDULED, VisitStatus.LIVE})
    change = VisitChange(
        VisitId(visit.id), VisitStatus.ENDED, expect, time.time(), EndReason.COMPLETED
    )
    await store.change_visit(change, [ended])
    family = next(p for p in visit.participants if p.visitor_id)
    assert family.visitor_id
    offer = MakeupOffer(visit.id, facility_id, family.visitor_id, 1_500_000, 0)
    assert await store.add_makeup_offers([(offer, offer.event(Actor.system("n1"), 20))], 0) == 1
    return str(made["code"])


@pytest.mark.timeout(90)
async def test_the_family_takes_its_makeup_visit_on_status(stack: Stack, browser: Browser) -> None:
    """The offer's title in Indonesian, then English; a free time taken shows the new visit
    approved, with a join link and a code other than the ended visit's; the offer is used."""
    facility_id = await open_today(stack)
    code = await _ended_with_offer(stack, facility_id)
    context, page = await phone_page(browser, f"{stack.base_url}/status?code={code}")
    await page.fill("#nik_last4", NIK[-4:])
    await page.click("#check")
    await page.wait_for_selector("#makeup:not([hidden])")
    assert await page.inner_text("#makeup h2") == "Kunjungan pengganti tersedia"
    await page.click("[data-lang=en]")
    assert await page.inner_text("#makeup h2") == "A make-up visit is offered"
    await until(
        lambda: page.evaluate("window.tatapMakeup.state === 'picking'"), 20, "free times listed"
    )
    assert await page.locator("#makeup-slot option").count() >= 1
    await page.click("#makeup-take")
    await page.wait_for_selector("#makeup-used:not([hidden])")
    assert await page.evaluate("window.tatapMakeup.state") == "taken"
    new_code = await page.inner_text("#result-code")
    assert new_code != code and new_code in await page.inner_text("#makeup-used")
    assert await page.inner_text("#state") == "Approved"
    assert (await page.get_attribute("#join", "href") or "").startswith("http")
    made = await stack.app[STORE].visit_by_code(new_code)
    # Approved at once: scheduled, or live already when its time is now (the terminal opens it).
    assert made is not None and made.status in (VisitStatus.SCHEDULED, VisitStatus.LIVE)
    await context.close()
