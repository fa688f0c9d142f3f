"""``SqliteStore``'s ``FacilityStore`` role: facilities, rooms, terminals, staff, inmates,
visitors; each add commits with its audit event."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from services.audit.chain import AuditEvent
from services.domain.model import (
    Facility,
    FacilityRules,
    Inmate,
    Role,
    Room,
    Staff,
    Terminal,
    Visitor,
)
from services.ids import FacilityId, InmateId, RoomId, StaffId, TerminalId, VisitorId
from services.store.sqlite.base import SqliteBase, translate
from services.store.sqlite.chain_head import Chain


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
        def q(conn: sqlite3.Connection) -> Facility | None:
            row = conn.execute(
                "SELECT id, name, timezone, rules FROM facilities WHERE id = ?", (facility_id,)
            ).fetchone()
            if row is None:
                return None
            rules = FacilityRules.from_json(orjson.loads(row[3]))
            return Facility(FacilityId(row[0]), row[1], row[2], rules)

        return await self._read_inline(q)

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
            chain.append(conn, [event])

        await self._write(translate(job))

    async def get_staff_by_username(self, username: str) -> Staff | None:
        def q(conn: sqlite3.Connection) -> Staff | None:
            row = conn.execute(
                "SELECT id, username, role, password_hash, facility_id FROM staff"
                " WHERE username = ?",
                (username,),
            ).fetchone()
            if row is None:
                return None
            fac = FacilityId(row[4]) if row[4] else None
            return Staff(StaffId(row[0]), row[1], Role(row[2]), row[3], fac)

        return await self._read(q)

    async def add_inmates(self, inmates: Sequence[Inmate], event: AuditEvent) -> int:
        def job(conn: sqlite3.Connection, chain: Chain) -> int:
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO inmates (id, facility_id, number, name, block) VALUES (?,?,?,?,?)"
                " ON CONFLICT (facility_id, number) DO UPDATE SET name = excluded.name,"
                " block = excluded.block",
                [(i.id, i.facility_id, i.number, i.name, i.block) for i in inmates],
            )
            count = conn.total_changes - before
            chain.append(conn, [event])
            return count

        return await self._write(translate(job))

    async def get_inmate(self, inmate_id: str) -> Inmate | None:
        return await self._read(lambda c: inmate_where(c, "id = ?", (inmate_id,)))

    async def find_inmate(self, facility_id: str, number: str) -> Inmate | None:
        return await self._read_inline(
            lambda c: inmate_where(c, "facility_id = ? AND number = ?", (facility_id, number))
        )

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


def inmate_where(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> Inmate | None:
    row = conn.execute(
        f"SELECT id, facility_id, number, name, block FROM inmates WHERE {where}", args
    ).fetchone()
    return Inmate(InmateId(row[0]), FacilityId(row[1]), row[2], row[3], row[4]) if row else None
