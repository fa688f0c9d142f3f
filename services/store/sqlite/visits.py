"""``SqliteStore``'s ``VisitStore`` and ``AccessStore`` roles: visits, their participants and
links, revoked token ids."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from services.audit.chain import AuditEvent
from services.booking.slots import OCCUPYING
from services.domain.model import (
    VISIT_TRANSITIONS,
    EndReason,
    Participant,
    Role,
    Visit,
    VisitKind,
    VisitStatus,
)
from services.domain.rules import check_not_in_review
from services.errors import Conflict, NotFound
from services.ids import FacilityId, InmateId, ParticipantId, RoomId, TerminalId, VisitId, VisitorId
from services.store.protocols import VisitChange
from services.store.sqlite.base import SqliteBase, ms, s_or_none, translate
from services.store.sqlite.chain_head import Chain

VISIT_COLS = (
    "id, code, facility_id, room_id, terminal_id, inmate_id, kind, status, start_ms, end_ms,"
    " started_ms, ended_ms, end_reason"
)


# What a visit is read with besides the columns it is inserted with.
READ_COLS = f"{VISIT_COLS}, permission_ref, review, advocate_number, ready_ms"


# The states in which a visit holds its room and terminal for its time (SQL list).
OCCUPYING_SQL = ",".join(f"'{s.value}'" for s in sorted(OCCUPYING))


class SqliteVisits(SqliteBase):
    """The ``VisitStore`` role of ``SqliteStore``, and ``AccessStore``'s family links."""

    async def add_visit(
        self, visit: Visit, link_hashes: dict[str, str], events: Sequence[AuditEvent]
    ) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            # A family's pending request holds its terminal as firmly as a scheduled visit. (A
            # room may have several terminals: requests book whole rooms, officers terminals.)
            clash = conn.execute(
                "SELECT id FROM visits WHERE terminal_id = ?"
                f" AND status IN ({OCCUPYING_SQL}) AND start_ms < ? AND end_ms > ? LIMIT 1",
                (visit.terminal_id, ms(visit.end), ms(visit.start)),
            ).fetchone()
            if clash:
                raise Conflict("the terminal is already booked at that time", visit=clash[0])
            conn.execute(
                f"INSERT INTO visits ({VISIT_COLS}, permission_ref, created_ms)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    visit.id,
                    visit.code,
                    visit.facility_id,
                    visit.room_id,
                    visit.terminal_id,
                    visit.inmate_id,
                    visit.kind.value,
                    visit.status.value,
                    ms(visit.start),
                    ms(visit.end),
                    None,
                    None,
                    None,
                    visit.permission_ref,
                    ms(chain.now()),
                ),
            )
            conn.executemany(
                "INSERT INTO participants"
                " (id, visit_id, role, name, visitor_id, link_hash, contact)"
                " VALUES (?,?,?,?,?,?,?)",
                [
                    (
                        *(p.id, visit.id, p.role.value, p.name, p.visitor_id),
                        *(link_hashes.get(p.id), p.contact),
                    )
                    for p in visit.participants
                ],
            )
            chain.append(conn, list(events))

        await self._write(translate(job))

    async def get_visit(self, visit_id: str) -> Visit | None:
        return await self._read(lambda c: visit_where(c, "id = ?", (visit_id,)))

    async def find_link(self, link_hash: str) -> tuple[Visit, Participant] | None:
        def q(conn: sqlite3.Connection) -> tuple[Visit, Participant] | None:
            row = conn.execute(
                "SELECT visit_id, id FROM participants WHERE link_hash = ?", (link_hash,)
            ).fetchone()
            if row is None:
                return None
            visit = visit_where(conn, "id = ?", (row[0],))
            part = visit.participant(row[1]) if visit else None
            return (visit, part) if visit and part else None

        return await self._read(q)

    async def clear_review(self, visit_id: str, event: AuditEvent) -> Visit:
        def job(conn: sqlite3.Connection, chain: Chain) -> Visit:
            cur = conn.execute(
                "UPDATE visits SET review = 0 WHERE id = ? AND review = 1", (visit_id,)
            )
            if not cur.rowcount:
                raise Conflict("this visit is not waiting for review")
            chain.append(conn, [event])
            visit = visit_where(conn, "id = ?", (visit_id,))
            assert visit is not None
            return visit

        return await self._write(translate(job))

    async def find_participant(self, participant_id: str) -> tuple[Visit, Participant] | None:
        def q(conn: sqlite3.Connection) -> tuple[Visit, Participant] | None:
            row = conn.execute(
                "SELECT visit_id FROM participants WHERE id = ?", (participant_id,)
            ).fetchone()
            visit = visit_where(conn, "id = ?", (row[0],)) if row else None
            part = visit.participant(participant_id) if visit else None
            return (visit, part) if visit and part else None

        return await self._read(q)

    async def terminal_visit(
        self, terminal_id: TerminalId, now: float, early_s: float
    ) -> Visit | None:
        return await self._read(
            lambda c: visit_where(
                c,
                "terminal_id = ? AND status IN ('scheduled', 'live') AND start_ms <= ?"
                " AND end_ms > ? ORDER BY start_ms LIMIT 1",
                (terminal_id, ms(now + early_s), ms(now)),
            )
        )

    async def next_terminal_visit(self, terminal_id: TerminalId, now: float) -> Visit | None:
        return await self._read(
            lambda c: visit_where(
                c,
                "terminal_id = ? AND status = 'scheduled' AND end_ms > ? ORDER BY start_ms LIMIT 1",
                (terminal_id, ms(now)),
            )
        )

    async def due_visit_ids(self, now: float, horizon_s: float) -> list[str]:
        def q(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT id FROM visits WHERE status IN ('scheduled', 'live') AND start_ms <= ?",
                (ms(now + horizon_s),),
            )
            return [r[0] for r in rows]

        return await self._read(q)

    async def change_visit(self, change: VisitChange, events: Sequence[AuditEvent]) -> Visit:
        def job(conn: sqlite3.Connection, chain: Chain) -> Visit:
            current = visit_where(conn, "id = ?", (change.visit_id,))
            if current is None:
                raise NotFound("no such visit")
            if current.status not in change.expect:
                raise Conflict(f"visit is {current.status.value}", status=current.status.value)
            if change.to not in VISIT_TRANSITIONS[current.status]:
                raise Conflict(f"visit cannot go from {current.status.value} to {change.to.value}")
            if change.to is VisitStatus.LIVE:
                # The one check no cached copy of the visit can miss: a flagged visit never starts.
                check_not_in_review(current)
            at = ms(change.at)
            if change.to is VisitStatus.LIVE:
                conn.execute(
                    "UPDATE visits SET status = ?, started_ms = ? WHERE id = ?",
                    (change.to.value, at, change.visit_id),
                )
            elif change.to in (VisitStatus.ENDED, VisitStatus.CANCELLED):
                reason = change.reason.value if change.reason else None
                conn.execute(
                    "UPDATE visits SET status = ?, ended_ms = ?, end_reason = ? WHERE id = ?",
                    (change.to.value, at, reason, change.visit_id),
                )
            else:
                conn.execute(
                    "UPDATE visits SET status = ? WHERE id = ?", (change.to.value, change.visit_id)
                )
            chain.append(conn, list(events))
            updated = visit_where(conn, "id = ?", (change.visit_id,))
            assert updated is not None
            return updated

        return await self._write(translate(job))


