"""The day list: every date of the booking window, in the facility's days, with its count of
free start times for one kind, from one read of the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.booking.calendar import CalendarService
from services.booking.days import BookingSpan, free_days, window_dates
from services.booking.slots import BookingWindow, Calendar, Slot, SlotTemplate
from services.domain.model import Facility, FacilityRules, VisitKind
from services.ids import FacilityId, RoomId
from tests.helpers.desk import JAKARTA, NOW, SATURDAY, SUNDAY, Desk, form, open_desk, slot

FRIDAY = dt.date(2027, 1, 15)  # NOW's date in Jakarta


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    d = await open_desk(tmp_path, rooms=2)
    try:
        yield d
    finally:
        await d.store.aclose()


async def counts(desk: Desk, kind: VisitKind = VisitKind.REGULAR) -> dict[dt.date, int]:
    return {d.date: d.free for d in await desk.service.free_days(desk.facility_id, kind)}


def test_the_window_is_counted_in_the_facilitys_days() -> None:
    """At 01:30 in Jakarta (18:30 UTC the day before) "tomorrow" is Jakarta's tomorrow."""
    late = dt.datetime(2027, 1, 15, 18, 30, tzinfo=dt.UTC).timestamp()
    first, last = window_dates(BookingWindow(1, 14), JAKARTA, late)
    assert (first, last) == (dt.date(2027, 1, 17), dt.date(2027, 1, 30))
    assert window_dates(BookingWindow(0, 0), "Asia/Jayapura", late) == (dt.date(2027, 1, 16),) * 2


async def test_every_date_of_the_window_is_listed_with_its_free_times(desk: Desk) -> None:
    """From tomorrow to 14 days ahead, in order; the weekend's four times (two rooms each)
    count four, a weekday with no template 0."""
    days = await desk.service.free_days(desk.facility_id, VisitKind.REGULAR)
    assert [d.date for d in days] == [FRIDAY + dt.timedelta(days=n) for n in range(1, 15)]
    assert {d.date: d.free for d in days if d.free} == {
        SATURDAY: 4,
        SUNDAY: 4,
        SATURDAY + dt.timedelta(7): 4,
        SUNDAY + dt.timedelta(7): 4,
    }


async def test_a_time_counts_until_every_room_is_taken(desk: Desk) -> None:
    """One booking at 08:00 leaves the other room free then; the second takes the time."""
    await desk.service.submit(form(slot(SATURDAY, "08:00")))
    assert (await counts(desk))[SATURDAY] == 4
    await desk.service.submit(form(slot(SATURDAY, "08:00"), n=2, inmate="B-2"))
    assert (await counts(desk))[SATURDAY] == 3


async def test_a_blocked_date_and_a_closure_count_what_they_leave(desk: Desk) -> None:
    """A blocked date is listed with 0 (the page greys it out); a closure from 08:00 to 09:00
    leaves that day two times."""
    calendar = CalendarService(desk.store)
    await calendar.block_date(desk.facility_id, SUNDAY, "Libur")
    next_saturday = SATURDAY + dt.timedelta(7)
    start, end = slot(next_saturday, "08:00"), slot(next_saturday, "09:00")
    await calendar.close_ms(desk.facility_id, start, end, "renovasi")
    found = await counts(desk)
    assert (found[SUNDAY], found[next_saturday], found[SATURDAY]) == (0, 2, 4)


async def test_the_kind_filters_the_count(desk: Desk) -> None:
    """Education visits only on the education days (Sunday by default); no template takes
    legal visits here."""
    education = await counts(desk, VisitKind.EDUCATION)
    assert (education[SATURDAY], education[SUNDAY]) == (0, 4)
    assert set((await counts(desk, VisitKind.LEGAL)).values()) == {0}


async def test_the_window_moves_with_the_clock_and_the_setting(desk: Desk) -> None:
    """With bookings from today to 2 days ahead: Friday (today), Saturday and Sunday; a day
    later the list starts on Saturday."""
    window = BookingWindow(0, 2)
    await CalendarService(desk.store).set_window(desk.facility_id, window)
    assert list(await counts(desk)) == [FRIDAY, SATURDAY, SUNDAY]
    await desk.clock.advance(86_400)
    assert list(await counts(desk)) == [SATURDAY, SUNDAY, SUNDAY + dt.timedelta(1)]


async def test_the_list_costs_one_read_of_the_store(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many days the window has: one round trip to the store, not one per day."""
    await CalendarService(desk.store).set_window(desk.facility_id, BookingWindow(1, 60))
    reads = 0
    read = desk.store._read  # type: ignore[attr-defined]

    async def counted(fn: object) -> object:
        nonlocal reads
        reads += 1
        return await read(fn)

    monkeypatch.setattr(desk.store, "_read", counted)
    days = await desk.service.free_days(desk.facility_id, VisitKind.REGULAR)
    assert len(days) == 60 and reads == 1


def test_a_visit_past_midnight_takes_time_on_both_days() -> None:
    """A visit from 23:30 to 00:30 overlaps the last slot of one day and the first of the next;
    a visit outside the span changes nothing."""
    room = RoomId("r_0")
    template = SlotTemplate(
        "st_1",
        FacilityId("f_1"),
        room,
        frozenset(range(7)),
        0,
        24 * 60,
        60,
        frozenset({VisitKind.REGULAR}),
    )
    calendar = Calendar(JAKARTA, BookingWindow(1, 2), (template,), frozenset(), ())
    first, last = SATURDAY, SUNDAY
    crossing = Slot(room, slot(SATURDAY, "23:30"), slot(SUNDAY, "00:30"))
    outside = Slot(room, slot(FRIDAY, "10:00"), slot(FRIDAY, "11:00"))
    facility = Facility(FacilityId("f_1"), "Lapas", JAKARTA, FacilityRules())
    span = BookingSpan(facility, calendar, (room,), first, last, (crossing, outside))
    found = free_days(span, VisitKind.REGULAR, NOW)
    assert [(d.date, d.free) for d in found] == [(SATURDAY, 23), (SUNDAY, 23)]
