"""A facility's calendar: slot templates, the booking window, blocked dates, closures, and the
free slots they leave, first as pure rules, then stored (``CalendarService`` on SQLite)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.admin.provision import Admin
from services.audit.chain import AuditEvent
from services.booking.calendar import CalendarService
from services.booking.slots import (
    BookingWindow,
    Calendar,
    Closure,
    Slot,
    SlotTemplate,
    check_template,
    free_slots,
    overlapping,
    parse_hhmm,
    parse_weekdays,
)
from services.domain.model import Visit, VisitKind, VisitStatus
from services.errors import BadRequest, Conflict, NotFound
from services.ids import FacilityId, InmateId, RoomId, TerminalId, VisitId
from services.store.protocols import Store
from services.store.sqlite.calendar import _booked
from services.store.sqlite.migrations import STEPS
from tests.helpers.audit import open_store, rows

ALL_DAYS = "mon,tue,wed,thu,fri,sat,sun"
WIT = "Asia/Jayapura"  # UTC+9
SUNDAY = dt.date(2026, 12, 6)
MONDAY = dt.date(2026, 12, 7)


def at(timezone: str, date: dt.date, hhmm: str) -> float:
    """Epoch seconds of a local wall-clock time."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    local = dt.datetime.combine(date, dt.time(hour, minute), tzinfo=ZoneInfo(timezone))
    return local.timestamp()


def template(
    room: str = "r_1",
    days: str = ALL_DAYS,
    hours: tuple[str, str] = ("08:00", "10:00"),
    length: int = 30,
    kinds: Sequence[VisitKind] = (VisitKind.REGULAR, VisitKind.LEGAL),
) -> SlotTemplate:
    return SlotTemplate(
        f"st_{room}_{hours[0]}",
        FacilityId("f_1"),
        RoomId(room),
        parse_weekdays(days),
        parse_hhmm(hours[0]),
        parse_hhmm(hours[1]),
        length,
        frozenset(kinds),
    )


def calendar(
    *templates: SlotTemplate,
    timezone: str = WIT,
    window: BookingWindow | None = None,
    blocked: Sequence[dt.date] = (),
    closures: Sequence[Closure] = (),
) -> Calendar:
    return Calendar(
        timezone,
        window or BookingWindow(),
        templates or (template(),),
        frozenset(blocked),
        closures,
    )


def starts(slots: Sequence[Slot], timezone: str = WIT) -> list[str]:
    """Slot starts as local ``HH:MM``."""
    tz = ZoneInfo(timezone)
    return [dt.datetime.fromtimestamp(s.start_ms / 1000, tz).strftime("%H:%M") for s in slots]


def free(
    cal: Calendar,
    date: dt.date,
    now: float,
    kind: VisitKind = VisitKind.REGULAR,
    booked: Sequence[Slot] = (),
    rooms: Sequence[str] = ("r_1",),
) -> list[Slot]:
    return free_slots(cal, [RoomId(r) for r in rooms], date, kind, now, booked)


NOW = at(WIT, dt.date(2026, 12, 1), "10:00")


# ---- time zones -------------------------------------------------------------------------------


def test_a_wit_facility_opens_at_2300_utc_the_day_before() -> None:
    """A WIT (UTC+9) template opening at 08:00 gives a first slot at 23:00 UTC the day before,
    stored as epoch milliseconds, and slots of the template's length up to its close."""
    slots = free(calendar(), MONDAY, NOW)
    first = dt.datetime.fromtimestamp(slots[0].start_ms / 1000, dt.UTC)
    assert first == dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC)
    assert starts(slots) == ["08:00", "08:30", "09:00", "09:30"]
    assert all(s.end_ms - s.start_ms == 30 * 60_000 for s in slots)