def visit_where(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> Visit | None:
    row = conn.execute(f"SELECT {READ_COLS} FROM visits WHERE {where}", args).fetchone()
    if row is None:
        return None
    parts = conn.execute(
        "SELECT id, role, name, visitor_id, contact FROM participants WHERE visit_id = ?"
        " ORDER BY rowid",
        (row[0],),
    )
    return visit_of(row, parts)


def visit_of(row: Sequence[Any], parts: Iterable[Sequence[Any]]) -> Visit:
    """A visit from a row of ``READ_COLS`` and its participants' rows (id, role, name,
    visitor_id, contact), in seat order."""
    participants = tuple(
        Participant(
            ParticipantId(p[0]),
            VisitId(row[0]),
            Role(p[1]),
            p[2],
            VisitorId(p[3]) if p[3] else None,
            p[4],
        )
        for p in parts
    )
    return Visit(
        id=VisitId(row[0]),
        code=row[1],
        facility_id=FacilityId(row[2]),
        room_id=RoomId(row[3]),
        terminal_id=TerminalId(row[4]),
        inmate_id=InmateId(row[5]),
        kind=VisitKind(row[6]),
        status=VisitStatus(row[7]),
        start=row[8] / 1000,
        end=row[9] / 1000,
        started_at=s_or_none(row[10]),
        ended_at=s_or_none(row[11]),
        end_reason=EndReason(row[12]) if row[12] else None,
        participants=participants,
        permission_ref=row[13],
        review=bool(row[14]),
        advocate_number=row[15],
        ready_at=s_or_none(row[16]),
    )
