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
from typing import Any, TypeVar

import structlog

from services.audit.signing import Signer
from services.store.sqlite.chain_head import BogusRows, Chain

T = TypeVar("T")
log = structlog.get_logger("tatap.audit")
MAX_BATCH = 1024
CHECKPOINT_INTERVAL_S = 10.0


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
