"""The head of the audit chain inside a SQLite write transaction: appending sealed events,
signing checkpoints at the cadence verification holds the writer to, and finding the last
genuine checkpoint when rows a hand inserted sit among them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from services.audit.chain import (
    CHECKPOINT_EVERY,
    GENESIS,
    AuditEvent,
    AuditRecord,
    Checkpoint,
    seal,
    signature_problem,
)
from services.audit.keys import load_pinned
from services.audit.signing import Signer

log = structlog.get_logger("tatap.audit")


class BogusRows:
    """Logs ``audit.checkpoint_bogus`` once per seq: a row a hand inserted must be loud, but not
    on every commit from then on. Remembers at most ``LIMIT`` seqs (then starts afresh)."""

    LIMIT = 1024

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def error(self, seq: int, **fields: Any) -> None:
        if seq in self._seen:
            return
        if len(self._seen) >= self.LIMIT:
            self._seen.clear()
        self._seen.add(seq)
        log.error("audit.checkpoint_bogus", seq=seq, **fields)


@dataclass(slots=True)
class Chain:
    """The head of the audit chain inside the current transaction.

    With a ``signer``, a checkpoint is signed as soon as ``CHECKPOINT_EVERY`` events follow the
    last one, inside the same transaction (a job of many events included): verification holds the
    writer to that cadence.
    """

    seq: int
    hash: str
    now: Callable[[], float]
    signer: Signer | None = None
    signed_seq: int = 0  # the last checkpoint's seq
    bogus: BogusRows = field(default_factory=BogusRows)
    # A checkpoint's seq was held by a row not its own: the signed position must be read anew.
    conflict: bool = False

    def append(self, conn: sqlite3.Connection, events: list[AuditEvent]) -> list[AuditRecord]:
        records = []
        due: list[Checkpoint] = []
        signed_before = self.signed_seq
        for event in events:
            ts = event.ts if event.ts is not None else self.now()
            record = seal(event, self.seq + 1, int(ts * 1000), self.hash)
            records.append(record)
            self.seq, self.hash = record.seq, record.hash
            if self.signer is not None and self.seq - self.signed_seq >= CHECKPOINT_EVERY:
                due.append(self.signer.sign(self.seq, self.hash))
                self.signed_seq = self.seq
        conn.executemany(
            "INSERT INTO audit_events (seq, ts_ms, facility_id, visit_id, actor_role, actor_id,"
            " action, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
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
                for r in records
            ],
        )
        if due:
            signed = [cp.seq for cp in due if self._insert(conn, cp)]
            # A seq taken by a bogus row stays unsigned: the next event gets the checkpoint.
            self.signed_seq = signed[-1] if signed else signed_before
        return records

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        """Sign the head now, if events follow the last checkpoint."""
        if self.signer is not None and self.seq > self.signed_seq:
            if self._insert(conn, self.signer.sign(self.seq, self.hash)):
                self.signed_seq = self.seq

    def _insert(self, conn: sqlite3.Connection, cp: Checkpoint) -> bool:
        """Store ``cp``; False if another row holds its seq and is not this same checkpoint."""
        # OR IGNORE: another process may have signed this same head already (Ed25519 signatures
        # are deterministic, so with the same key its row is identical).
        cur = conn.execute(
            "INSERT OR IGNORE INTO audit_checkpoints (seq, hash, key_id, signature, ts_ms)"
            " VALUES (?,?,?,?,?)",
            (cp.seq, cp.hash, cp.key_id, cp.signature, int(self.now() * 1000)),
        )
        if cur.rowcount == 1:
            return True
        row = conn.execute(
            "SELECT hash, key_id, signature FROM audit_checkpoints WHERE seq = ?", (cp.seq,)
        ).fetchone()
        if row == (cp.hash, cp.key_id, cp.signature):
            return True
        self.conflict = True
        why = "a row nobody here signed holds the seq of this checkpoint"
        self.bogus.error(cp.seq, key_id=row[1] if row else None, why=why)
        return False

    @classmethod
    def at_head(
        cls,
        conn: sqlite3.Connection,
        now: Callable[[], float],
        signer: Signer | None,
        signed: int | None = None,
        bogus: BogusRows | None = None,
    ) -> Chain:
        """The chain as the database holds it (read inside the write transaction). ``signed``:
        the signed position as the caller last knew it; None, or past the head (the file was
        cut), reads it from the checkpoints, verifying their signatures."""
        head = conn.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        seq, digest = head if head else (0, GENESIS)
        bogus = bogus or BogusRows()
        if signed is None or signed > seq:
            signed = signed_position(conn, seq, bogus)
        return cls(seq, digest, now, signer, signed, bogus)


# Rows looked at, newest first, for the last genuine checkpoint; past them the writer signs anew.
MAX_BOGUS_SCAN = 64


def signed_position(conn: sqlite3.Connection, head: int, bogus: BogusRows) -> int:
    """The seq of the newest checkpoint at or below ``head`` that a pinned key really signed
    over the row there (0 if none).

    A checkpoint row only claims a position: anyone who can write the file can insert one
    (the triggers stop updates and deletes only). Trusting max(seq) let one row far above the
    head stop all signing. Rows that fail are logged loudly (``audit.checkpoint_bogus``) and
    passed over; verification names them too.
    """
    above = conn.execute(
        "SELECT seq, key_id FROM audit_checkpoints WHERE seq > ? ORDER BY seq LIMIT 1", (head,)
    ).fetchone()
    if above is not None:
        bogus.error(above[0], key_id=above[1], head=head, why="checkpoint beyond the last event")
    keys = load_pinned(conn)
    rows = conn.execute(
        "SELECT c.seq, c.hash, c.key_id, c.signature, e.hash FROM audit_checkpoints c"
        " LEFT JOIN audit_events e ON e.seq = c.seq WHERE c.seq <= ? ORDER BY c.seq DESC LIMIT ?",
        (head, MAX_BOGUS_SCAN),
    )
    for seq, digest, kid, signature, event_hash in rows:
        cp = Checkpoint(seq, digest, kid, signature)
        if digest == event_hash and not signature_problem(cp, keys):
            return int(seq)
        bogus.error(
            seq,
            key_id=kid,
            head=head,
            why="signature or hash does not match a pinned key and the row",
        )
    return 0
