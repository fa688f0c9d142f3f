"""``SqliteStore``'s ``CalendarStore`` role: slot templates, booking windows, blocked dates,
closures, and the intervals visits hold; each change commits with its audit event."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Sequence

from services.audit.chain import AuditEvent
from services.booking.days import BookingSpan, window_dates
from services.booking.slots import (
    OCCUPYING,
    BlockedDate,
    BookingWindow,
    Calendar,
    Closure,
    Slot,
    SlotTemplate,
    day_bounds,
    hhmm,
    overlapping,
)
from services.domain.model import EndReason, VisitKind
from services.errors import Conflict
from services.ids import FacilityId, RoomId, VisitId
from services.store.protocols import ClosureEffect, ClosurePreview
from services.store.sqlite.base import SqliteBase, ms, translate
from services.store.sqlite.chain_head import Chain
from services.store.sqlite.facilities import facility_where

_TEMPLATE_COLUMNS = "id, facility_id, room_id, weekdays, open_min, close_min, length_min, kinds"


class SqliteCalendar(SqliteBase):
    """The ``CalendarStore`` role of ``SqliteStore``."""

    async def add_slot_template(self, template: SlotTemplate, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            # Checked inside the write transaction, so two racing adds cannot both pass.
            clash = overlapping(template, _templates(conn, "room_id = ?", (template.room_id,)))
            if clash is not None:
                raise Conflict(
                    f"room {template.room_id} already has template {clash.id} on those days"
                    f" from {hhmm(clash.open_min)} to {hhmm(clash.close_min)}"
                )
            conn.execute(
                f"INSERT INTO slot_templates ({_TEMPLATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                (
                    template.id,
                    template.facility_id,
                    template.room_id,
                    _days(template.weekdays),
                    template.open_min,
                    template.close_min,
                    template.length_min,
                    ",".join(sorted(k.value for k in template.kinds)),
                ),
            )
            chain.append(conn, [event])

        await self._write(translate(job))

    async def get_slot_template(self, template_id: str) -> SlotTemplate | None:
        found = await self._read(lambda c: _templates(c, "id = ?", (template_id,)))
        return found[0] if found else None

    async def remove_slot_template(self, template_id: str, event: AuditEvent) -> bool:
        def job(conn: sqlite3.Connection, chain: Chain) -> bool:
            gone = conn.execute("DELETE FROM slot_templates WHERE id = ?", (template_id,))
            if gone.rowcount:
                chain.append(conn, [event])
            return bool(gone.rowcount)

        return await self._write(job)

    async def slot_templates(
        self, facility_id: str, room_id: str | None = None
    ) -> list[SlotTemplate]:
        args: tuple[str, ...] = (facility_id,)
        where = "facility_id = ?"
        if room_id is not None:
            where, args = "facility_id = ? AND room_id = ?", (facility_id, room_id)
        return await self._read_inline(lambda c: _templates(c, where, args))

    async def set_booking_window(
        self, facility_id: str, window: BookingWindow, event: AuditEvent
    ) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO booking_windows (facility_id, min_days, max_days, education_days)"
                " VALUES (?,?,?,?) ON CONFLICT (facility_id) DO UPDATE SET"
                " min_days = excluded.min_days, max_days = excluded.max_days,"
                " education_days = excluded.education_days",
                (facility_id, window.min_days, window.max_days, _days(window.education_days)),
            )
            chain.append(conn, [event])

        await self._write(translate(job))

    async def booking_window(self, facility_id: str) -> BookingWindow:
        def q(conn: sqlite3.Connection) -> BookingWindow:
            return _window(conn, facility_id)

        return await self._read_inline(q)

    async def add_blocked_date(self, blocked: BlockedDate, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO blocked_dates (facility_id, date, reason) VALUES (?,?,?)",
                (blocked.facility_id, blocked.date.isoformat(), blocked.reason),
            )
            chain.append(conn, [event])

        await self._write(translate(job))

    async def blocked_dates(
        self, facility_id: str, first: dt.date, last: dt.date
    ) -> list[BlockedDate]:
        def q(conn: sqlite3.Connection) -> list[BlockedDate]:
            return _blocked(conn, facility_id, first, last)

        return await self._read_inline(q)

    async def add_closure(self, closure: Closure, event: AuditEvent) -> ClosureEffect:
        def job(conn: sqlite3.Connection, chain: Chain) -> ClosureEffect:
            conn.execute(
                "INSERT INTO closures (id, facility_id, start_ms, end_ms, reason)"
                " VALUES (?,?,?,?,?)",
                (closure.id, closure.facility_id, closure.start_ms, closure.end_ms, closure.reason),
            )
            cancelled = _cancel_within(conn, closure, ms(chain.now()))
            running = conn.execute(
                "SELECT id FROM visits WHERE facility_id = ? AND status = 'live'"
                " AND start_ms < ? AND end_ms > ? ORDER BY start_ms, id",
                (closure.facility_id, closure.end_ms, closure.start_ms),
            ).fetchall()
            counted = dataclasses.replace(
                event, details={**event.details, "cancelled": len(cancelled)}
            )
            # The closure's event first, then each visit's: the reason a family reads follows.
            chain.append(conn, [counted, *(_cancelled(event, closure, v) for v in cancelled)])
            return ClosureEffect(tuple(cancelled), tuple(VisitId(r[0]) for r in running))

        return await self._write(translate(job))

    async def closure_preview(self, facility_id: str, start_ms: int, end_ms: int) -> ClosurePreview:
        def q(conn: sqlite3.Connection) -> ClosurePreview:
            # The same visits as _cancel_within and add_closure's live ones, counted.
            overlap = "v.facility_id = ? AND v.start_ms < ? AND v.end_ms > ?"
            args = (facility_id, end_ms, start_ms)
            cancelled, families = conn.execute(
                "SELECT COUNT(DISTINCT v.id), COUNT(DISTINCT COALESCE(p.visitor_id, p.id))"
                " FROM visits v LEFT JOIN participants p ON p.visit_id = v.id AND p.role = 'family'"
                f" WHERE {overlap} AND v.status IN ('requested', 'approved', 'scheduled')",
                args,
            ).fetchone()
            (live,) = conn.execute(
                f"SELECT COUNT(*) FROM visits v WHERE {overlap} AND v.status = 'live'", args
            ).fetchone()
            return ClosurePreview(cancelled, families, live)

        return await self._read(q)

    async def closures(self, facility_id: str, start_ms: int, end_ms: int) -> list[Closure]:
        def q(conn: sqlite3.Connection) -> list[Closure]:
            return _closures(conn, facility_id, start_ms, end_ms)

        return await self._read_inline(q)

    async def booked_slots(self, room_ids: Sequence[str], start_ms: int, end_ms: int) -> list[Slot]:
        def q(conn: sqlite3.Connection) -> list[Slot]:
            return _booked(conn, room_ids, start_ms, end_ms)

        return await self._read(q)

    async def booking_span(self, facility_id: str, now: float) -> BookingSpan | None:
        def q(conn: sqlite3.Connection) -> BookingSpan | None:
            facility = facility_where(conn, facility_id)
            if facility is None:
                return None
            window = _window(conn, facility_id)
            first, last = window_dates(window, facility.timezone, now)
            start_ms = day_bounds(first, facility.timezone)[0]
            end_ms = day_bounds(last, facility.timezone)[1]
            rooms = tuple(
                RoomId(r)
                for (r,) in conn.execute(
                    "SELECT DISTINCT room_id FROM terminals WHERE facility_id = ? ORDER BY room_id",
                    (facility_id,),
                )
            )
            calendar = Calendar(
                facility.timezone,
                window,
                _templates(conn, "facility_id = ?", (facility_id,)),
                frozenset(b.date for b in _blocked(conn, facility_id, first, last)),
                _closures(conn, facility_id, start_ms, end_ms),
            )
            booked = tuple(_booked(conn, rooms, start_ms, end_ms))
            return BookingSpan(facility, calendar, rooms, first, last, booked)

        return await self._read(q)


def _window(conn: sqlite3.Connection, facility_id: str) -> BookingWindow:
    row = conn.execute(
        "SELECT min_days, max_days, education_days FROM booking_windows WHERE facility_id = ?",
        (facility_id,),
    ).fetchone()
    return BookingWindow(row[0], row[1], _parse_days(row[2])) if row else BookingWindow()


def _blocked(
    conn: sqlite3.Connection, facility_id: str, first: dt.date, last: dt.date
) -> list[BlockedDate]:
    found = conn.execute(
        "SELECT date, reason FROM blocked_dates"
        " WHERE facility_id = ? AND date BETWEEN ? AND ? ORDER BY date",
        (facility_id, first.isoformat(), last.isoformat()),
    ).fetchall()
    fac = FacilityId(facility_id)
    return [BlockedDate(fac, dt.date.fromisoformat(d), r) for d, r in found]


def _closures(
    conn: sqlite3.Connection, facility_id: str, start_ms: int, end_ms: int
) -> list[Closure]:
    found = conn.execute(
        "SELECT id, facility_id, start_ms, end_ms, reason FROM closures"
        " WHERE facility_id = ? AND start_ms < ? AND end_ms > ? ORDER BY start_ms",
        (facility_id, end_ms, start_ms),
    ).fetchall()
    return [Closure(i, FacilityId(f), s, e, r) for i, f, s, e, r in found]


def _booked(
    conn: sqlite3.Connection, room_ids: Sequence[str], start_ms: int, end_ms: int
) -> list[Slot]:
    rooms = ",".join("?" * len(room_ids))
    states = ",".join("?" * len(OCCUPYING))
    found = conn.execute(
        f"SELECT room_id, start_ms, end_ms FROM visits WHERE room_id IN ({rooms})"
        f" AND status IN ({states}) AND start_ms < ? AND end_ms > ?",
        (*room_ids, *sorted(s.value for s in OCCUPYING), end_ms, start_ms),
    ).fetchall()
    return [Slot(RoomId(r), s, e) for r, s, e in found]


def _templates(conn: sqlite3.Connection, where: str, args: tuple[str, ...]) -> list[SlotTemplate]:
    found = conn.execute(
        f"SELECT {_TEMPLATE_COLUMNS} FROM slot_templates WHERE {where} ORDER BY room_id, open_min",
        args,
    ).fetchall()
    return [
        SlotTemplate(
            i,
            FacilityId(f),
            RoomId(r),
            _parse_days(days),
            o,
            c,
            n,
            frozenset(VisitKind(k) for k in kinds.split(",")),
        )
        for i, f, r, days, o, c, n, kinds in found
    ]


def _days(days: frozenset[int]) -> str:
    """Weekday numbers as the column holds them: ``0,6`` (Monday and Sunday)."""
    return ",".join(str(d) for d in sorted(days))


def _parse_days(text: str) -> frozenset[int]:
    return frozenset(int(d) for d in text.split(",") if d)


def _cancel_within(conn: sqlite3.Connection, closure: Closure, now_ms: int | None) -> list[VisitId]:
    """Cancel the facility's visits not yet started that share time with ``closure``."""
    found = [
        VisitId(r[0])
        for r in conn.execute(
            "SELECT id FROM visits WHERE facility_id = ?"
            " AND status IN ('requested', 'approved', 'scheduled')"
            " AND start_ms < ? AND end_ms > ? ORDER BY start_ms, id",
            (closure.facility_id, closure.end_ms, closure.start_ms),
        )
    ]
    conn.executemany(
        "UPDATE visits SET status = 'cancelled', ended_ms = ?, end_reason = ? WHERE id = ?",
        [(now_ms, EndReason.CANCELLED.value, v) for v in found],
    )
    return found


def _cancelled(closed: AuditEvent, closure: Closure, visit_id: VisitId) -> AuditEvent:
    """One visit's ``cancelled`` event, by whoever closed the facility, saying why."""
    details: dict[str, object] = {"by": "closure", "reason": closure.reason}
    return AuditEvent(
        "cancelled", closed.actor_role, closed.actor_id, closure.facility_id, visit_id, details
    )
