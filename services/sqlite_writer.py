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
from dataclasses import dataclass
from typing import Any, TypeVar

from services.audit import (
    CHECKPOINT_EVERY,
    GENESIS,
    AuditEvent,
    AuditRecord,
    Checkpoint,
    Signer,
    seal,
)

T = TypeVar("T")
MAX_BATCH = 1024
CHECKPOINT_INTERVAL_S = 10.0


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

    def append(self, conn: sqlite3.Connection, events: list[AuditEvent]) -> list[AuditRecord]:
        records = []
        due: list[Checkpoint] = []
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
                (r.seq, r.ts_ms, r.facility_id, r.visit_id, r.actor_role, r.actor_id, r.action,
                 r.details, r.prev_hash, r.hash)
                for r in records
            ],
        )  # fmt: skip
        for cp in due:
            self._insert(conn, cp)
        return records

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        """Sign the head now, if events follow the last checkpoint."""
        if self.signer is not None and self.seq > self.signed_seq:
            self._insert(conn, self.signer.sign(self.seq, self.hash))
            self.signed_seq = self.seq

    def _insert(self, conn: sqlite3.Connection, cp: Checkpoint) -> None:
        # OR IGNORE: another process may have signed this same head already.
        conn.execute(
            "INSERT OR IGNORE INTO audit_checkpoints (seq, hash, key_id, signature, ts_ms)"
            " VALUES (?,?,?,?,?)",
            (cp.seq, cp.hash, cp.key_id, cp.signature, int(self.now() * 1000)),
        )

    @classmethod
    def at_head(
        cls, conn: sqlite3.Connection, now: Callable[[], float], signer: Signer | None
    ) -> Chain:
        """The chain as the database holds it (read inside the write transaction)."""
        head = conn.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        signed = conn.execute("SELECT max(seq) FROM audit_checkpoints").fetchone()[0] or 0
        seq, digest = head if head else (0, GENESIS)
        return cls(seq, digest, now, signer, signed)


_STOP = object()


class GroupCommitWriter:
    def __init__(
        self, connect: Callable[[], sqlite3.Connection], signer: Signer, now: Callable[[], float]
    ) -> None:
        self._connect = connect
        self._signer = signer
        self._now = now
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._started = False
        self._closed = False
        self._last_cp_time = time.monotonic()

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
            batch = [self._jobs.get()]
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
            chain = Chain.at_head(conn, self._now, self._signer)
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
        except Exception as exc:  # SQLite, or a checkpoint that could not be signed
            # The whole batch is undone and every caller hears why; the thread lives on (if it
            # died, every later write would wait forever).
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(False, exc)] * len(batch)
        for (_, loop, fut), (ok, value) in zip(batch, results, strict=True):
            with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody to tell
                loop.call_soon_threadsafe(_resolve, fut, ok, value)

    def _maybe_checkpoint(self, conn: sqlite3.Connection, chain: Chain) -> None:
        """Events older than ``CHECKPOINT_INTERVAL_S`` without a checkpoint get one now (the
        count-based ones were signed as the events were appended)."""
        if time.monotonic() - self._last_cp_time >= CHECKPOINT_INTERVAL_S:
            chain.checkpoint(conn)
            self._last_cp_time = time.monotonic()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """A last checkpoint at shutdown, so a clean stop leaves no unsigned tail."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            Chain.at_head(conn, self._now, self._signer).checkpoint(conn)
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")


def _resolve(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)
