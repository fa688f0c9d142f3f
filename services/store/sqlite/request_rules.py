"""What a family's request must pass inside the store's write transaction, where no other
request can change the answer in between: the inmate still visitable, the visitor not blocked,
the quotas, a free room; and what it gains there: a priority visitor's extra minutes, and
approval at once for a known visitor."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.booking.quotas import WEEK_MS, NewRequest
from services.domain.model import InmateStatus, Terminal
from services.errors import InmateUnavailable, QuotaInmate, QuotaVisitor, SlotFull, VisitorBlocked
from services.store.sqlite.base import ms
from services.store.sqlite.visits import OCCUPYING_SQL


def inmate_status(conn: sqlite3.Connection, inmate_id: str) -> InmateStatus:
    row = conn.execute("SELECT status FROM inmates WHERE id = ?", (inmate_id,)).fetchone()
    return InmateStatus(row[0]) if row else InmateStatus.CONVICTED


def check_inmate(conn: sqlite3.Connection, inmate_id: str) -> None:
    """InmateUnavailable if the inmate was released or transferred (an import may have said so
    since the service looked)."""
    if inmate_status(conn, inmate_id).gone:
        raise InmateUnavailable("the inmate cannot be visited here")


def check_blocked(conn: sqlite3.Connection, request: NewRequest, now_ms: int | None) -> None:
    """VisitorBlocked if any visitor record of the request's NIK is revoked, everywhere or in
    the request's facility, and the revocation has not been lifted (``visitor_subject``) nor
    reached its end by ``now_ms``."""
    blocked = conn.execute(
        "SELECT 1 FROM visitors v JOIN revocations r ON r.kind = 'visitor'"
        " AND r.subject IN (v.id, v.id || '@' || ?)"
        " WHERE v.nik = ? AND r.lifted_ms IS NULL AND (r.until_ms IS NULL OR r.until_ms > ?)"
        " LIMIT 1",
        (request.visit.facility_id, request.visitor.nik, now_ms),
    ).fetchone()
    if blocked:
        raise VisitorBlocked("this request cannot be taken; ask the facility")


# A make-up visit (services.booking.makeup_taking) counts against no quota: it makes up for one
# that did. Its visit is the one ``v``.
NOT_MAKEUP = "NOT EXISTS (SELECT 1 FROM makeup_offers m WHERE m.used_visit_id = v.id)"


def check_quotas(conn: sqlite3.Connection, request: NewRequest) -> None:
    """QuotaInmate or QuotaVisitor if either already has its visits within 7 days of this one."""
    start = ms(request.visit.start)
    assert start is not None
    around = (start - WEEK_MS, start + WEEK_MS)
    (inmate,) = conn.execute(
        f"SELECT count(*) FROM visits v WHERE inmate_id = ? AND status IN ({OCCUPYING_SQL})"
        f" AND start_ms > ? AND start_ms < ? AND {NOT_MAKEUP}",
        (request.visit.inmate_id, *around),
    ).fetchone()
    if inmate >= request.quotas.per_inmate:
        raise QuotaInmate("the inmate has no visit left in that week")
    (visitor,) = conn.execute(
        "SELECT count(DISTINCT v.id) FROM visits v JOIN participants p ON p.visit_id = v.id"
        " JOIN visitors r ON r.id = p.visitor_id"
        f" WHERE r.nik = ? AND v.status IN ({OCCUPYING_SQL}) AND v.start_ms > ? AND v.start_ms < ?"
        f" AND {NOT_MAKEUP}",
        (request.visitor.nik, *around),
    ).fetchone()
    if visitor >= request.quotas.per_visitor:
        raise QuotaVisitor("the visitor has no visit left in that week")


def free_place(
    conn: sqlite3.Connection, places: Sequence[Terminal], start: int | None, end: int | None
) -> Terminal:
    """The first place whose room has no occupying visit sharing time with ``[start, end)``."""
    for place in places:
        taken = conn.execute(
            f"SELECT 1 FROM visits WHERE room_id = ? AND status IN ({OCCUPYING_SQL})"
            " AND start_ms < ? AND end_ms > ? LIMIT 1",
            (place.room_id, end, start),
        ).fetchone()
        if not taken:
            return place
    raise SlotFull("that slot has just been taken")


def known_visitor(conn: sqlite3.Connection, request: NewRequest) -> bool:
    """Whether the request's visitor (by NIK) already had a visit with its inmate approved
    (scheduled, held or ended), and the inmate is not on remand (checked here, as an import may
    have put them there since the service looked)."""
    visit = request.visit
    if inmate_status(conn, visit.inmate_id) is InmateStatus.REMAND:
        return False
    found = conn.execute(
        "SELECT 1 FROM visits v JOIN participants p ON p.visit_id = v.id"
        " JOIN visitors r ON r.id = p.visitor_id"
        " WHERE r.nik = ? AND v.inmate_id = ? AND v.id != ?"
        " AND v.status IN ('scheduled', 'live', 'ended') LIMIT 1",
        (request.visitor.nik, visit.inmate_id, visit.id),
    ).fetchone()
    return found is not None


def extended_end(conn: sqlite3.Connection, request: NewRequest, place: Terminal) -> int:
    """The visit's end with a priority visitor's extra time: at most ``extra_ms`` past the slot,
    clipped at the start of the room's next occupying visit and of the facility's next closure."""
    end = ms(request.visit.end)
    assert end is not None
    if not request.extra_ms:
        return end
    wanted = end + request.extra_ms
    (next_visit,) = conn.execute(
        f"SELECT min(start_ms) FROM visits WHERE room_id = ? AND status IN ({OCCUPYING_SQL})"
        " AND start_ms >= ? AND start_ms < ?",
        (place.room_id, end, wanted),
    ).fetchone()
    (next_closure,) = conn.execute(
        "SELECT min(start_ms) FROM closures WHERE facility_id = ? AND start_ms >= ?"
        " AND start_ms < ?",
        (request.visit.facility_id, end, wanted),
    ).fetchone()
    return min(x for x in (wanted, next_visit, next_closure) if x is not None)


def visit_inmate_status(conn: sqlite3.Connection, visit_id: str) -> InmateStatus:
    row = conn.execute("SELECT inmate_id FROM visits WHERE id = ?", (visit_id,)).fetchone()
    return inmate_status(conn, row[0]) if row else InmateStatus.CONVICTED
