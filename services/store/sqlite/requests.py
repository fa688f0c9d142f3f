"""``SqliteStore``'s ``RequestStore`` role: families' visit requests, placed and checked against
the quotas in one writer job, then approved, rejected or looked up."""

from __future__ import annotations

import dataclasses
import sqlite3

import orjson

from services.audit.chain import AuditEvent
from services.booking.policy import BookingPolicy, parse_relationships
from services.booking.quotas import NewRequest, Quotas
from services.booking.rejections import Rejection
from services.domain.model import (
    Facility,
    FacilityRules,
    InmateStatus,
    Role,
    Terminal,
    Visit,
    VisitStatus,
)
from services.errors import (
    BadRequest,
    Conflict,
    InmateUnavailable,
    MakeupUnavailable,
    NotFound,
)
from services.ids import FacilityId, RoomId, TerminalId, VisitorId
from services.store.sqlite.base import SqliteBase, ms, translate
from services.store.sqlite.chain_head import Chain
from services.store.sqlite.request_rules import (
    check_blocked,
    check_inmate,
    check_quotas,
    extended_end,
    free_place,
    known_visitor,
    visit_inmate_status,
)
from services.store.sqlite.visits import VISIT_COLS, visit_where


class SqliteRequests(SqliteBase):
    """The ``RequestStore`` role of ``SqliteStore``."""

    async def request_facilities(self) -> list[Facility]:
        def q(conn: sqlite3.Connection) -> list[Facility]:
            found = conn.execute(
                "SELECT id, name, timezone, rules FROM facilities WHERE id IN"
                " (SELECT facility_id FROM slot_templates) ORDER BY name, id"
            ).fetchall()
            return [
                Facility(FacilityId(i), n, tz, FacilityRules.from_json(orjson.loads(r)))
                for i, n, tz, r in found
            ]

        return await self._read(q)

    async def bookable_terminals(self, facility_id: str) -> list[Terminal]:
        def q(conn: sqlite3.Connection) -> list[Terminal]:
            # One terminal per room: a visit room has one inmate-side screen.
            found = conn.execute(
                "SELECT id, facility_id, room_id, name, secret_hash FROM terminals"
                " WHERE facility_id = ? AND rowid IN (SELECT min(rowid) FROM terminals"
                " GROUP BY room_id) ORDER BY room_id",
                (facility_id,),
            ).fetchall()
            return [
                Terminal(TerminalId(i), FacilityId(f), RoomId(r), n, h) for i, f, r, n, h in found
            ]

        return await self._read_inline(q)

    async def quotas(self, facility_id: str) -> Quotas:
        def q(conn: sqlite3.Connection) -> Quotas:
            row = conn.execute(
                "SELECT per_inmate, per_visitor FROM booking_quotas WHERE facility_id = ?",
                (facility_id,),
            ).fetchone()
            return Quotas(row[0], row[1]) if row else Quotas()

        return await self._read_inline(q)

    async def set_quotas(self, facility_id: str, quotas: Quotas, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO booking_quotas (facility_id, per_inmate, per_visitor) VALUES (?,?,?)"
                " ON CONFLICT (facility_id) DO UPDATE SET per_inmate = excluded.per_inmate,"
                " per_visitor = excluded.per_visitor",
                (facility_id, quotas.per_inmate, quotas.per_visitor),
            )
            chain.append(conn, [event])

        await self._write(translate(job))

    async def booking_policy(self, facility_id: str) -> BookingPolicy:
        return await self._read(lambda c: _policy(c, facility_id))

    async def set_booking_policy(
        self, facility_id: str, policy: BookingPolicy, event: AuditEvent
    ) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO booking_policies (facility_id, relationships, auto_approve_known,"
                " makeup_after_min) VALUES (?,?,?,?) ON CONFLICT (facility_id) DO UPDATE SET"
                " relationships = excluded.relationships,"
                " auto_approve_known = excluded.auto_approve_known,"
                " makeup_after_min = excluded.makeup_after_min",
                (
                    facility_id,
                    ",".join(policy.listed()),
                    int(policy.auto_approve_known),
                    policy.makeup_after_min,
                ),
            )
            chain.append(conn, [event])

        await self._write(translate(job))

    async def add_request(self, request: NewRequest) -> Visit:
        def job(conn: sqlite3.Connection, chain: Chain) -> Visit:
            # The checks and the insert share this transaction: the writer runs jobs one by
            # one, so no other request can take the slot or the quota in between.
            visit = request.visit
            check_inmate(conn, request.visit.inmate_id)
            check_blocked(conn, request, ms(chain.now()))
            if not request.makeup_for:  # a make-up visit makes up for one counted already
                check_quotas(conn, request)
            place = free_place(conn, request.places, ms(visit.start), ms(visit.end))
            visitor_id = _visitor(conn, request)
            end_ms = extended_end(conn, request, place)
            placed = _placed(visit, place, visitor_id, end_ms)
            _insert(conn, placed, ms(chain.now()))
            event = request.event
            if end_ms != ms(visit.end):
                event = dataclasses.replace(event, details={**event.details, "end_ms": end_ms})
            events = [event]
            at_once = request.makeup_for or known_visitor(conn, request)
            if request.approval is not None and at_once:
                conn.execute(
                    "UPDATE visits SET status = ? WHERE id = ?",
                    (VisitStatus.SCHEDULED.value, visit.id),
                )
                conn.execute(
                    "UPDATE participants SET link_hash = ? WHERE visit_id = ? AND role = ?",
                    (request.family_link_hash, visit.id, Role.FAMILY.value),
                )
                placed = dataclasses.replace(placed, status=VisitStatus.SCHEDULED)
                events.append(request.approval)
            if request.makeup_for and request.makeup_event is not None:
                use_offer(conn, request.makeup_for, visit.id, visitor_id)
                events.append(request.makeup_event)
            chain.append(conn, events)
            return placed

        return await self._write(translate(job))

    async def visit_by_code(self, code: str) -> Visit | None:
        return await self._read(lambda c: visit_where(c, "code = ?", (code,)))

    async def requests(self, facility_id: str, status: VisitStatus, limit: int) -> list[Visit]:
        def q(conn: sqlite3.Connection) -> list[Visit]:
            ids = conn.execute(
                "SELECT id FROM visits WHERE facility_id = ? AND status = ?"
                " ORDER BY start_ms, id LIMIT ?",
                (facility_id, status.value, limit),
            ).fetchall()
            found = (visit_where(conn, "id = ?", (i,)) for (i,) in ids)
            return [v for v in found if v is not None]

        return await self._read(q)

    async def approve_request(
        self,
        visit_id: str,
        link_hashes: dict[str, str],
        event: AuditEvent,
        permission_ref: str | None = None,
    ) -> Visit:
        def job(conn: sqlite3.Connection, chain: Chain) -> Visit:
            _expect(conn, visit_id, VisitStatus.REQUESTED)
            # Checked again here: the inmate's status may have changed by an import since.
            status = visit_inmate_status(conn, visit_id)
            if status.gone:
                raise InmateUnavailable("the inmate was released or transferred")
            if permission_ref is None and status is InmateStatus.REMAND:
                raise BadRequest("a remand visit needs `permission_ref`", field="permission_ref")
            # Approved and scheduled at once: the approved visit needs nothing more to run.
            conn.execute(
                "UPDATE visits SET status = ?, permission_ref = ? WHERE id = ?",
                (VisitStatus.SCHEDULED.value, permission_ref, visit_id),
            )
            conn.executemany(
                "UPDATE participants SET link_hash = ? WHERE id = ? AND visit_id = ?",
                [(h, pid, visit_id) for pid, h in link_hashes.items()],
            )
            chain.append(conn, [event])
            return _visit(conn, visit_id)

        return await self._write(translate(job))

    async def reject_request(self, visit_id: str, why: Rejection, event: AuditEvent) -> Visit:
        def job(conn: sqlite3.Connection, chain: Chain) -> Visit:
            _expect(conn, visit_id, VisitStatus.REQUESTED)
            conn.execute(
                "UPDATE visits SET status = ?, reject_reason = ?, reject_note = ? WHERE id = ?",
                (VisitStatus.REJECTED.value, why.reason, why.note, visit_id),
            )
            chain.append(conn, [event])
            return _visit(conn, visit_id)

        return await self._write(translate(job))

    async def rejection(self, visit_id: str) -> Rejection | None:
        def q(conn: sqlite3.Connection) -> Rejection | None:
            row = conn.execute(
                "SELECT reject_reason, reject_note FROM visits WHERE id = ?", (visit_id,)
            ).fetchone()
            return Rejection(row[0], row[1] or "") if row and row[0] else None

        return await self._read(q)


