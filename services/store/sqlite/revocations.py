"""``SqliteStore``'s ``RevocationStore`` role: revoked seats, visitors, staff accounts and tokens,
each with its audit event, and the seq a node's poll follows."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.access.revocation import Key, NewRevocation, Revocation, RevocationKind
from services.audit.chain import AuditEvent
from services.store.sqlite.base import SqliteBase, ms
from services.store.sqlite.chain_head import Chain


def _add_revocation(
    conn: sqlite3.Connection,
    chain: Chain,
    kind: RevocationKind,
    subject: str,
    exp: float | None,
    event: AuditEvent,
    until: float | None = None,
) -> Revocation:
    now = ms(chain.now())
    # A lifted revocation (an account enabled again) or one past its end (a block that ended) is
    # replaced: a new seq, so that every node's poll closes the sockets again, and a new time,
    # which every token issued so far predates.
    conn.execute(
        "DELETE FROM revocations WHERE kind = ? AND subject = ?"
        " AND (lifted_ms IS NOT NULL OR until_ms <= ?)",
        (kind.value, subject, now),
    )
    cur = conn.execute(
        "INSERT OR IGNORE INTO revocations (kind, subject, ts_ms, exp_ms, until_ms)"
        " VALUES (?, ?, ?, ?, ?)",
        (kind.value, subject, now, ms(exp), ms(until)),
    )
    if not cur.rowcount:  # in force already: only a new end changes it (and is logged)
        cur = conn.execute(
            "UPDATE revocations SET until_ms = ? WHERE kind = ? AND subject = ?"
            " AND until_ms IS NOT ?",
            (ms(until), kind.value, subject, ms(until)),
        )
    if cur.rowcount:  # a repeated revocation changes nothing and logs nothing
        chain.append(conn, [event])
    row = conn.execute(
        "SELECT seq FROM revocations WHERE kind = ? AND subject = ?", (kind.value, subject)
    ).fetchone()
    return Revocation(row[0], kind, subject)


def end_staff_tokens(conn: sqlite3.Connection, chain: Chain, staff_id: str) -> None:
    """Every token the account holds now is refused from now on, and it may log in again at
    once (a password reset): its ``sessions`` revocation written lifted, in the caller's
    transaction. A new seq each time, so that every node's poll closes its older sockets."""
    now = ms(chain.now())
    conn.execute("DELETE FROM revocations WHERE kind = 'sessions' AND subject = ?", (staff_id,))
    conn.execute(
        "INSERT INTO revocations (kind, subject, ts_ms, exp_ms, lifted_ms)"
        " VALUES ('sessions', ?, ?, NULL, ?)",
        (staff_id, now, now),
    )


def seat_revoked(seat: str, visitor: str, facility: str) -> str:
    """SQL, true when a revocation in force shuts out the seat whose id is the expression
    ``seat`` (its registered visitor ``visitor``, in the visit of facility ``facility``): the
    seat's own, or its visitor's everywhere or in that facility, not lifted and not past its end
    (``until_ms``). Its one parameter: the time now, in ms."""
    return (
        "EXISTS (SELECT 1 FROM revocations r WHERE r.lifted_ms IS NULL"
        " AND (r.until_ms IS NULL OR r.until_ms > ?)"
        f" AND ((r.kind = 'participant' AND r.subject = {seat}) OR (r.kind = 'visitor'"
        f" AND r.subject IN ({visitor}, {visitor} || '@' || {facility}))))"
    )


def _revocation(row: tuple[int, str, str, int | None]) -> Revocation:
    seq, kind, subject, lifted_ms = row
    before = None if lifted_ms is None else lifted_ms / 1000.0
    return Revocation(seq, RevocationKind(kind), subject, before)


