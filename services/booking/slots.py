"""A facility's calendar rules and the free slots they leave: pure functions, no store, no clock.

A slot template says when a visit room takes visits (weekdays, opening hours in the facility's
local time, slot length, the kinds allowed). The booking window says how far ahead a family may
book; blocked dates and emergency closures take days or hours out. ``free_slots`` lays the
templates over one local date and removes what the rules and the booked visits take away.
Wall-clock times are local to the facility (WIB, WITA, WIT: zones without daylight saving, but
the arithmetic goes through ``zoneinfo`` all the same); every instant is epoch milliseconds.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.domain.model import VisitKind, VisitStatus
from services.errors import BadRequest
from services.ids import FacilityId, RoomId

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
SUNDAY = 6

# A visit in one of these holds its room's slot; a rejected, cancelled or ended one frees it.
OCCUPYING = frozenset(
    {VisitStatus.REQUESTED, VisitStatus.APPROVED, VisitStatus.SCHEDULED, VisitStatus.LIVE}
)


@dataclass(frozen=True, slots=True)
class SlotTemplate:
    """When one visit room takes visits: on ``weekdays`` (0 = Monday), from ``open_min`` to
    ``close_min`` (minutes after local midnight), in slots of ``length_min``, of ``kinds``."""

    id: str
    facility_id: FacilityId
    room_id: RoomId
    weekdays: frozenset[int]
    open_min: int
    close_min: int
    length_min: int
    kinds: frozenset[VisitKind]

    def to_json(self) -> dict[str, object]:
        """The template as the CLI and the API show it: weekday names and ``HH:MM`` times."""
        return {
            "id": self.id,
            "facility_id": self.facility_id,
            "room_id": self.room_id,
            "weekdays": [WEEKDAYS[d] for d in sorted(self.weekdays)],
            "open": hhmm(self.open_min),
            "close": hhmm(self.close_min),
            "length_min": self.length_min,
            "kinds": sorted(k.value for k in self.kinds),
        }


@dataclass(frozen=True, slots=True)
class BookingWindow:
    """How far ahead a facility takes bookings, in local calendar days from today (``min_days``
    1: from tomorrow), and the weekdays education visits may fall on."""

    min_days: int = 1
    max_days: int = 14
    education_days: frozenset[int] = field(default_factory=lambda: frozenset({SUNDAY}))

    def to_json(self) -> dict[str, object]:
        return {
            "min_days": self.min_days,
            "max_days": self.max_days,
            "education_days": [WEEKDAYS[d] for d in sorted(self.education_days)],
        }


@dataclass(frozen=True, slots=True)
class BlockedDate:
    """A local date on which a facility takes no visits (a holiday)."""

    facility_id: FacilityId
    date: dt.date
    reason: str


@dataclass(frozen=True, slots=True)
class Closure:
    """An emergency close of a whole facility over ``[start_ms, end_ms)``."""

    id: str
    facility_id: FacilityId
    start_ms: int
    end_ms: int
    reason: str


@dataclass(frozen=True, slots=True)
class Slot:
    """One bookable (or booked) interval ``[start_ms, end_ms)`` in one room."""

    room_id: RoomId
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Calendar:
    """Every rule ``free_slots`` reads for one facility, as the store hands them over."""

    timezone: str
    window: BookingWindow
    templates: Sequence[SlotTemplate]
    blocked: frozenset[dt.date]
    closures: Sequence[Closure]


def zone(name: str) -> ZoneInfo:
    """The facility's time zone, or BadRequest naming it if this system does not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequest(f"unknown time zone {name!r}") from exc


def parse_weekdays(text: str) -> frozenset[int]:
    """``mon,tue`` (any case, comma separated) as weekday numbers; BadRequest for anything else."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in WEEKDAYS]
    if not names or unknown:
        raise BadRequest(f"weekdays are some of {','.join(WEEKDAYS)}, got {text!r}")
    return frozenset(WEEKDAYS.index(n) for n in names)


def parse_kinds(text: str) -> frozenset[VisitKind]:
    """``regular,legal`` as visit kinds; BadRequest for an empty list or an unknown word."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    allowed = [k.value for k in VisitKind]
    if not names or any(n not in allowed for n in names):
        raise BadRequest(f"visit kinds are some of {','.join(allowed)}, got {text[:80]!r}")
    return frozenset(VisitKind(n) for n in names)


def parse_hhmm(text: str) -> int:
    """``HH:MM`` (``24:00`` for midnight at the end of a day) as minutes after midnight."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise BadRequest(f"a time is HH:MM, got {text!r}")
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > 24 * 60:
        raise BadRequest(f"a time is between 00:00 and 24:00, got {text!r}")
    return total


def hhmm(minutes: int) -> str:
    """Minutes after midnight as ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_template(template: SlotTemplate) -> None:
    """BadRequest unless the template can give at least one slot."""
    if not template.weekdays or not template.kinds:
        raise BadRequest("a slot template needs at least one weekday and one visit kind")
    if not 5 <= template.length_min <= 240:
        raise BadRequest("a slot lasts between 5 and 240 minutes")
    if template.close_min - template.open_min < template.length_min:
        raise BadRequest("closing time must leave room for at least one slot after opening")