def _policy(conn: sqlite3.Connection, facility_id: str) -> BookingPolicy:
    row = conn.execute(
        "SELECT relationships, auto_approve_known, makeup_after_min FROM booking_policies"
        " WHERE facility_id = ?",
        (facility_id,),
    ).fetchone()
    if row is None:
        return BookingPolicy()
    return BookingPolicy(parse_relationships(row[0]), bool(row[1]), row[2])


def use_offer(conn: sqlite3.Connection, original: str, visit_id: str, visitor_id: str) -> None:
    """Mark the make-up offer of ``original`` used by ``visit_id``; MakeupUnavailable if there
    is none for that visitor, or it is used already (in the caller's transaction)."""
    if not conn.execute(
        "UPDATE makeup_offers SET used_visit_id = ? WHERE visit_id = ? AND visitor_id = ?"
        " AND used_visit_id IS NULL",
        (visit_id, original, visitor_id),
    ).rowcount:
        raise MakeupUnavailable("no make-up visit is offered for that visit")


def _visitor(conn: sqlite3.Connection, request: NewRequest) -> VisitorId:
    """The visitor on record with the request's NIK (its name and phone brought up to date),
    or the request's visitor, inserted."""
    v = request.visitor
    row = conn.execute("SELECT id FROM visitors WHERE nik = ? LIMIT 1", (v.nik,)).fetchone()
    if row:
        # Priority too: special needs (a pregnancy, say) are the latest request's.
        conn.execute(
            "UPDATE visitors SET name = ?, phone = ?, relationship = ?, priority = ? WHERE id = ?",
            (v.name, v.phone, v.relationship, int(v.priority), row[0]),
        )
        return VisitorId(row[0])
    conn.execute(
        "INSERT INTO visitors (id, name, nik, phone, relationship, priority) VALUES (?,?,?,?,?,?)",
        (v.id, v.name, v.nik, v.phone, v.relationship, int(v.priority)),
    )
    return v.id


