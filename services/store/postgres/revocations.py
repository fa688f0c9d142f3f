"""``PgStore``'s ``RevocationStore`` role (and ``AccessStore``'s revoked tokens), as
``services.store.sqlite.revocations``.

A node polls revocations by seq, so seqs must grow in commit order. Every write here runs in a
batch of the writer, which holds the audit lock from its first statement to its commit: a seq
taken by one node's batch is committed before another node's batch can take the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from services.access.revocation import Key, NewRevocation, Revocation, RevocationKind
from services.audit.chain import AuditEvent
from services.store.postgres.chain_head import PgChain
from services.store.postgres.reader import PgReads
from services.store.postgres.writer import PgWriter
from services.store.sqlite.base import ms


async def _add_revocation(
    conn: AsyncConnection[Any],
    chain: PgChain,
    kind: RevocationKind,
    subject: str,
    exp: float | None,
    event: AuditEvent,
    until: float | None = None,
) -> Revocation:
    now = ms(chain.now())
    # A lifted revocation (an account enabled again) or one past its end (a block that ended) is
    # replaced: a new seq (every node's poll closes the sockets again) and a new time, which
    # every token issued so far predates.
    await conn.execute(
        "DELETE FROM revocations WHERE kind = %s AND subject = %s"
        " AND (lifted_ms IS NOT NULL OR until_ms <= %s)",
        (kind.value, subject, now),
    )
    cur = await conn.execute(
        "INSERT INTO revocations (kind, subject, ts_ms, exp_ms, until_ms)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kind, subject) DO NOTHING",
        (kind.value, subject, now, ms(exp), ms(until)),
    )
    if not cur.rowcount:  # in force already: only a new end changes it (and is logged)
        cur = await conn.execute(
            "UPDATE revocations SET until_ms = %s WHERE kind = %s AND subject = %s"
            " AND until_ms IS DISTINCT FROM %s",
            (ms(until), kind.value, subject, ms(until)),
        )
    if cur.rowcount:  # a repeated revocation changes nothing and logs nothing
        chain.append([event])
    cur = await conn.execute(
        "SELECT seq FROM revocations WHERE kind = %s AND subject = %s", (kind.value, subject)
    )
    row = await cur.fetchone()
    assert row is not None  # inserted, or there already, inside this transaction
    return Revocation(int(row[0]), kind, subject)


def _revocation(row: tuple[Any, ...]) -> Revocation:
    seq, kind, subject, lifted_ms = row
    before = None if lifted_ms is None else lifted_ms / 1000.0
    return Revocation(int(seq), RevocationKind(kind), subject, before)


class PgRevocations(PgReads):
    """The ``RevocationStore`` role of ``PgStore``."""

    _writer: PgWriter

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
        async def job(conn: AsyncConnection[Any], chain: PgChain) -> list[Revocation]:
            return [await _add_revocation(conn, chain, *one, until=until) for one in new]

        return await self._writer.run(job)

    async def find_revocation(
        self, keys: Sequence[Key], issued_at: float | None = None
    ) -> Revocation | None:
        if not keys:
            return None
        where = " OR ".join(["(kind = %s AND subject = %s)"] * len(keys))
        args: list[object] = [v for kind, subject in keys for v in (kind.value, subject)]
        args.append(ms(self._now()))  # a block past its end no longer holds
        if issued_at is None:
            holds = "lifted_ms IS NULL"
        else:  # a lift does not clear tokens issued before it (see the SQLite role)
            holds = "(lifted_ms IS NULL OR lifted_ms > %s)"
            args.append(ms(issued_at))
        rows = await self._fetch(
            f"SELECT seq, kind, subject, lifted_ms FROM revocations WHERE ({where})"
            f" AND (until_ms IS NULL OR until_ms > %s) AND {holds}"
            " ORDER BY lifted_ms IS NOT NULL, seq LIMIT 1",
            args,
        )
        return _revocation(rows[0]) if rows else None

    async def lift_revocation(self, kind: RevocationKind, subject: str, event: AuditEvent) -> bool:
        async def job(conn: AsyncConnection[Any], chain: PgChain) -> bool:
            now = ms(chain.now())
            cur = await conn.execute(
                "UPDATE revocations SET lifted_ms = %s WHERE kind = %s AND subject = %s"
                " AND lifted_ms IS NULL AND (until_ms IS NULL OR until_ms > %s)",
                (now, kind.value, subject, now),
            )
            if cur.rowcount:
                chain.append([event])
            return bool(cur.rowcount)

        return await self._writer.run(job)

    async def revocations_after(self, seq: int, limit: int = 1000) -> list[Revocation]:
        rows = await self._fetch(
            "SELECT seq, kind, subject, lifted_ms FROM revocations WHERE seq > %s"
            " ORDER BY seq LIMIT %s",
            (seq, limit),
        )
        return [_revocation(r) for r in rows]

    async def revocation_head(self) -> int:
        # The identity's counter, not max(seq): pruning the newest row must not move the head
        # back, or a node starting now would re-apply revocations already applied.
        (row,) = await self._fetch(
            "SELECT coalesce(pg_sequence_last_value("
            "pg_get_serial_sequence('revocations', 'seq')), 0)"
        )
        return int(row[0])

    async def prune_revocations(self, expired_before: float, limit: int) -> int:
        async def job(conn: AsyncConnection[Any], chain: PgChain) -> int:
            cur = await conn.execute(
                "DELETE FROM revocations WHERE seq IN (SELECT seq FROM revocations"
                " WHERE kind = 'token' AND exp_ms < %s ORDER BY exp_ms LIMIT %s)",
                (ms(expired_before), limit),
            )
            return cur.rowcount

        return await self._writer.run(job)
