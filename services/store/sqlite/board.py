"""``SqliteStore``'s ``BoardStore`` role: a facility's day as the today board reads it (in a
few queries however many visits), and an inmate marked ready."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from services.audit.chain import AuditEvent
from services.board.facts import DayFacts, VisitFacts
from services.domain.model import Role, Room, Terminal, Visit, VisitStatus
from services.errors import Conflict, NotFound
from services.ids import FacilityId, RoomId, TerminalId
from services.store.sqlite.base import SqliteBase, translate
from services.store.sqlite.chain_head import Chain
from services.store.sqlite.facilities import facility_where
from services.store.sqlite.visits import READ_COLS, visit_of, visit_where

# A day has far fewer visits than this (a room holds a few dozen); a bound all the same.
MAX_DAY_VISITS = 5000

_VISIT = ", ".join(f"v.{col.strip()}" for col in READ_COLS.split(","))
_FACTS = (
    f"SELECT {_VISIT}, coalesce(i.number, ''), coalesce(i.name, ''), coalesce(i.block, '')"
    " FROM visits v LEFT JOIN inmates i ON i.id = v.inmate_id"
)
_PEOPLE = (
    "SELECT p.visit_id, p.id, p.role, p.name, p.visitor_id, coalesce(w.nik, ''),"
    " coalesce(w.priority, 0), p.contact"
    " FROM participants p LEFT JOIN visitors w ON w.id = p.visitor_id"
)
# Visits whose inmate can still be brought to the room: not refused, called off or over.
_OPEN = frozenset({VisitStatus.APPROVED, VisitStatus.SCHEDULED, VisitStatus.LIVE})
_OPEN_SQL = ",".join(f"'{s.value}'" for s in sorted(_OPEN))


class SqliteBoard(SqliteBase):
    """The ``BoardStore`` role of ``SqliteStore``."""

    async def board_day(self, facility_id: str, start_ms: int, end_ms: int) -> DayFacts | None:
        def q(conn: sqlite3.Connection) -> DayFacts | None:
            facility = facility_where(conn, facility_id)
            if facility is None:
                return None
            rooms = tuple(
                Room(RoomId(i), facility.id, n)
                for i, n in conn.execute(
                    "SELECT id, name FROM rooms WHERE facility_id = ? ORDER BY name, id",
                    (facility_id,),
                )
            )
            terminals = tuple(
                Terminal(TerminalId(i), FacilityId(f), RoomId(r), n, "")
                for i, f, r, n in conn.execute(
                    "SELECT id, facility_id, room_id, name FROM terminals"
                    " WHERE facility_id = ? ORDER BY name, id",
                    (facility_id,),
                )
            )
            where = "v.facility_id = ? AND v.start_ms >= ? AND v.start_ms < ?"
            args = (facility_id, start_ms, end_ms)
            visits = _facts(conn, where, args)
            return DayFacts(facility, rooms, terminals, tuple(visits))

        return await self._read(q)

    async def board_visit(self, visit_id: str) -> VisitFacts | None:
        def q(conn: sqlite3.Connection) -> VisitFacts | None:
            found = _facts(conn, "v.id = ?", (visit_id,))
            return found[0] if found else None

        return await self._read(q)

    async def mark_ready(self, visit_id: str, at_ms: int, event: AuditEvent) -> tuple[Visit, bool]:
        def job(conn: sqlite3.Connection, chain: Chain) -> tuple[Visit, bool]:
            cur = conn.execute(
                f"UPDATE visits SET ready_ms = ? WHERE id = ? AND status IN ({_OPEN_SQL})"
                " AND ready_ms IS NULL",
                (at_ms, visit_id),
            )
            visit = visit_where(conn, "id = ?", (visit_id,))
            if visit is None:
                raise NotFound("no such visit")
            if not cur.rowcount:
                if visit.ready_at is not None and visit.status in _OPEN:
                    return visit, False  # marked already: the first mark stands
                raise Conflict(f"this visit is {visit.status.value}", status=visit.status.value)
            chain.append(conn, [event])
            return visit, True

        return await self._write(translate(job))


def _facts(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[VisitFacts]:
    """Visits matching ``where`` (over ``visits v``), soonest first, with their people."""
    rows = conn.execute(
        f"{_FACTS} WHERE {where} ORDER BY v.start_ms, v.id LIMIT {MAX_DAY_VISITS}", args
    ).fetchall()
    if not rows:
        return []
    people: dict[str, list[Sequence[Any]]] = {}
    ids = [row[0] for row in rows]
    for chunk in range(0, len(ids), 500):  # SQLite's bound on variables per statement
        part = ids[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        for person in conn.execute(
            f"{_PEOPLE} WHERE p.visit_id IN ({marks}) ORDER BY p.rowid", part
        ):
            people.setdefault(person[0], []).append(person)
    return [_one(row, people.get(row[0], [])) for row in rows]


def _one(row: Sequence[Any], people: Sequence[Sequence[Any]]) -> VisitFacts:
    cols = len(READ_COLS.split(","))
    visit = visit_of(row[:cols], ((*p[1:5], p[7]) for p in people))
    guests = [p for p in people if p[2] in (Role.FAMILY.value, Role.TEACHER.value)]
    family = next((p for p in guests if p[2] == Role.FAMILY.value), guests[0] if guests else None)
    ready = visit.ready_at
    return VisitFacts(
        visit=visit,
        inmate_number=row[cols],
        inmate_name=row[cols + 1],
        family_name=family[3] if family else "",
        family_nik=family[5] if family else "",
        priority=any(bool(p[6]) for p in guests),
        ready_ms=int(round(ready * 1000)) if ready is not None else None,
        inmate_block=row[cols + 2],
    )
