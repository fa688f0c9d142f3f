"""``SqliteStore``'s ``OutboxStore`` role: the notification outbox and the notifier's cursor in
the audit log. Rows are unique per visit, kind, event and channel, so a replay adds nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from services.audit.chain import AuditEvent
from services.domain.model import Role, VisitStatus
from services.notify.records import (
    Attempt,
    Channel,
    Family,
    Followed,
    Message,
    MessageKind,
    MessageState,
    NewMessage,
)
from services.store.sqlite.base import SqliteBase
from services.store.sqlite.chain_head import Chain
from services.store.sqlite.revocations import seat_revoked

# A visit's family as a message needs it (``Family``), joined onto visits ``v``: only visits
# whose family seat is a registered visitor with a phone; the seat's role is the one parameter.
FAMILY_COLS = "v.id, v.facility_id, f.name, f.timezone, v.code, v.start_ms, vi.phone"
FAMILY_JOINS = (
    "JOIN participants p ON p.visit_id = v.id AND p.role = ?"
    " JOIN visitors vi ON vi.id = p.visitor_id AND vi.phone != ''"
    " JOIN facilities f ON f.id = v.facility_id"
)
# Whether the family's seat is shut out now (a revoked seat, a blocked visitor); one parameter.
REVOKED = seat_revoked("p.id", "vi.id", "v.facility_id")
MESSAGE_COLS = (
    "id, visit_id, facility_id, kind, channel, audit_seq, phone, text, state, attempts, next_ms,"
    " last_error, created_ms, sent_ms"
)


class SqliteOutbox(SqliteBase):
    """The ``OutboxStore`` role of ``SqliteStore``."""

    async def notify_tail(
        self, actions: Sequence[str], limit: int, now_ms: int
    ) -> tuple[list[Followed], int]:
        def q(conn: sqlite3.Connection) -> tuple[list[Followed], int]:
            row = conn.execute("SELECT seq FROM notify_cursor WHERE id = 1").fetchone()
            cursor = row[0] if row else 0
            # The head first, and rows only up to it: the log grows by seq (appends take the
            # write lock in order), so this is a prefix even though each statement reads anew.
            (head,) = conn.execute("SELECT coalesce(max(seq), 0) FROM audit_events").fetchone()
            marks = ",".join("?" * len(actions))
            found = [
                Followed(seq, action, details, status, Family(*family), bool(revoked))
                for seq, action, details, status, revoked, *family in conn.execute(
                    f"SELECT a.seq, a.action, a.details, v.status, {REVOKED}, {FAMILY_COLS}"
                    f" FROM audit_events a JOIN visits v ON v.id = a.visit_id {FAMILY_JOINS}"
                    f" WHERE a.seq > ? AND a.seq <= ? AND a.action IN ({marks})"
                    " ORDER BY a.seq LIMIT ?",
                    (now_ms, Role.FAMILY.value, cursor, head, *actions, limit),
                )
            ]
            return found, (found[-1].seq if len(found) == limit else head)

        return await self._read(q)

    async def add_messages(self, messages: Sequence[NewMessage], cursor: int | None) -> int:
        def job(conn: sqlite3.Connection, chain: Chain) -> int:
            added = 0
            for m in messages:
                added += conn.execute(
                    f"INSERT OR IGNORE INTO outbox ({MESSAGE_COLS}) VALUES"
                    " (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, NULL, ?, NULL)",
                    (
                        m.id,
                        m.visit_id,
                        m.facility_id,
                        m.kind.value,
                        m.channel.value,
                        m.audit_seq,
                        m.phone,
                        m.text,
                        m.created_ms,
                        m.created_ms,
                    ),
                ).rowcount
            if cursor is not None:
                conn.execute(
                    "INSERT INTO notify_cursor (id, seq) VALUES (1, ?)"
                    " ON CONFLICT (id) DO UPDATE SET seq = max(seq, excluded.seq)",
                    (cursor,),
                )
            return added

        return await self._write(job)

    async def unreminded(self, start_ms: int, end_ms: int, limit: int, now_ms: int) -> list[Family]:
        def q(conn: sqlite3.Connection) -> list[Family]:
            found = conn.execute(
                f"SELECT {FAMILY_COLS} FROM visits v {FAMILY_JOINS}"
                " WHERE v.status = ? AND v.start_ms >= ? AND v.start_ms < ?"
                " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.visit_id = v.id AND o.kind = ?)"
                f" AND NOT {REVOKED}"
                " ORDER BY v.start_ms, v.id LIMIT ?",
                (
                    Role.FAMILY.value,
                    VisitStatus.SCHEDULED.value,
                    start_ms,
                    end_ms,
                    MessageKind.REMINDER.value,
                    now_ms,
                    limit,
                ),
            ).fetchall()
            return [Family(*row) for row in found]

        return await self._read(q)

    async def due_messages(self, now_ms: int, limit: int) -> list[Message]:
        def q(conn: sqlite3.Connection) -> list[Message]:
            rows = conn.execute(
                f"SELECT {MESSAGE_COLS} FROM outbox WHERE state = ? AND channel = ?"
                " AND next_ms <= ? ORDER BY next_ms, rowid LIMIT ?",
                (MessageState.PENDING.value, Channel.WEBHOOK.value, now_ms, limit),
            ).fetchall()
            return [_message(r) for r in rows]

        return await self._read(q)

    async def message_sent(self, message_id: str, now_ms: int, event: AuditEvent) -> bool:
        def job(conn: sqlite3.Connection, chain: Chain) -> bool:
            done = conn.execute(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_ms = ?,"
                " last_error = NULL WHERE id = ? AND state IN ('pending', 'failed')",
                (now_ms, message_id),
            ).rowcount
            if done:  # a second sender's late success is not a second delivery to record
                chain.append(conn, [event])
            return bool(done)

        return await self._write(job)

    async def message_failed(self, attempt: Attempt) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            state = MessageState.PENDING if attempt.next_ms is not None else MessageState.FAILED
            conn.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?,"
                " next_ms = coalesce(?, next_ms) WHERE id = ? AND state = 'pending'",
                (state.value, attempt.error, attempt.next_ms, attempt.message_id),
            )

        await self._write(job)

    async def message_skipped(self, message_id: str, why: str) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "UPDATE outbox SET state = 'skipped', last_error = ? WHERE id = ?"
                " AND state = 'pending'",
                (why, message_id),
            )

        await self._write(job)

    async def visit_messages(self, visit_id: str, limit: int) -> list[Message]:
        def q(conn: sqlite3.Connection) -> list[Message]:
            rows = conn.execute(
                f"SELECT {MESSAGE_COLS} FROM outbox WHERE visit_id = ?"
                " ORDER BY created_ms, rowid LIMIT ?",
                (visit_id, limit),
            ).fetchall()
            return [_message(r) for r in rows]

        return await self._read(q)


def _message(row: tuple[Any, ...]) -> Message:
    (i, visit, facility, kind, channel, seq, phone, text, state, tries, due, err, made, sent) = row
    return Message(
        i,
        visit,
        facility,
        MessageKind(kind),
        Channel(channel),
        seq,
        phone,
        text,
        MessageState(state),
        tries,
        due,
        err or "",
        made,
        sent,
    )
