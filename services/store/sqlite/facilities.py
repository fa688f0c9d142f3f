"""``SqliteStore``'s ``FacilityStore`` role: facilities, rooms, terminals, staff, inmates,
visitors; each add commits with its audit event."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from services.audit.chain import AuditEvent
from services.domain.model import (
    Facility,
    FacilityRules,
    Inmate,
    InmateStatus,
    Role,
    Room,
    Staff,
    Terminal,
    Visitor,
)
from services.ids import FacilityId, InmateId, RoomId, StaffId, TerminalId, VisitorId
from services.store.protocols import BlockedVisitor, InmatesImported, StaffAccount
from services.store.sqlite.base import SqliteBase, ms, s_or_none, translate
from services.store.sqlite.chain_head import Chain
from services.store.sqlite.revocations import end_staff_tokens


class SqliteFacilities(SqliteBase):
    """The ``FacilityStore`` role of ``SqliteStore``."""

    async def add_facility(self, facility: Facility, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO facilities (id, name, timezone, rules) VALUES (?,?,?,?)",
                (
                    facility.id,
                    facility.name,
                    facility.timezone,
                    orjson.dumps(facility.rules.to_json()).decode(),
                ),
            )
            chain.append(conn, [event])

        await self._write(translate(job))

    async def get_facility(self, facility_id: str) -> Facility | None:
        return await self._read_inline(lambda conn: facility_where(conn, facility_id))

    async def add_room(self, room: Room, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO rooms (id, facility_id, name) VALUES (?,?,?)",
                (room.id, room.facility_id, room.name),
            )
            chain.append(conn, [event])

        await self._write(translate(job))

    async def get_room(self, room_id: str) -> Room | None:
        def q(conn: sqlite3.Connection) -> Room | None:
            row = conn.execute(
                "SELECT id, facility_id, name FROM rooms WHERE id = ?", (room_id,)
            ).fetchone()
            return Room(RoomId(row[0]), FacilityId(row[1]), row[2]) if row else None

        return await self._read(q)

    async def add_terminal(self, terminal: Terminal, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO terminals (id, facility_id, room_id, name, secret_hash)"
                " VALUES (?,?,?,?,?)",
                (
                    terminal.id,
                    terminal.facility_id,
                    terminal.room_id,
                    terminal.name,
                    terminal.secret_hash,
                ),
            )
            chain.append(conn, [event])

        await self._write(translate(job))

    async def get_terminal(self, terminal_id: str) -> Terminal | None:
        def q(conn: sqlite3.Connection) -> Terminal | None:
            row = conn.execute(
                "SELECT id, facility_id, room_id, name, secret_hash FROM terminals WHERE id = ?",
                (terminal_id,),
            ).fetchone()
            if row is None:
                return None
            return Terminal(TerminalId(row[0]), FacilityId(row[1]), RoomId(row[2]), row[3], row[4])

        return await self._read(q)

    async def add_staff(self, staff: Staff, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO staff (id, username, role, password_hash, facility_id)"
                " VALUES (?,?,?,?,?)",
                (
                    staff.id,
                    staff.username,
                    staff.role.value,
                    staff.password_hash,
                    staff.facility_id,
                ),
            )
            conn.executemany(
                "INSERT INTO staff_facilities (staff_id, facility_id) VALUES (?,?)",
                [(staff.id, f) for f in staff.facilities],
            )
            chain.append(conn, [event])

        await self._write(translate(job))

    async def get_staff_by_username(self, username: str) -> Staff | None:
        return await self._read_staff("username", username)

    async def get_staff(self, staff_id: str) -> Staff | None:
        return await self._read_staff("id", staff_id)

    async def _read_staff(self, column: str, value: str) -> Staff | None:
        def q(conn: sqlite3.Connection) -> Staff | None:
            row = conn.execute(
                "SELECT id, username, role, password_hash, facility_id FROM staff"
                f" WHERE {column} = ?",  # one of two fixed names, never input
                (value,),
            ).fetchone()
            if row is None:
                return None
            fac = FacilityId(row[4]) if row[4] else None
            region = conn.execute(
                "SELECT facility_id FROM staff_facilities WHERE staff_id = ? ORDER BY facility_id",
                (row[0],),
            ).fetchall()
            facilities = tuple(FacilityId(r[0]) for r in region)
            return Staff(StaffId(row[0]), row[1], Role(row[2]), row[3], fac, facilities)

        return await self._read(q)

    async def facility_names(self, limit: int) -> list[tuple[FacilityId, str]]:
        def q(conn: sqlite3.Connection) -> list[tuple[FacilityId, str]]:
            return [
                (FacilityId(i), n)
                for i, n in conn.execute(
                    "SELECT id, name FROM facilities ORDER BY name, id LIMIT ?", (limit,)
                )
            ]

        return await self._read(q)

    async def all_facilities(self, limit: int) -> list[Facility]:
        def q(conn: sqlite3.Connection) -> list[Facility]:
            found = conn.execute(
                "SELECT id, name, timezone, rules FROM facilities ORDER BY name, id LIMIT ?",
                (limit,),
            ).fetchall()
            return [
                Facility(FacilityId(i), n, tz, FacilityRules.from_json(orjson.loads(r)))
                for i, n, tz, r in found
            ]

        return await self._read(q)

    async def facility_rooms(self, facility_id: str) -> list[Room]:
        def q(conn: sqlite3.Connection) -> list[Room]:
            return [
                Room(RoomId(i), FacilityId(f), n)
                for i, f, n in conn.execute(
                    "SELECT id, facility_id, name FROM rooms WHERE facility_id = ?"
                    " ORDER BY name, id",
                    (facility_id,),
                )
            ]

        return await self._read(q)

    async def staff_list(self, facility_id: str | None, limit: int) -> list[StaffAccount]:
        def q(conn: sqlite3.Connection) -> list[StaffAccount]:
            where, args = ("WHERE s.facility_id = ?", (facility_id,)) if facility_id else ("", ())
            rows = conn.execute(
                "SELECT s.id, s.username, s.role, s.facility_id,"
                " EXISTS (SELECT 1 FROM revocations r WHERE r.kind = 'staff' AND r.subject = s.id"
                " AND r.lifted_ms IS NULL)"
                f" FROM staff s {where} ORDER BY s.username LIMIT ?",  # one of two fixed clauses
                (*args, limit),
            ).fetchall()
            return [
                StaffAccount(
                    Staff(StaffId(i), u, Role(r), "", FacilityId(f) if f else None), bool(off)
                )
                for i, u, r, f, off in rows
            ]

        return await self._read(q)

    async def set_staff_password(
        self, staff_id: str, password_hash: str, event: AuditEvent
    ) -> bool:
        def job(conn: sqlite3.Connection, chain: Chain) -> bool:
            cur = conn.execute(
                "UPDATE staff SET password_hash = ? WHERE id = ?", (password_hash, staff_id)
            )
            if cur.rowcount:
                end_staff_tokens(conn, chain, staff_id)
                chain.append(conn, [event])
            return bool(cur.rowcount)

        return await self._write(translate(job))

    async def facility_inmates(self, facility_id: str) -> list[Inmate]:
        def q(conn: sqlite3.Connection) -> list[Inmate]:
            return [
                Inmate(InmateId(i), FacilityId(f), n, name, b, InmateStatus(st))
                for i, f, n, name, b, st in conn.execute(
                    "SELECT id, facility_id, number, name, block, status FROM inmates"
                    " WHERE facility_id = ? ORDER BY number",
                    (facility_id,),
                )
            ]

        return await self._read(q)

    async def blocked_visitors(self, facility_id: str, limit: int) -> list[BlockedVisitor]:
        def q(conn: sqlite3.Connection) -> list[BlockedVisitor]:
            rows = conn.execute(
                "SELECT v.id, v.name, v.nik, v.phone, v.relationship, v.priority, r.until_ms"
                " FROM revocations r JOIN visitors v ON r.subject = v.id || '@' || ?"
                " WHERE r.kind = 'visitor' AND r.lifted_ms IS NULL"
                " AND (r.until_ms IS NULL OR r.until_ms > ?) ORDER BY r.seq DESC LIMIT ?",
                (facility_id, ms(self._now()), limit),
            ).fetchall()
            return [
                BlockedVisitor(Visitor(VisitorId(i), n, k, p, rel, bool(pr)), s_or_none(u))
                for i, n, k, p, rel, pr, u in rows
            ]

        return await self._read(q)

    async def add_inmates(self, inmates: Sequence[Inmate], event: AuditEvent) -> InmatesImported:
        def job(conn: sqlite3.Connection, chain: Chain) -> InmatesImported:
            leaving = _leaving(conn, inmates)
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO inmates (id, facility_id, number, name, block, status)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT (facility_id, number) DO UPDATE SET"
                " name = excluded.name, block = excluded.block, status = excluded.status",
                [(i.id, i.facility_id, i.number, i.name, i.block, i.status) for i in inmates],
            )
            count = conn.total_changes - before
            flagged = _flag_for_review(conn, leaving, ms(chain.now()))
            chain.append(
                conn, [dataclasses.replace(event, details={**event.details, "flagged": flagged})]
            )
            return InmatesImported(count, flagged)

        return await self._write(translate(job))

    async def get_inmate(self, inmate_id: str) -> Inmate | None:
        return await self._read(lambda c: inmate_where(c, "id = ?", (inmate_id,)))

    async def find_inmate(self, facility_id: str, number: str) -> Inmate | None:
        return await self._read_inline(
            lambda c: inmate_where(c, "facility_id = ? AND number = ?", (facility_id, number))
        )

    async def search_inmates(self, facility_id: str, text: str, limit: int) -> list[Inmate]:
        def q(conn: sqlite3.Connection) -> list[Inmate]:
            # A facility holds thousands at most: a scan of its rows, the exact number first.
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = conn.execute(
                "SELECT id, facility_id, number, name, block, status FROM inmates"
                " WHERE facility_id = ? AND (number LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')"
                " ORDER BY number != ?, name, number LIMIT ?",
                (facility_id, pattern, pattern, text, limit),
            ).fetchall()
            return [
                Inmate(InmateId(i), FacilityId(f), n, nm, b, InmateStatus(st))
                for i, f, n, nm, b, st in rows
            ]

        return await self._read(q)

    async def add_visitor(self, visitor: Visitor) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO visitors (id, name, nik, phone, relationship, priority)"
                " VALUES (?,?,?,?,?,?)",
                (
                    visitor.id,
                    visitor.name,
                    visitor.nik,
                    visitor.phone,
                    visitor.relationship,
                    int(visitor.priority),
                ),
            )

        await self._write(translate(job))

    async def get_visitor(self, visitor_id: str) -> Visitor | None:
        def q(conn: sqlite3.Connection) -> Visitor | None:
            row = conn.execute(
                "SELECT id, name, nik, phone, relationship, priority FROM visitors WHERE id = ?",
                (visitor_id,),
            ).fetchone()
            if row is None:
                return None
            return Visitor(VisitorId(row[0]), row[1], row[2], row[3], row[4], bool(row[5]))

        return await self._read(q)

    async def visitors_with_nik(self, nik: str) -> list[Visitor]:
        def q(conn: sqlite3.Connection) -> list[Visitor]:
            rows = conn.execute(
                "SELECT id, name, nik, phone, relationship, priority FROM visitors WHERE nik = ?"
                " ORDER BY rowid",
                (nik,),
            ).fetchall()
            return [Visitor(VisitorId(r[0]), r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

        return await self._read(q)


def facility_where(conn: sqlite3.Connection, facility_id: str) -> Facility | None:
    row = conn.execute(
        "SELECT id, name, timezone, rules FROM facilities WHERE id = ?", (facility_id,)
    ).fetchone()
    if row is None:
        return None
    rules = FacilityRules.from_json(orjson.loads(row[3]))
    return Facility(FacilityId(row[0]), row[1], row[2], rules)


def inmate_where(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> Inmate | None:
    row = conn.execute(
        f"SELECT id, facility_id, number, name, block, status FROM inmates WHERE {where}", args
    ).fetchone()
    if row is None:
        return None
    return Inmate(
        InmateId(row[0]), FacilityId(row[1]), row[2], row[3], row[4], InmateStatus(row[5])
    )


def _leaving(conn: sqlite3.Connection, inmates: Sequence[Inmate]) -> list[str]:
    """Ids of the inmates on record whom this import turns released or transferred."""
    gone = [i for i in inmates if i.status.gone]
    leaving = []
    for inmate in gone:
        row = conn.execute(
            "SELECT id, status FROM inmates WHERE facility_id = ? AND number = ?",
            (inmate.facility_id, inmate.number),
        ).fetchone()
        if row and not InmateStatus(row[1]).gone:
            leaving.append(row[0])
    return leaving


def _flag_for_review(
    conn: sqlite3.Connection, inmate_ids: Sequence[str], now_ms: int | None
) -> int:
    """Flag the visits of ``inmate_ids`` that are booked and not yet over; how many."""
    flagged = 0
    for inmate_id in inmate_ids:
        cur = conn.execute(
            "UPDATE visits SET review = 1 WHERE inmate_id = ? AND review = 0"
            " AND status IN ('requested', 'approved', 'scheduled') AND end_ms > ?",
            (inmate_id, now_ms),
        )
        flagged += cur.rowcount
    return flagged
