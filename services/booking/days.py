"""The dates a family may book, each with how many start times are still free for one kind:
the day list the registration page shows before the family picks a day.

The store hands over, in one read (``CalendarStore.booking_span``), the facility's rules for its
whole booking window and every interval booked in its rooms over it; each date's count is then
``free_slots`` over that one snapshot. A window of three weeks costs one round trip, not one per
day. Every date of the window is listed, a blocked, closed or full one with 0, so that a page
can show it greyed out rather than leave a gap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.booking.slots import BookingWindow, Calendar, Slot, free_slots, zone
from services.domain.model import Facility, VisitKind
from services.ids import RoomId

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class BookingSpan:
    """What a facility's day list is computed from, read at one time: its rules over
    ``first``..``last`` (every blocked date and closure in them), the rooms a request may be
    placed in, and the intervals visits hold in those rooms over the span."""

    facility: Facility
    calendar: Calendar
    rooms: tuple[RoomId, ...]
    first: dt.date
    last: dt.date
    booked: tuple[Slot, ...]


@dataclass(frozen=True, slots=True)
class DayCount:
    """One local date and how many start times a request may still take on it."""

    date: dt.date
    free: int

    def to_json(self) -> dict[str, object]:
        return {"date": self.date.isoformat(), "free": self.free}


def window_dates(window: BookingWindow, timezone: str, now: float) -> tuple[dt.date, dt.date]:
    """The first and last local dates ``window`` lets a family book at ``now`` (epoch seconds),
    counted in the facility's days."""
    today = dt.datetime.fromtimestamp(now, zone(timezone)).date()
    return today + dt.timedelta(days=window.min_days), today + dt.timedelta(days=window.max_days)


def free_days(span: BookingSpan, kind: VisitKind, now: float) -> list[DayCount]:
    """Each date of the span, in order, with its count of free start times for ``kind`` (a time
    free in two rooms counts once: the family picks a time, the store a room)."""
    booked = _by_date(span)
    days = []
    date = span.first
    while date <= span.last:
        free = free_slots(span.calendar, span.rooms, date, kind, now, booked.get(date, ()))
        days.append(DayCount(date, len({s.start_ms for s in free})))
        date += ONE_DAY
    return days


def _by_date(span: BookingSpan) -> dict[dt.date, list[Slot]]:
    """The booked intervals under each local date they share time with (a visit past midnight
    under both): each date then looks at its own, not at the whole window's."""
    tz = zone(span.calendar.timezone)
    found: dict[dt.date, list[Slot]] = {}
    for slot in span.booked:
        date = max(span.first, dt.datetime.fromtimestamp(slot.start_ms / 1000, tz).date())
        last = min(span.last, dt.datetime.fromtimestamp((slot.end_ms - 1) / 1000, tz).date())
        while date <= last:
            found.setdefault(date, []).append(slot)
            date += ONE_DAY
    return found
