"""/register's kinds in Chromium on a phone: an education visit takes the teacher (name and
mobile number) as its second guest; an advocate is offered the legal visit only, and gives the
registration number."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, Route

from services.booking.relationships import Relationship
from services.domain.model import Role, VisitKind
from signaling.app import STORE
from tests.e2e.booking import open_today, phone_page
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser


async def _to_kind_step(page: Page, relationship: str) -> None:
    await page.wait_for_selector("#facility option:nth-child(2)", state="attached")
    await page.click("#step-facility button[type=submit]")
    await page.fill("#inmate_number", "B-1234")
    await page.fill("#inmate_name", "Budi")
    await page.click("#step-inmate button[type=submit]")
    await page.wait_for_selector("#step-visitor:not([hidden])")
    await page.fill("#name", "Rina Wati")
    await page.fill("#nik", "3201015508900003")
    await page.fill("#phone", "0813 1111 2222")
    await page.select_option("#relationship", relationship)
    await page.click("#step-visitor button[type=submit]")
    await page.click("#step-needs button[type=submit]")
    await page.wait_for_selector("#step-kind:not([hidden])")


async def _send_first_slot(page: Page) -> None:
    await page.click("#step-kind button[type=submit]")
    await page.wait_for_selector("#slots input[name=slot]")
    await page.check("#slots input[name=slot] >> nth=0")
    await page.click("#submit")


async def _submit_first_slot(page: Page) -> str:
    await _send_first_slot(page)
    await page.wait_for_selector("#step-done:not([hidden])")
    return (await page.inner_text("#visit-code")).strip()


@pytest.mark.timeout(60)
async def test_a_missing_answer_is_marked_at_its_field(stack: Stack, browser: Browser) -> None:
    """No facility chosen: "required" under the facility list (whose error the page keeps under
    the name the server gives the field, `facility_id`), and the step stays."""
    await open_today(stack)
    context, page = await phone_page(browser, f"{stack.base_url}/register")
    await page.wait_for_selector("#facility option:nth-child(2)", state="attached")
    await page.select_option("#facility", "")
    await page.click("#step-facility button[type=submit]")
    assert await page.inner_text("#err-facility_id") == "Wajib diisi."
    assert await page.get_attribute("#facility", "aria-invalid") == "true"
    assert await page.evaluate("window.tatapRegister.step") == "facility"
    await context.close()


@pytest.mark.timeout(60)
async def test_an_education_visit_takes_the_teacher(stack: Stack, browser: Browser) -> None:
    """The teacher's name and mobile number are asked for (required); a landline comes back
    from the server under the number's field, in the page's language; the teacher, with the
    number in +62 form, becomes the visit's teacher seat."""
    await open_today(stack)
    context, page = await phone_page(browser, f"{stack.base_url}/register")
    await _to_kind_step(page, "child")
    assert await page.is_hidden("#kind-legal-row") and await page.is_hidden("#legal-fields")
    await page.check("#kind-education")
    assert await page.is_visible("#teacher_contact")
    await page.click("#step-kind button[type=submit]")
    assert "Wajib diisi." in await page.inner_text("#err-teacher_name")
    assert "Wajib diisi." in await page.inner_text("#err-teacher_contact")
    await page.fill("#teacher_name", "Bu Sari")
    await page.fill("#teacher_contact", "021 1234 5678")
    await _send_first_slot(page)
    await page.wait_for_selector("#err-teacher_contact:not([hidden])")
    assert "bukan telepon rumah" in await page.inner_text("#err-teacher_contact")
    assert await page.get_attribute("#teacher_contact", "aria-invalid") == "true"
    await page.click("[data-lang=en]")
    assert "not a landline" in await page.inner_text("#err-teacher_contact")
    await page.fill("#teacher_contact", "0813-5555-6666")
    code = await _submit_first_slot(page)
    visit = await stack.app[STORE].visit_by_code(code)
    assert visit is not None and visit.kind is VisitKind.EDUCATION
    teachers = [(p.name, p.contact) for p in visit.participants if p.role is Role.TEACHER]
    assert teachers == [("Bu Sari", "+6281355556666")]
    await context.close()


@pytest.mark.timeout(60)
async def test_an_advocate_is_offered_the_legal_visit_only(stack: Stack, browser: Browser) -> None:
    """An advocate gets the legal visit only, and is asked for the registration number
    (required); a malformed one comes back under its field; the number is kept on the visit."""
    await open_today(stack)
    context, page = await phone_page(browser, f"{stack.base_url}/register")
    await _to_kind_step(page, "advocate")
    assert await page.is_hidden("#kind-regular-row") and await page.is_hidden("#kind-education-row")
    assert await page.is_checked("#kind-legal")
    assert await page.is_visible("#advocate_number") and await page.is_hidden("#teacher_name")
    await page.click("#step-kind button[type=submit]")
    assert "Wajib diisi." in await page.inner_text("#err-advocate_number")
    await page.fill("#advocate_number", "12;34")
    await _send_first_slot(page)
    await page.wait_for_selector("#err-advocate_number:not([hidden])")
    assert "Nomor induk advokat" in await page.inner_text("#err-advocate_number")
    await page.fill("#advocate_number", " 12.34567 ")
    code = await _submit_first_slot(page)
    visit = await stack.app[STORE].visit_by_code(code)
    assert visit is not None and visit.kind is VisitKind.LEGAL
    assert visit.advocate_number == "12.34567"
    await context.close()


@pytest.mark.timeout(60)
async def test_the_facilitys_relationships_limit_the_choice(stack: Stack, browser: Browser) -> None:
    """When the facility list names the relationships a facility accepts, only those are
    offered (labelled in the page's language); without it, every one but a teacher."""
    await open_today(stack)
    context, page = await phone_page(browser, f"{stack.base_url}/register")
    await page.wait_for_selector("#facility option:nth-child(2)", state="attached")
    offered = await page.eval_on_selector_all("#relationship option", "l => l.map(o => o.value)")
    assert offered == ["", *[r.value for r in Relationship if r is not Relationship.TEACHER]]

    async def allow_two(route: Route) -> None:
        # The list as the facility rules give it: the real answer, with the field added.
        answer = await route.fetch()
        body = await answer.json()
        for facility in body["facilities"]:
            facility["relationships"] = ["spouse", "child"]
        await route.fulfill(response=answer, json=body)

    await page.route("**/api/v1/facilities", allow_two)
    await page.reload()
    await page.wait_for_selector("#facility option:nth-child(2)", state="attached")
    offered = await page.eval_on_selector_all("#relationship option", "l => l.map(o => o.text)")
    assert offered[1:] == ["Suami/istri", "Anak"]
    await context.close()
