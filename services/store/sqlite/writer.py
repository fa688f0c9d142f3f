"""Group commit for SQLite: one writer thread, many callers, one fsync per batch.

Callers hand in a job (a function of the connection and the audit chain head); the writer runs
every job waiting at that moment inside one ``BEGIN IMMEDIATE`` transaction, each under its own
savepoint so one failing job does not undo the others, commits once (``synchronous=FULL``: on disk
when the commit returns), and only then answers the callers. An acknowledged event is therefore
always on disk, and thousands of appends share a handful of fsyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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

T = TypeVar("T")
log = structlog.get_logger("tatap.audit")
MAX_BATCH = 1024
CHECKPOINT_INTERVAL_S = 10.0


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


_STOP = object()


class GroupCommitWriter:
    """The writer thread. Besides jobs, it signs the head once the oldest event no checkpoint
    covers is ``interval_s`` old, whether or not another job comes: an idle node must not leave
    its last events unsigned (and editable unseen) until the next write.

    The signed position is read from the checkpoints (verifying signatures) when the writer
    starts, and kept in memory from then on: read anew only when a checkpoint could not be
    stored (a row not its own holds the seq), a batch was rolled back, or the file is shorter
    than it (cut). Another process signing meanwhile only makes it sign a little early."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        signer: Signer,
        now: Callable[[], float],
        interval_s: float = CHECKPOINT_INTERVAL_S,
        bogus: BogusRows | None = None,
    ) -> None:
        self._connect = connect
        self._signer = signer
        self._now = now
        self._interval_s = interval_s
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._started = False
        self._closed = False
        # When (time.monotonic) this writer first left events unsigned; None: its head is signed.
        self._unsigned_since: float | None = None
        self._signed: int | None = None  # the signed position; None: read it at the next write
        self._bogus = bogus or BogusRows()

    def _ensure_started(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    async def run(self, job: Callable[[sqlite3.Connection, Chain], T]) -> T:
        if self._closed:
            raise RuntimeError("store is closed")
        self._ensure_started()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._jobs.put((job, loop, fut))
        # Shielded: a cancelled caller must not leave its write half-known; the write still lands.
        return await asyncio.shield(fut)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._started:
            self._jobs.put(_STOP)
            self._thread.join()
        # A job handed in just as the writer stopped must not wait forever: it fails loudly.
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                _, loop, fut = item
                loop.call_soon_threadsafe(_resolve, fut, False, RuntimeError("store is closed"))

    def _run(self) -> None:
        conn = self._connect()
        stopping = False
        while not stopping:
            try:
                batch = [self._jobs.get(timeout=self._until_due())]
            except queue.Empty:  # no job came, and the unsigned tail is due
                self._timed_checkpoint(conn)
                continue
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            if _STOP in batch:
                stopping = True
                batch = [item for item in batch if item is not _STOP]
            if batch:
                self._commit(conn, batch)
        try:
            self._checkpoint(conn)
        except Exception:  # a damaged file or key: verification will report it
            pass
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        results: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            chain = self._at_head(conn)
            for job, _, _ in batch:
                saved = (chain.seq, chain.hash, chain.signed_seq)
                conn.execute("SAVEPOINT job")
                try:
                    results.append((True, job(conn, chain)))
                    conn.execute("RELEASE job")
                except Exception as exc:  # the job's own failure goes back to its caller
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    chain.seq, chain.hash, chain.signed_seq = saved
                    results.append((False, exc))
            self._maybe_checkpoint(conn, chain)
            conn.execute("COMMIT")
            self._track(chain)
        except Exception as exc:  # SQLite, or a checkpoint that could not be signed
            # The whole batch is undone and every caller hears why; the thread lives on (if it
            # died, every later write would wait forever).
            self._signed = None  # its checkpoints were undone too
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(False, exc)] * len(batch)
        for (_, loop, fut), (ok, value) in zip(batch, results, strict=True):
            with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody to tell
                loop.call_soon_threadsafe(_resolve, fut, ok, value)

    def _until_due(self) -> float | None:
        """Seconds until the unsigned tail must be signed; None (wait for a job) if none is."""
        if self._unsigned_since is None:
            return None
        return max(0.0, self._unsigned_since + self._interval_s - time.monotonic())

    def _at_head(self, conn: sqlite3.Connection) -> Chain:
        return Chain.at_head(conn, self._now, self._signer, self._signed, self._bogus)

    def _track(self, chain: Chain) -> None:
        """Note, after a commit, whether the head is signed and since when it is not."""
        self._signed = None if chain.conflict else chain.signed_seq
        if chain.seq <= chain.signed_seq:
            self._unsigned_since = None
        elif self._unsigned_since is None:
            self._unsigned_since = time.monotonic()

    def _maybe_checkpoint(self, conn: sqlite3.Connection, chain: Chain) -> None:
        """A busy writer's unsigned tail that is due gets its checkpoint inside the batch (the
        count-based ones were signed as the events were appended)."""
        if self._until_due() == 0.0:
            chain.checkpoint(conn)

    def _timed_checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            chain = self._checkpoint(conn)
        except Exception:  # a locked or damaged file: try again after another interval
            log.exception("audit.checkpoint_failed")
            self._unsigned_since = time.monotonic()
            return
        # Still unsigned (a bogus row holds the head's seq): try again after another interval,
        # not at once and forever.
        self._unsigned_since = time.monotonic() if chain.seq > chain.signed_seq else None

    def _checkpoint(self, conn: sqlite3.Connection) -> Chain:
        """Sign the head now (when due, and at shutdown, so a clean stop leaves no unsigned
        tail); the chain as it then stands."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            chain = self._at_head(conn)
            chain.checkpoint(conn)
            conn.execute("COMMIT")
            self._signed = None if chain.conflict else chain.signed_seq
            return chain
        finally:
            if conn.in_transaction:
                self._signed = None
                conn.execute("ROLLBACK")


def _resolve(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)
