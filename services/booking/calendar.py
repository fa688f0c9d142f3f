"""A facility's calendar kept: slot templates, the booking window, blocked dates and emergency
closures, each change audited; and the free slots of a day, computed from what is stored.

The rules themselves are pure (``services.booking.slots``); this module checks what an operator
asks for against the facility and its rooms, writes it with its audit event, and hands the
stored rules and booked intervals to ``free_slots``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from services.audit.chain import AuditEvent
from services.booking.scheduling import new_id
from services.booking.slots import (
    BlockedDate,
    BookingWindow,
    Calendar,
    Closure,
    Slot,
    SlotTemplate,
    check_template,
    day_bounds,
    free_slots,
    zone,
)
from services.domain.model import Facility, Room, VisitKind
from services.errors import BadRequest, NotFound
from services.ids import CLI_ACTOR, Actor, RoomId
from services.store.protocols import CalendarStore, ClosureEffect, FacilityStore

MAX_REASON = 200
MAX_CLOSURE_MS = 366 * 86_400_000


class CalendarRecords(FacilityStore, CalendarStore, Protocol):
    """What the calendar reads and writes: facilities and rooms, and their calendar."""


class CalendarService:
    """Keeps facilities' calendars; each change is audited as done by ``actor``."""

    def __init__(self, store: CalendarRecords, actor: Actor = CLI_ACTOR) -> None:
        self._store = store
        self._actor = actor

    def _event(self, action: str, facility: str, details: dict[str, object]) -> AuditEvent:
        return AuditEvent(action, self._actor.role, self._actor.id, facility, "", details)

    async def add_template(
        self,
        room_id: str,
        weekdays: frozenset[int],
        hours: tuple[int, int],
        length_min: int,
        kinds: frozenset[VisitKind],
    ) -> SlotTemplate:
        """A new template for ``room_id``, open ``hours`` (minutes after local midnight);
        Conflict if it overlaps one the room has."""
        room = await self._room(room_id)
        template = SlotTemplate(
            new_id("st"), room.facility_id, room.id, weekdays, *hours, length_min, kinds
        )
        check_template(template)
        event = self._event("slot-template-added", room.facility_id, template.to_json())
        await self._store.add_slot_template(template, event)
        return template

    async def remove_template(self, template_id: str) -> SlotTemplate:
        """Remove a template; visits booked in its slots stay booked."""
        template = await self._store.get_slot_template(template_id)
        if template is None:
            raise NotFound("no such slot template")
        event = self._event("slot-template-removed", template.facility_id, template.to_json())
        if not await self._store.remove_slot_template(template_id, event):
            raise NotFound("no such slot template")
        return template

    async def templates(self, room_id: str) -> list[SlotTemplate]:
        """The room's templates, by opening time."""
        room = await self._room(room_id)
        return await self._store.slot_templates(room.facility_id, room.id)

    async def set_window(self, facility_id: str, window: BookingWindow) -> BookingWindow:
        """Set how far ahead the facility takes bookings, and its education days."""
        await self._facility(facility_id)
        if not 0 <= window.min_days <= window.max_days <= 366:
            raise BadRequest("the booking window runs from 0 to 366 days, minimum before maximum")
        if not window.education_days:
            raise BadRequest("name at least one education day")
        event = self._event("booking-window-set", facility_id, window.to_json())
        await self._store.set_booking_window(facility_id, window, event)
        return window

    async def block_date(self, facility_id: str, date: dt.date, reason: str) -> BlockedDate:
        """Take a local date out of the calendar (a holiday); Conflict if it is out already.
        Visits booked that day are not touched."""
        facility = await self._facility(facility_id)
        blocked = BlockedDate(facility.id, date, _reason(reason))
        event = self._event(
            "date-blocked", facility_id, {"date": date.isoformat(), "reason": blocked.reason}
        )
        await self._store.add_blocked_date(blocked, event)
        return blocked

    async def close(
        self, facility_id: str, start: dt.datetime, until: dt.datetime, reason: str
    ) -> tuple[Closure, ClosureEffect]:
        """Close the facility from ``start`` to ``until`` (naive: the facility's local time);
        see ``close_ms``."""
        facility = await self._facility(facility_id)
        tz = zone(facility.timezone)
        start_ms = int(start.replace(tzinfo=tz).timestamp() * 1000)
        end_ms = int(until.replace(tzinfo=tz).timestamp() * 1000)
        return await self.close_ms(facility_id, start_ms, end_ms, reason)

    async def close_ms(
        self, facility_id: str, start_ms: int, end_ms: int, reason: str
    ) -> tuple[Closure, ClosureEffect]:
        """Close the facility from ``start_ms`` to ``end_ms``: no visit is offered inside, and
        every visit booked in it and not yet started is cancelled with it (each audited for
        its family's message). The live visits it names are for the caller to end."""
        facility = await self._facility(facility_id)
        if end_ms <= start_ms:
            raise BadRequest("a closure ends after it starts")
        if end_ms - start_ms > MAX_CLOSURE_MS:
            raise BadRequest("a closure lasts at most 366 days")
        closure = Closure(new_id("cl"), facility.id, start_ms, end_ms, _reason(reason))
        details = {"closure": closure.id, "start_ms": start_ms, "end_ms": end_ms}
        event = self._event("facility-closed", facility_id, {**details, "reason": closure.reason})
        return closure, await self._store.add_closure(closure, event)

    async def free_slots(
        self, facility_id: str, room_ids: Sequence[str], date: dt.date, kind: VisitKind, now: float
    ) -> list[Slot]:
        """The slots of local ``date`` in ``room_ids`` that a ``kind`` visit may take at ``now``
        (see ``services.booking.slots.free_slots``)."""
        facility = await self._facility(facility_id)
        calendar = await self.day_calendar(facility, date)
        start_ms, end_ms = day_bounds(date, facility.timezone)
        booked = await self._store.booked_slots(room_ids, start_ms, end_ms)
        rooms = [RoomId(r) for r in room_ids]
        return free_slots(calendar, rooms, date, kind, now, booked)

    async def day_calendar(self, facility: Facility, date: dt.date) -> Calendar:
        """The rules that bear on local ``date``: the window, every template, the date if it
        is blocked, and the closures that share time with it."""
        start_ms, end_ms = day_bounds(date, facility.timezone)
        return Calendar(
            facility.timezone,
            await self._store.booking_window(facility.id),
            await self._store.slot_templates(facility.id),
            frozenset(b.date for b in await self._store.blocked_dates(facility.id, date, date)),
            await self._store.closures(facility.id, start_ms, end_ms),
        )

    async def _facility(self, facility_id: str) -> Facility:
        facility = await self._store.get_facility(facility_id)
        if facility is None:
            raise NotFound("no such facility")
        return facility

    async def _room(self, room_id: str) -> Room:
        room = await self._store.get_room(room_id)
        if room is None:
            raise NotFound("no such room")
        return room


def _reason(text: str) -> str:
    """A reason as the log keeps it: trimmed, required, at most ``MAX_REASON`` characters."""
    reason = text.strip()
    if not reason or len(reason) > MAX_REASON:
        raise BadRequest(f"give a reason of 1 to {MAX_REASON} characters")
    return reason
