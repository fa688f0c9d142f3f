"""The head of the audit chain inside a PostgreSQL write transaction: appending sealed events and
signing checkpoints at the cadence verification holds the writer to, as
``services.store.sqlite.chain_head`` does on SQLite, with the same rules
(``services.audit.chain``), so ``verify`` is one function for both.

Several nodes append to one log. The writer of each takes the transaction-scoped advisory lock
``AUDIT_LOCK`` before it reads the head, so their transactions append one after another: each
reads the head the previous one committed (READ COMMITTED takes a new snapshot per statement,
after the lock was granted) and two events can never get one seq (the primary key would refuse
the second anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

from services.audit.chain import (
    CHECKPOINT_EVERY,
    GENESIS,
    AuditEvent,
    AuditRecord,
    Checkpoint,
    seal,
    signature_problem,
)
from services.audit.keys import pinned_from_rows
from services.audit.signing import Signer
from services.store.postgres.connection import AUDIT_LOCK
from services.store.sqlite.chain_head import MAX_BOGUS_SCAN, BogusRows

COPY_EVENTS = (
    "COPY audit_events (seq, ts_ms, facility_id, visit_id, actor_role, actor_id, action,"
    " details, prev_hash, hash) FROM STDIN"
)


@dataclass(slots=True)
class PgChain:
    """The head of the audit chain inside the current transaction (which holds ``AUDIT_LOCK``).
    With a ``signer``, a checkpoint is signed as soon as ``CHECKPOINT_EVERY`` events follow the
    last one, in the same transaction."""

    seq: int
    hash: str
    now: Callable[[], float]
    signer: Signer | None = None
    signed_seq: int = 0
    bogus: BogusRows = field(default_factory=BogusRows)
    conflict: bool = False
    pending: list[AuditRecord] = field(default_factory=list)  # sealed, not yet written
    due: list[Checkpoint] = field(default_factory=list)  # signed, not yet written
    flushed_signed: int = 0  # signed_seq as of the last flush

    def append(self, events: list[AuditEvent]) -> list[AuditRecord]:
        """Seal ``events`` onto the head; they are written, with the checkpoints they make
        due, by ``flush`` (the writer flushes before each commit): a batch of thousands of
        appends is one COPY, not a round trip each."""
        records = []
        for event in events:
            ts = event.ts if event.ts is not None else self.now()
            record = seal(event, self.seq + 1, int(ts * 1000), self.hash)
            records.append(record)
            self.seq, self.hash = record.seq, record.hash
            if self.signer is not None and self.seq - self.signed_seq >= CHECKPOINT_EVERY:
                self.due.append(self.signer.sign(self.seq, self.hash))
                self.signed_seq = self.seq
        self.pending.extend(records)
        return records

    def mark(self) -> tuple[int, str, int, int, int, int]:
        """Where the chain stands, to go back to with ``undo`` if a job fails (its savepoint
        undoes what it wrote)."""
        pending, due = len(self.pending), len(self.due)
        return self.seq, self.hash, self.signed_seq, self.flushed_signed, pending, due

    def undo(self, mark: tuple[int, str, int, int, int, int]) -> None:
        self.seq, self.hash, self.signed_seq, self.flushed_signed, pending, due = mark
        del self.pending[pending:]
        del self.due[due:]

    async def flush(self, conn: AsyncConnection[Any]) -> None:
        """Write the events sealed since the last flush, then the checkpoints they made due."""
        if self.pending:
            async with conn.cursor() as cur:
                async with cur.copy(COPY_EVENTS) as copy:
                    for r in self.pending:
                        await copy.write_row(_row(r))
            self.pending.clear()
        if self.due:
            signed = [cp.seq for cp in self.due if await self._insert(conn, cp)]
            self.due.clear()
            # A seq taken by a bogus row stays unsigned: the next event gets the checkpoint.
            self.signed_seq = signed[-1] if signed else self.flushed_signed
        self.flushed_signed = self.signed_seq

    async def checkpoint(self, conn: AsyncConnection[Any]) -> None:
        """Write what is pending and sign the head now, if events follow the last checkpoint."""
        await self.flush(conn)
        if self.signer is not None and self.seq > self.signed_seq:
            if await self._insert(conn, self.signer.sign(self.seq, self.hash)):
                self.signed_seq = self.flushed_signed = self.seq

    async def _insert(self, conn: AsyncConnection[Any], cp: Checkpoint) -> bool:
        """Store ``cp``; False if another row holds its seq and is not this same checkpoint."""
        cur = await conn.execute(
            "INSERT INTO audit_checkpoints (seq, hash, key_id, signature, ts_ms)"
            " VALUES (%s,%s,%s,%s,%s) ON CONFLICT (seq) DO NOTHING",
            (cp.seq, cp.hash, cp.key_id, cp.signature, int(self.now() * 1000)),
        )
        if cur.rowcount == 1:
            return True
        cur = await conn.execute(
            "SELECT hash, key_id, signature FROM audit_checkpoints WHERE seq = %s", (cp.seq,)
        )
        row = await cur.fetchone()
        if row == (cp.hash, cp.key_id, cp.signature):
            return True
        self.conflict = True
        why = "a row nobody here signed holds the seq of this checkpoint"
        self.bogus.error(cp.seq, key_id=row[1] if row else None, why=why)
        return False

    @classmethod
    async def at_head(
        cls,
        conn: AsyncConnection[Any],
        now: Callable[[], float],
        signer: Signer | None,
        signed: int | None = None,
        bogus: BogusRows | None = None,
    ) -> PgChain:
        """Lock the log for this transaction and read its head. ``signed``: the signed position
        as the caller last knew it; None, or past the head, reads it from the checkpoints."""
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
        cur = await conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        head = await cur.fetchone()
        seq, digest = (int(head[0]), head[1]) if head else (0, GENESIS)
        bogus = bogus or BogusRows()
        if signed is None or signed > seq:
            signed = await signed_position(conn, seq, bogus)
        return cls(seq, digest, now, signer, signed, bogus, flushed_signed=signed)


def _row(r: AuditRecord) -> tuple[object, ...]:
    return (
        r.seq,
        r.ts_ms,
        r.facility_id,
        r.visit_id,
        r.actor_role,
        r.actor_id,
        r.action,
        r.details,
        r.prev_hash,
        r.hash,
    )


async def signed_position(conn: AsyncConnection[Any], head: int, bogus: BogusRows) -> int:
    """The seq of the newest checkpoint at or below ``head`` that a pinned key really signed
    over the row there (0 if none); rows that fail are logged and passed over (see
    ``services.store.sqlite.chain_head.signed_position``)."""
    cur = await conn.execute(
        "SELECT seq, key_id FROM audit_checkpoints WHERE seq > %s ORDER BY seq LIMIT 1", (head,)
    )
    above = await cur.fetchone()
    if above is not None:
        bogus.error(above[0], key_id=above[1], head=head, why="checkpoint beyond the last event")
    cur = await conn.execute("SELECT key_id, public_key, pinned_seq FROM audit_keys")
    keys = pinned_from_rows(await cur.fetchall())
    cur = await conn.execute(
        "SELECT c.seq, c.hash, c.key_id, c.signature, e.hash FROM audit_checkpoints c"
        " LEFT JOIN audit_events e ON e.seq = c.seq WHERE c.seq <= %s"
        " ORDER BY c.seq DESC LIMIT %s",
        (head, MAX_BOGUS_SCAN),
    )
    for seq, digest, kid, signature, event_hash in await cur.fetchall():
        cp = Checkpoint(int(seq), digest, kid, signature)
        if digest == event_hash and not signature_problem(cp, keys):
            return int(seq)
        bogus.error(seq, key_id=kid, head=head, why="signature or hash does not match")
    return 0