@pytest.mark.parametrize(("timezone", "hours"), [("Asia/Jakarta", 7), ("Asia/Makassar", 8)])
def test_wib_and_wita_slots_sit_at_their_offsets(timezone: str, hours: int) -> None:
    """WIB is UTC+7 and WITA UTC+8: 08:00 local is 01:00 and 00:00 UTC the same day."""
    now = at(timezone, dt.date(2026, 12, 1), "10:00")
    slots = free(calendar(timezone=timezone), MONDAY, now)
    first = dt.datetime.fromtimestamp(slots[0].start_ms / 1000, dt.UTC)
    assert first == dt.datetime(2026, 12, 7, 8 - hours, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("timezone", ["Asia/Jakarta", "Asia/Makassar", WIT])
def test_the_zones_keep_one_offset_all_year(timezone: str) -> None:
    """No daylight saving in Indonesia: every day of a year, 08:00 local is the same UTC time,
    and a day always has its four slots (none lost or doubled at a clock change)."""
    offsets = set()
    day = dt.date(2027, 1, 1)
    while day.year == 2027:
        now = at(timezone, day - dt.timedelta(days=1), "12:00")
        slots = free(calendar(timezone=timezone), day, now)
        assert len(slots) == 4
        utc = dt.datetime.fromtimestamp(slots[0].start_ms / 1000, dt.UTC)
        offsets.add((utc.hour, utc.minute))
        day += dt.timedelta(days=1)
    assert len(offsets) == 1


# ---- the booking window -----------------------------------------------------------------------


def test_the_window_runs_from_tomorrow_to_14_days_ahead() -> None:
    """By default today is not bookable, tomorrow is, and so is day 14; day 15 is not."""
    today = dt.date(2026, 12, 1)
    bookable = [d for d in range(-1, 17) if free(calendar(), today + dt.timedelta(days=d), NOW)]
    assert bookable == list(range(1, 15))


def test_the_window_turns_over_at_local_midnight_not_utc() -> None:
    """In WIT, local midnight is 15:00 UTC: at 23:59 local on 1 December, 2 December is
    bookable; a minute later (still 1 December in UTC) it is today, and no longer bookable."""
    day = dt.date(2026, 12, 2)
    before = at(WIT, dt.date(2026, 12, 1), "23:59")
    after = at(WIT, day, "00:00")
    assert dt.datetime.fromtimestamp(after, dt.UTC).date() == dt.date(2026, 12, 1)
    assert len(free(calendar(), day, before)) == 4
    assert free(calendar(), day, after) == []
    far = day + dt.timedelta(days=14)
    assert free(calendar(), far, before) == [] and len(free(calendar(), far, after)) == 4


def test_a_same_day_window_offers_only_slots_not_yet_started() -> None:
    """With a minimum notice of 0 days, today's slots that have begun are not offered."""
    cal = calendar(window=BookingWindow(min_days=0))
    now = at(WIT, MONDAY, "08:45")
    assert starts(free(cal, MONDAY, now)) == ["09:00", "09:30"]


def test_education_visits_only_on_education_days() -> None:
    """Education visits are offered on the facility's education days only (Sunday by
    default, or the days it set), and only by templates that allow them."""
    kinds = (VisitKind.REGULAR, VisitKind.EDUCATION)
    cal = calendar(template(kinds=kinds))
    assert len(free(cal, SUNDAY, NOW, VisitKind.EDUCATION)) == 4
    assert free(cal, MONDAY, NOW, VisitKind.EDUCATION) == []
    assert len(free(cal, MONDAY, NOW, VisitKind.REGULAR)) == 4
    monday = BookingWindow(education_days=parse_weekdays("mon"))
    cal = calendar(template(kinds=kinds), window=monday)
    assert free(cal, SUNDAY, NOW, VisitKind.EDUCATION) == []
    assert len(free(cal, MONDAY, NOW, VisitKind.EDUCATION)) == 4
    assert free(calendar(), SUNDAY, NOW, VisitKind.EDUCATION) == []


def test_a_kind_the_template_does_not_allow_gets_no_slot() -> None:
    """A room's regular-only template offers nothing for a legal visit, while a second
    template of the same room offers its own hours to it."""
    cal = calendar(
        template(kinds=(VisitKind.REGULAR,)),
        template(hours=("13:00", "14:00"), kinds=(VisitKind.LEGAL,)),
    )
    assert starts(free(cal, MONDAY, NOW, VisitKind.LEGAL)) == ["13:00", "13:30"]
    assert starts(free(cal, MONDAY, NOW, VisitKind.REGULAR)) == ["08:00", "08:30", "09:00", "09:30"]


def test_templates_give_only_whole_slots_on_their_weekdays() -> None:
    """A template of 08:00 to 09:40 in 30-minute slots ends with the 09:00 slot; on a weekday
    it does not list it gives nothing."""
    cal = calendar(template(days="mon", hours=("08:00", "09:40")))
    assert starts(free(cal, MONDAY, NOW)) == ["08:00", "08:30", "09:00"]
    assert free(cal, SUNDAY, NOW) == []


# ---- blocked dates, closures, booked visits ---------------------------------------------------


def test_a_blocked_date_has_no_slots() -> None:
    """A holiday takes the whole local date out; the next day is untouched."""
    cal = calendar(blocked=[MONDAY])
    assert free(cal, MONDAY, NOW) == []
    assert len(free(cal, MONDAY + dt.timedelta(days=1), NOW)) == 4


def test_a_closure_takes_the_slots_it_touches() -> None:
    """A closure from 08:40 to 09:30 takes the 08:30 and 09:00 slots; a slot that ends as it
    begins, or begins as it ends, stays."""
    closure = Closure(
        "cl_1",
        FacilityId("f_1"),
        int(at(WIT, MONDAY, "08:40") * 1000),
        int(at(WIT, MONDAY, "09:30") * 1000),
        "banjir",
    )
    assert starts(free(calendar(closures=[closure]), MONDAY, NOW)) == ["08:00", "09:30"]


def test_a_booked_visit_takes_its_slot_in_its_room_only() -> None:
    """One visit per room per slot: a booking in room 1 takes that slot there, while room 2,
    with its own template, still offers it."""
    cal = calendar(template(), template(room="r_2"))
    start = int(at(WIT, MONDAY, "08:30") * 1000)
    booked = [Slot(RoomId("r_1"), start, start + 30 * 60_000)]
    slots = free(cal, MONDAY, NOW, booked=booked, rooms=("r_1", "r_2"))
    assert [(s.room_id, t) for s, t in zip(slots, starts(slots), strict=True)] == [
        ("r_1", "08:00"),
        ("r_2", "08:00"),
        ("r_2", "08:30"),
        ("r_1", "09:00"),
        ("r_2", "09:00"),
        ("r_1", "09:30"),
        ("r_2", "09:30"),
    ]


def test_any_overlap_with_a_booked_visit_takes_a_slot() -> None:
    """Booked visits of any length and alignment, overlapping one another (a long visit and a
    short one inside it, officer-scheduled off the grid): a slot is free exactly when none of
    them shares time with it, as a pass over every visit would say."""
    rng = random.Random(5)
    cal = calendar(template(hours=("08:00", "20:00"), length=15), template(room="r_2"))
    day = int(at(WIT, MONDAY, "08:00") * 1000)
    offered = free(cal, MONDAY, NOW, rooms=("r_1", "r_2"))
    for _ in range(200):
        booked = []
        for _ in range(rng.randint(0, 12)):
            start = day + rng.randint(-60, 12 * 60) * 60_000
            length = rng.choice([1, 5, 15, 29, 30, 90, 300]) * 60_000
            booked.append(Slot(RoomId(rng.choice(["r_1", "r_2"])), start, start + length))
        expected = [
            s
            for s in offered
            if not any(
                b.room_id == s.room_id and b.start_ms < s.end_ms and s.start_ms < b.end_ms
                for b in booked
            )
        ]
        assert free(cal, MONDAY, NOW, booked=booked, rooms=("r_1", "r_2")) == expected


def test_only_the_rooms_asked_for_are_offered() -> None:
    """Templates of rooms not asked for give nothing."""
    assert free(calendar(template(room="r_2")), MONDAY, NOW) == []


# ---- template checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("other", "clashes"),
    [
        (template(hours=("09:30", "11:00")), True),
        (template(hours=("07:00", "12:00")), True),
        (template(days="mon", hours=("09:59", "10:30"), length=15), True),
        (template(hours=("10:00", "11:00")), False),  # back to back
        (template(hours=("06:00", "08:00")), False),
        (template(room="r_2"), False),
    ],
)
def test_overlapping_templates_of_one_room_are_found(other: SlotTemplate, clashes: bool) -> None:
    """Two templates clash when they share a room, a weekday and some opening time."""
    assert (overlapping(other, [template()]) is not None) is clashes