def overlapping(new: SlotTemplate, existing: Iterable[SlotTemplate]) -> SlotTemplate | None:
    """The first of ``existing`` that would give ``new``'s room two slots at once, if any: same
    room, a weekday in common, and opening hours that overlap."""
    for old in existing:
        if (
            old.room_id == new.room_id
            and old.weekdays & new.weekdays
            and old.open_min < new.close_min
            and new.open_min < old.close_min
        ):
            return old
    return None


def local_ms(date: dt.date, minutes: int, tz: ZoneInfo) -> int:
    """Epoch milliseconds of ``minutes`` after local midnight of ``date`` in ``tz``."""
    midnight = dt.datetime.combine(date, dt.time(), tzinfo=tz)
    return int((midnight + dt.timedelta(minutes=minutes)).timestamp() * 1000)


def in_window(calendar: Calendar, date: dt.date, kind: VisitKind, now: float) -> bool:
    """Whether the rules let ``kind`` be booked on local ``date`` at ``now``: inside the booking
    window (counted in the facility's local days), on an education day for education visits,
    and not a blocked date."""
    today = dt.datetime.fromtimestamp(now, zone(calendar.timezone)).date()
    ahead = (date - today).days
    window = calendar.window
    if not window.min_days <= ahead <= window.max_days or date in calendar.blocked:
        return False
    return kind is not VisitKind.EDUCATION or date.weekday() in window.education_days


@functools.lru_cache(maxsize=1024)
def template_slots(template: SlotTemplate, date: dt.date, tz: ZoneInfo) -> tuple[Slot, ...]:
    """Every whole slot ``template`` offers on local ``date`` (none on its days off).

    Cached (a pure function of frozen values; a changed template is a new template): each
    booking asks for the same day's slots, and the zone arithmetic per slot is most of the
    cost of a request otherwise."""
    if date.weekday() not in template.weekdays:
        return ()
    starts = range(template.open_min, template.close_min - template.length_min + 1)
    return tuple(
        Slot(
            template.room_id,
            local_ms(date, start, tz),
            local_ms(date, start + template.length_min, tz),
        )
        for start in starts[:: template.length_min]
    )


def free_slots(
    calendar: Calendar,
    rooms: Iterable[RoomId],
    date: dt.date,
    kind: VisitKind,
    now: float,
    booked: Iterable[Slot],
) -> list[Slot]:
    """The slots of local ``date`` in ``rooms`` that a ``kind`` visit may still take at ``now``
    (epoch seconds): offered by a template that allows the kind, inside the booking window, not
    on a blocked date, not in a closure, not started, and not overlapping a visit already
    ``booked`` in that room (pass the intervals of visits in an ``OCCUPYING`` status). Sorted
    by start, then room."""
    if not in_window(calendar, date, kind, now):
        return []
    tz = zone(calendar.timezone)
    wanted = set(rooms)
    busy = _Busy(b for b in booked if b.room_id in wanted)
    now_ms = int(now * 1000)
    free = [
        slot
        for template in calendar.templates
        if template.room_id in wanted and kind in template.kinds
        for slot in template_slots(template, date, tz)
        if slot.start_ms >= now_ms
        and not busy.overlaps(slot)
        and not _closed(slot, calendar.closures)
    ]
    return sorted(free, key=lambda s: (s.start_ms, s.room_id))


class _Busy:
    """The booked intervals of each room, sorted, so that whether a slot overlaps one costs a
    binary search rather than a pass over the day's visits (a rush books every slot)."""

    def __init__(self, booked: Iterable[Slot]) -> None:
        spans: dict[RoomId, list[tuple[int, int]]] = {}
        for b in booked:
            spans.setdefault(b.room_id, []).append((b.start_ms, b.end_ms))
        # Per room: the starts in order, and the latest end among the first i intervals (they
        # may overlap one another, so the last to start is not always the last to end).
        self._rooms: dict[RoomId, tuple[list[int], list[int]]] = {}
        for room, found in spans.items():
            found.sort()
            reach = list(itertools.accumulate((end for _, end in found), max))
            self._rooms[room] = ([start for start, _ in found], reach)

    def overlaps(self, slot: Slot) -> bool:
        """Whether a visit in the slot's room shares time with it."""
        room = self._rooms.get(slot.room_id)
        if room is None:
            return False
        starts, reach = room
        before = bisect.bisect_left(starts, slot.end_ms)  # intervals starting before its end
        return before > 0 and reach[before - 1] > slot.start_ms


def _closed(slot: Slot, closures: Sequence[Closure]) -> bool:
    """Whether an emergency closure shares time with ``slot``."""
    return any(c.start_ms < slot.end_ms and slot.start_ms < c.end_ms for c in closures)


def day_bounds(date: dt.date, timezone: str) -> tuple[int, int]:
    """Epoch milliseconds of local midnight starting ``date`` and of the next one."""
    tz = zone(timezone)
    return local_ms(date, 0, tz), local_ms(date + dt.timedelta(days=1), 0, tz)
