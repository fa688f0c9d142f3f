"""Visit requests on the store: placed in a free room, quotas and the slot checked in the write
transaction, refused with the rule they break, looked up, cancelled, approved and rejected."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.booking.calendar import CalendarService
from services.booking.quotas import Quotas
from services.booking.rejections import RejectReason
from services.domain.model import Role, VisitKind, VisitStatus
from services.errors import (
    BadRequest,
    Conflict,
    DateBlocked,
    KindNotAllowed,
    NotFound,
    OutsideWindow,
    QuotaInmate,
    QuotaVisitor,
    SlotFull,
)
from tests.helpers.audit import rows
from tests.helpers.desk import OFFICER, SATURDAY, SUNDAY, Desk, form, nik, open_desk, slot


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    d = await open_desk(tmp_path, rooms=2)
    try:
        yield d
    finally:
        await d.store.aclose()


async def test_a_request_is_placed_in_a_free_room_as_requested(desk: Desk) -> None:
    visit = await desk.service.submit(form(slot(SATURDAY, "08:00")))
    assert visit.status is VisitStatus.REQUESTED
    assert visit.room_id == "r_0" and visit.end - visit.start == 1800
    family = next(p for p in visit.participants if p.role is Role.FAMILY)
    visitor = await desk.store.get_visitor(family.visitor_id or "")
    assert visitor is not None and visitor.phone == "+6281234567890"
    second = await desk.service.submit(form(slot(SATURDAY, "08:00"), n=2, inmate="B-2"))
    assert second.room_id == "r_1"
    with pytest.raises(SlotFull):
        await desk.service.submit(form(slot(SATURDAY, "08:00"), n=3, inmate="B-3"))


async def test_a_known_nik_keeps_its_visitor_record(desk: Desk) -> None:
    first = await desk.service.submit(form(slot(SATURDAY, "08:00")))
    await desk.service.cancel(first.code, nik(1)[-4:])
    again = await desk.service.submit(form(slot(SATURDAY, "09:00"), phone="0813-1111-2222"))
    ids = {p.visitor_id for v in (first, again) for p in v.participants if p.role is Role.FAMILY}
    assert len(ids) == 1


async def test_each_rule_is_named(desk: Desk) -> None:
    service = desk.service
    with pytest.raises(OutsideWindow):
        await service.submit(form(slot(dt.date(2027, 3, 6), "08:00")))
    await CalendarService(desk.store).block_date("f_1", SUNDAY, "Libur")
    with pytest.raises(DateBlocked):
        await service.submit(form(slot(SUNDAY, "08:00")))
    with pytest.raises(KindNotAllowed):  # education on a Saturday
        await service.submit(
            form(slot(SATURDAY, "08:00"), kind=VisitKind.EDUCATION, teacher="Bu Ani")
        )
    with pytest.raises(BadRequest) as not_a_slot:
        await service.submit(form(slot(SATURDAY, "08:10")))
    assert not_a_slot.value.details["field"] == "start_ms"
    with pytest.raises(NotFound) as unknown:
        await service.submit(form(slot(SATURDAY, "08:00"), inmate="X-9"))
    assert unknown.value.message == "not found"
    await service.submit(form(slot(SATURDAY, "08:00")))
    with pytest.raises(QuotaInmate):
        await service.submit(form(slot(SATURDAY, "09:00"), n=2))
    with pytest.raises(QuotaVisitor):
        await service.submit(form(slot(SATURDAY, "09:00"), inmate="B-2"))


async def test_legal_visits_are_not_taken_where_no_template_allows_them(desk: Desk) -> None:
    with pytest.raises(KindNotAllowed):
        legal = form(
            slot(SATURDAY, "08:00"),
            kind=VisitKind.LEGAL,
            advocate_number="12.34567",
            relationship="advocate",
        )
        await desk.service.submit(legal)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("nik", "1234", "nik_wrong_length"),
        ("nik", "9901011508900001", "nik_invalid_province"),
        ("phone", "021-555-1234", "phone_not_mobile"),
        ("name", "x", "name_too_short"),
        ("relationship", "friend", "relationship_unknown"),
    ],
)
async def test_each_field_is_checked(desk: Desk, field: str, value: str, reason: str) -> None:
    with pytest.raises(BadRequest) as refused:
        await desk.service.submit(form(slot(SATURDAY, "08:00"), **{field: value}))
    assert refused.value.details["field"] == field
    assert refused.value.details["reason"] == reason
    messages = refused.value.details["messages"]
    assert isinstance(messages, dict) and messages["id"] and messages["en"]


async def test_concurrent_requests_for_one_inmate_or_nik_keep_the_quota(desk: Desk) -> None:
    saturday = [slot(SATURDAY, f"{h:02d}:{m:02d}") for h in (8, 9) for m in (0, 30)]
    same_inmate = [form(s, n=i) for i, s in enumerate(saturday * 3, start=1)]
    same_nik = [form(s, n=99, inmate=f"B-{i}") for i, s in enumerate(saturday * 3, start=10)]
    got = await asyncio.gather(
        *(desk.service.submit(f) for f in same_inmate + same_nik), return_exceptions=True
    )
    booked = [g for g in got if not isinstance(g, BaseException)]
    assert len(booked) == 2
    assert all(isinstance(g, Conflict) for g in got if isinstance(g, BaseException))
    assert len({v.inmate_id for v in booked}) == 2


async def test_quotas_are_per_facility(desk: Desk) -> None:
    await desk.service.set_quotas("f_1", Quotas(per_inmate=2, per_visitor=2), OFFICER)
    await desk.service.submit(form(slot(SATURDAY, "08:00")))
    await desk.service.submit(form(slot(SATURDAY, "09:00")))
    with pytest.raises(QuotaInmate):
        await desk.service.submit(form(slot(SUNDAY, "09:00")))


async def test_lookup_shows_the_state_and_the_link_once_approved(desk: Desk) -> None:
    visit = await desk.service.submit(form(slot(SATURDAY, "08:00")))
    state = await desk.service.lookup(visit.code, nik(1)[-4:])
    assert state.visit.status is VisitStatus.REQUESTED and state.link is None
    with pytest.raises(NotFound):
        await desk.service.lookup(visit.code, "0000")
    scheduled = await desk.service.approve(visit, OFFICER)
    assert scheduled.visit.status is VisitStatus.SCHEDULED and len(scheduled.links) == 1
    state = await desk.service.lookup(visit.code.lower(), nik(1)[-4:])
    assert state.visit.status is VisitStatus.SCHEDULED and state.link


async def test_a_rejection_frees_the_slot_and_the_quota(desk: Desk) -> None:
    visit = await desk.service.submit(form(slot(SATURDAY, "08:00")))
    with pytest.raises(BadRequest):
        await desk.service.reject(visit, RejectReason.OTHER, "", OFFICER)
    await desk.service.reject(visit, RejectReason.NOT_RELATIVE, "", OFFICER)
    state = await desk.service.lookup(visit.code, nik(1)[-4:])
    assert state.rejection is not None and state.rejection.reason == "not_relative"
    with pytest.raises(Conflict):
        await desk.service.approve(visit, OFFICER)
    again = await desk.service.submit(form(slot(SATURDAY, "08:00")))
    assert again.room_id == "r_0"


async def test_a_cancellation_frees_the_slot_and_the_quota(desk: Desk) -> None:
    visit = await desk.service.submit(form(slot(SATURDAY, "08:00")))
    cancelled = await desk.service.cancel(visit.code, nik(1)[-4:])
    assert cancelled.status is VisitStatus.CANCELLED
    assert (await desk.service.submit(form(slot(SATURDAY, "08:00")))).room_id == "r_0"


async def test_every_change_is_audited_with_nik_and_phone_masked(
    desk: Desk, tmp_path: Path
) -> None:
    visit = await desk.service.submit(form(slot(SATURDAY, "08:00")))
    await desk.service.approve(visit, OFFICER)
    await desk.service.cancel(visit.code, nik(1)[-4:])
    other = await desk.service.submit(form(slot(SATURDAY, "08:00"), n=2, inmate="B-2"))
    await desk.service.reject(other, RejectReason.INCOMPLETE_DATA, "", OFFICER)
    await desk.store.aclose()
    found = rows(
        tmp_path / "tatap.db",
        "SELECT action, details FROM audit_events WHERE visit_id != '' ORDER BY seq",
    )
    assert [a for a, _ in found] == ["requested", "approved", "cancelled", "requested", "rejected"]
    text = " ".join(d for _, d in found)
    assert nik(1) not in text and "+6281234567890" not in text
    assert "************0001" in text and "**********7890" in text


async def test_an_officer_cannot_schedule_over_a_pending_request(desk: Desk) -> None:
    """A family's request still waiting for approval holds its terminal: a visit an officer
    schedules on that terminal at that time is refused, and the request stays."""
    from services.booking.scheduling import GuestSpec, VisitService

    pending = await desk.service.submit(form(slot(SATURDAY, "08:00")))
    with pytest.raises(Conflict):
        await VisitService(desk.store, desk.clock).schedule(
            terminal_id=pending.terminal_id,
            inmate_id=pending.inmate_id,
            kind=VisitKind.REGULAR,
            start=pending.start + 600,
            guests=[GuestSpec(Role.FAMILY, "Walk-in")],
            actor=OFFICER,
        )
    kept = await desk.store.get_visit(pending.id)
    assert kept is not None and kept.status is VisitStatus.REQUESTED