def test_templates_on_other_weekdays_do_not_clash() -> None:
    """The same hours on a weekday the other template does not list are fine."""
    assert overlapping(template(days="sat,sun"), [template(days="mon,tue")]) is None


@pytest.mark.parametrize(
    "bad",
    [
        template(hours=("10:00", "08:00")),
        template(hours=("08:00", "08:20")),
        template(length=2),
        template(length=300, hours=("00:00", "23:00")),
        template(kinds=()),
    ],
)
def test_impossible_templates_are_refused(bad: SlotTemplate) -> None:
    """A template must give at least one slot of a sane length, for some kind."""
    with pytest.raises(BadRequest):
        check_template(bad)


@pytest.mark.parametrize("text", ["", "monday", "mon,xyz", ","])
def test_bad_weekdays_are_refused(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_weekdays(text)


@pytest.mark.parametrize("text", ["8", "8:5", "08:60", "24:01", "ab:cd", "-1:00"])
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_hhmm(text)


# ---- stored: CalendarService on SQLite --------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A WIT facility with one room, its terminal, and one inmate."""
    opened = open_store(tmp_path)
    admin = Admin(opened)
    await admin.facility("Lapas Jayapura", WIT, facility_id="f_1")
    await admin.room("f_1", "Ruang 1", "r_1")
    await admin.terminal("r_1", "PC 1", "http://test", "t_1")
    await admin.import_inmates("f_1", "number,name\nB-1,Budi\n")
    yield opened
    await opened.aclose()


async def _add(service: CalendarService, days: str = ALL_DAYS, hours: str = "08:00-10:00") -> str:
    open_, close = hours.split("-")
    added = await service.add_template(
        "r_1",
        parse_weekdays(days),
        (parse_hhmm(open_), parse_hhmm(close)),
        30,
        frozenset({VisitKind.REGULAR}),
    )
    return added.id


async def _visit(store: Store, hhmm: str, status: VisitStatus) -> None:
    inmate = await store.find_inmate("f_1", "B-1")
    assert inmate is not None
    start = at(WIT, MONDAY, hhmm)
    visit = Visit(
        VisitId(f"v_{hhmm}"),
        f"CODE{hhmm[:2]}{hhmm[3:]}",
        FacilityId("f_1"),
        RoomId("r_1"),
        TerminalId("t_1"),
        InmateId(inmate.id),
        VisitKind.REGULAR,
        status,
        start,
        start + 1800,
    )
    await store.add_visit(visit, {}, [AuditEvent("requested", "family", "x", "f_1", visit.id)])


async def test_visits_that_hold_a_slot_are_not_offered_again(store: Store) -> None:
    """Requested, approved, scheduled and live visits hold their slot in the room; rejected,
    cancelled and ended ones leave it free."""
    service = CalendarService(store)
    await _add(service, hours="08:00-12:00")
    holding = [VisitStatus.REQUESTED, VisitStatus.APPROVED, VisitStatus.SCHEDULED]
    holding.append(VisitStatus.LIVE)
    freeing = [VisitStatus.REJECTED, VisitStatus.CANCELLED, VisitStatus.ENDED]
    times = ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00"]
    for hhmm, status in zip(times, holding + freeing, strict=True):
        await _visit(store, hhmm, status)
    slots = await service.free_slots("f_1", ["r_1"], MONDAY, VisitKind.REGULAR, NOW)
    assert starts(slots) == ["10:00", "10:30", "11:00", "11:30"]


async def test_stored_rules_shape_the_free_slots(store: Store) -> None:
    """A blocked date, a closure and a narrower window, once stored, take their slots away."""
    service = CalendarService(store)
    await _add(service)
    tuesday = MONDAY + dt.timedelta(days=1)
    await service.block_date("f_1", tuesday, "Natal")
    await service.close(
        "f_1", dt.datetime(2026, 12, 7, 8, 0), dt.datetime(2026, 12, 7, 9), "banjir"
    )
    free_on = [
        starts(await service.free_slots("f_1", ["r_1"], d, VisitKind.REGULAR, NOW))
        for d in (MONDAY, tuesday)
    ]
    assert free_on == [["09:00", "09:30"], []]
    await service.set_window("f_1", BookingWindow(1, 3))
    assert await service.free_slots("f_1", ["r_1"], MONDAY, VisitKind.REGULAR, NOW) == []


async def test_overlapping_template_is_refused_and_nothing_is_stored(store: Store) -> None:
    """A second template overlapping the first on a shared weekday is a Conflict naming the
    first; one on other days is stored."""
    service = CalendarService(store)
    first = await _add(service, days="mon,tue")
    with pytest.raises(Conflict, match=first):
        await _add(service, days="tue,wed", hours="09:30-11:00")
    await _add(service, days="wed", hours="09:30-11:00")
    assert len(await service.templates("r_1")) == 2


async def test_racing_overlapping_templates_store_exactly_one(store: Store) -> None:
    """Ten overlapping templates added at once: the check runs in the write transaction, so
    exactly one is stored and nine are refused."""
    service = CalendarService(store)
    results = await asyncio.gather(
        *(_add(service, hours=f"08:{m:02d}-10:00") for m in range(10)), return_exceptions=True
    )
    assert sum(isinstance(r, Conflict) for r in results) == 9
    assert len(await service.templates("r_1")) == 1


async def test_calendar_changes_are_audited(store: Store, tmp_path: Path) -> None:
    """Adding and removing a template, setting the window, blocking a date and closing each
    write their audit event in the facility's log."""
    service = CalendarService(store)
    added = await _add(service)
    await service.remove_template(added)
    await service.set_window("f_1", BookingWindow(2, 7))
    await service.block_date("f_1", MONDAY, "Natal")
    await service.close("f_1", dt.datetime(2026, 12, 8, 8), dt.datetime(2026, 12, 8, 12), "x")
    actions = rows(
        tmp_path / "tatap.db",
        "SELECT action FROM audit_events WHERE facility_id = 'f_1' AND action NOT IN"
        " ('facility-created', 'room-created', 'terminal-created', 'inmates-imported')"
        " ORDER BY seq",
    )
    assert [a for (a,) in actions] == [
        "slot-template-added",
        "slot-template-removed",
        "booking-window-set",
        "date-blocked",
        "facility-closed",
    ]


async def test_unknown_rooms_facilities_and_templates_are_not_found(store: Store) -> None:
    service = CalendarService(store)
    with pytest.raises(NotFound):
        await service.templates("r_none")
    with pytest.raises(NotFound):
        await service.remove_template("st_none")
    with pytest.raises(NotFound):
        await service.block_date("f_none", MONDAY, "x")


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
async def test_a_block_or_close_needs_a_reason(store: Store, reason: str) -> None:
    service = CalendarService(store)
    with pytest.raises(BadRequest):
        await service.block_date("f_1", MONDAY, reason)
    with pytest.raises(BadRequest):
        await service.close("f_1", dt.datetime(2026, 12, 8), dt.datetime(2026, 12, 9), reason)


async def test_a_date_is_blocked_once(store: Store) -> None:
    service = CalendarService(store)
    await service.block_date("f_1", MONDAY, "Natal")
    with pytest.raises(Conflict):
        await service.block_date("f_1", MONDAY, "again")


async def test_an_existing_database_gains_the_calendar(tmp_path: Path) -> None:
    """A database of the previous schema, with a facility and a room, migrates: the facility
    takes the default window and can be given templates at once."""
    conn = sqlite3.connect(tmp_path / "tatap.db", isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number, script in enumerate(STEPS[:-1], start=1):
        conn.executescript(script)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
    conn.execute("INSERT INTO facilities VALUES ('f_1', 'Lama', 'Asia/Jayapura', '{}')")
    conn.execute("INSERT INTO rooms VALUES ('r_1', 'f_1', 'Ruang 1')")
    conn.close()
    store = open_store(tmp_path)
    try:
        service = CalendarService(store)
        assert await store.booking_window("f_1") == BookingWindow()
        await _add(service)
        assert len(await service.free_slots("f_1", ["r_1"], MONDAY, VisitKind.REGULAR, NOW)) == 4
    finally:
        await store.aclose()
    assert rows(tmp_path / "tatap.db", "SELECT max(version) FROM schema_version") == [(len(STEPS),)]


async def test_a_days_booked_visits_are_read_by_their_end(tmp_path: Path) -> None:
    """The booked-visits query bounds its index scan by `end_ms` (step 11): by `start_ms` it
    read every past visit of the room, a year of them on a busy room."""
    store = open_store(tmp_path)
    await Admin(store).facility("Lapas Jayapura", WIT, facility_id="f_1")  # migrates the file
    await store.aclose()
    conn = sqlite3.connect(tmp_path / "tatap.db")
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    _booked(conn, ["r_1", "r_2"], 1_000, 2_000)
    conn.set_trace_callback(None)
    plan = conn.execute("EXPLAIN QUERY PLAN " + statements[-1]).fetchall()
    conn.close()
    assert "visits_room_end" in str(plan), plan