class SqliteRevocations(SqliteBase):
    """The ``RevocationStore`` role of ``SqliteStore``, and ``AccessStore``'s revoked tokens."""

    async def revoke(self, jti: str, exp: float, event: AuditEvent) -> None:
        await self.add_revocation(RevocationKind.TOKEN, jti, exp, event)

    async def is_revoked(self, jti: str) -> bool:
        return await self.find_revocation(((RevocationKind.TOKEN, jti),)) is not None

    async def add_revocation(
        self, kind: RevocationKind, subject: str, exp: float | None, event: AuditEvent
    ) -> Revocation:
        return (await self.add_revocations([(kind, subject, exp, event)]))[0]

    async def add_revocations(
        self, new: Sequence[NewRevocation], until: float | None = None
    ) -> list[Revocation]:
        def job(conn: sqlite3.Connection, chain: Chain) -> list[Revocation]:
            return [_add_revocation(conn, chain, *one, until=until) for one in new]

        return await self._write(job)

    async def find_revocation(
        self, keys: Sequence[Key], issued_at: float | None = None
    ) -> Revocation | None:
        def q(conn: sqlite3.Connection) -> Revocation | None:
            where = " OR ".join(["(kind = ? AND subject = ?)"] * len(keys))
            args: list[object] = [v for kind, subject in keys for v in (kind.value, subject)]
            args.append(ms(self._now()))  # a block past its end no longer holds
            if issued_at is None:
                holds = "lifted_ms IS NULL"
            else:
                # A lifted revocation (a staff account enabled again) still refuses every token
                # issued before the lift, those minted while disabled included (a monitor token
                # in the race with the disable): no honest token is issued while disabled.
                holds = "(lifted_ms IS NULL OR lifted_ms > ?)"
                args.append(ms(issued_at))
            row = conn.execute(
                f"SELECT seq, kind, subject, lifted_ms FROM revocations WHERE ({where})"
                f" AND (until_ms IS NULL OR until_ms > ?) AND {holds}"
                " ORDER BY lifted_ms IS NOT NULL, seq LIMIT 1",
                args,
            ).fetchone()
            return _revocation(row) if row else None

        return await self._read(q) if keys else None

    async def lift_revocation(self, kind: RevocationKind, subject: str, event: AuditEvent) -> bool:
        def job(conn: sqlite3.Connection, chain: Chain) -> bool:
            now = ms(chain.now())
            cur = conn.execute(
                "UPDATE revocations SET lifted_ms = ? WHERE kind = ? AND subject = ?"
                " AND lifted_ms IS NULL AND (until_ms IS NULL OR until_ms > ?)",
                (now, kind.value, subject, now),
            )
            if cur.rowcount:
                chain.append(conn, [event])
            return bool(cur.rowcount)

        return await self._write(job)

    async def revocations_after(self, seq: int, limit: int = 1000) -> list[Revocation]:
        def q(conn: sqlite3.Connection) -> list[Revocation]:
            rows = conn.execute(
                "SELECT seq, kind, subject, lifted_ms FROM revocations WHERE seq > ?"
                " ORDER BY seq LIMIT ?",
                (seq, limit),
            )
            return [_revocation(r) for r in rows]

        return await self._read(q)

    async def revocation_head(self) -> int:
        def q(conn: sqlite3.Connection) -> int:
            # AUTOINCREMENT's counter, not max(seq): pruning the newest row must not move the
            # head back, or a node starting now would re-apply revocations already applied.
            sql = "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'revocations'"
            return int(conn.execute(sql).fetchone()[0])

        return await self._read(q)

    async def prune_revocations(self, expired_before: float, limit: int) -> int:
        def job(conn: sqlite3.Connection, chain: Chain) -> int:
            cur = conn.execute(
                "DELETE FROM revocations WHERE seq IN (SELECT seq FROM revocations"
                " WHERE kind = 'token' AND exp_ms < ? ORDER BY exp_ms LIMIT ?)",
                (ms(expired_before), limit),
            )
            return cur.rowcount

        return await self._write(job)
