"""``SqliteStore``'s ``MakeupStore`` role: make-up offers and the offerer's cursor in the audit
log. Offers are keyed by the original visit, so a replay adds nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.audit.chain import AuditEvent, AuditRecord
from services.audit.runs import NODE_STARTED
from services.booking.makeup_records import Ended, MakeupOffer
from services.domain.model import Role
from services.reports.lost import node_downs
from services.store.sqlite.audit import AUDIT_COLS
from services.store.sqlite.base import SqliteBase
from services.store.sqlite.chain_head import Chain
from services.store.sqlite.visits import visit_where

MAX_EVENTS = 10_000  # a visit's events read to judge it (as its timeline reads them)
MAX_DOWNS = 1_000  # node starts read since a visit's start
OFFER_COLS = "visit_id, facility_id, visitor_id, lost_ms, created_ms, used_visit_id"


class SqliteMakeup(SqliteBase):
    """The ``MakeupStore`` role of ``SqliteStore``."""

    async def makeup_tail(self, limit: int) -> tuple[list[Ended], int]:
        def q(conn: sqlite3.Connection) -> tuple[list[Ended], int]:
            row = conn.execute("SELECT seq FROM makeup_cursor WHERE id = 1").fetchone()
            cursor = row[0] if row else 0
            # The head first, and rows only up to it: a prefix of the log (see the outbox).
            (head,) = conn.execute("SELECT coalesce(max(seq), 0) FROM audit_events").fetchone()
            found = conn.execute(
                "SELECT a.seq, a.visit_id, b.makeup_after_min FROM audit_events a"
                " JOIN visits v ON v.id = a.visit_id"
                " JOIN booking_policies b ON b.facility_id = v.facility_id"
                " WHERE a.seq > ? AND a.seq <= ? AND a.action = 'ended'"
                " AND b.makeup_after_min IS NOT NULL ORDER BY a.seq LIMIT ?",
                (cursor, head, limit),
            ).fetchall()
            ended = [e for seq, vid, after in found if (e := _ended(conn, seq, vid, after))]
            return ended, (found[-1][0] if len(found) == limit else head)

        return await self._read(q)

    async def add_makeup_offers(
        self, offers: Sequence[tuple[MakeupOffer, AuditEvent]], cursor: int
    ) -> int:
        def job(conn: sqlite3.Connection, chain: Chain) -> int:
            added: list[AuditEvent] = []
            for offer, event in offers:
                if conn.execute(
                    f"INSERT OR IGNORE INTO makeup_offers ({OFFER_COLS}) VALUES (?,?,?,?,?,NULL)",
                    (
                        offer.visit_id,
                        offer.facility_id,
                        offer.visitor_id,
                        offer.lost_ms,
                        offer.created_ms,
                    ),
                ).rowcount:
                    added.append(event)
            if added:
                chain.append(conn, added)
            conn.execute(
                "INSERT INTO makeup_cursor (id, seq) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET seq = max(seq, excluded.seq)",
                (cursor,),
            )
            return len(added)

        return await self._write(job)

    async def makeup_offer(self, visit_id: str) -> MakeupOffer | None:
        def q(conn: sqlite3.Connection) -> MakeupOffer | None:
            row = conn.execute(
                f"SELECT {OFFER_COLS} FROM makeup_offers WHERE visit_id = ?", (visit_id,)
            ).fetchone()
            return MakeupOffer(*row) if row else None

        return await self._read_inline(q)


def _ended(conn: sqlite3.Connection, seq: int, visit_id: str, after_min: int) -> Ended | None:
    """The ended visit with what its loss needs; None if no registered visitor holds its
    family seat (nobody to offer a make-up visit to)."""
    visit = visit_where(conn, "id = ?", (visit_id,))
    if visit is None:
        return None
    seats = [p.visitor_id for p in visit.participants if p.role is Role.FAMILY and p.visitor_id]
    if not seats:
        return None
    events = conn.execute(
        f"SELECT {AUDIT_COLS} FROM audit_events WHERE visit_id = ? ORDER BY seq LIMIT ?",
        (visit_id, MAX_EVENTS),
    )
    starts = conn.execute(
        f"SELECT {AUDIT_COLS} FROM audit_events WHERE action = ? AND ts_ms >= ?"
        " ORDER BY seq LIMIT ?",
        (NODE_STARTED, round(visit.start * 1000), MAX_DOWNS),
    )
    downs = node_downs([AuditRecord(*r) for r in starts])
    records = tuple(AuditRecord(*r) for r in events)
    return Ended(seq, visit, records, tuple(downs), after_min, seats[0])