def _placed(visit: Visit, place: Terminal, visitor_id: VisitorId, end_ms: int) -> Visit:
    seats = tuple(
        dataclasses.replace(p, name=place.name)
        if p.role is Role.TERMINAL
        else dataclasses.replace(p, visitor_id=visitor_id)
        if p.role is Role.FAMILY
        else p
        for p in visit.participants
    )
    return dataclasses.replace(
        visit, room_id=place.room_id, terminal_id=place.id, participants=seats, end=end_ms / 1000
    )


def _insert(conn: sqlite3.Connection, visit: Visit, created_ms: int | None) -> None:
    conn.execute(
        f"INSERT INTO visits ({VISIT_COLS}, created_ms, advocate_number)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            *(visit.id, visit.code, visit.facility_id, visit.room_id, visit.terminal_id),
            *(visit.inmate_id, visit.kind.value, visit.status.value),
            *(ms(visit.start), ms(visit.end), None, None, None, created_ms),
            visit.advocate_number,
        ),
    )
    conn.executemany(
        "INSERT INTO participants (id, visit_id, role, name, visitor_id, contact)"
        " VALUES (?,?,?,?,?,?)",
        [
            (p.id, visit.id, p.role.value, p.name, p.visitor_id, p.contact)
            for p in visit.participants
        ],
    )


def _expect(conn: sqlite3.Connection, visit_id: str, status: VisitStatus) -> None:
    row = conn.execute("SELECT status FROM visits WHERE id = ?", (visit_id,)).fetchone()
    if row is None:
        raise NotFound("no such request")
    if row[0] != status.value:
        raise Conflict(f"the request is {row[0]}", status=row[0])


def _visit(conn: sqlite3.Connection, visit_id: str) -> Visit:
    visit = visit_where(conn, "id = ?", (visit_id,))
    assert visit is not None
    return visit
