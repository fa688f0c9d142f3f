"""The embedded store: one SQLite file in WAL mode with ``synchronous=FULL``.

Writes go through the group-commit writer thread; reads through a second connection on a reader
thread (WAL lets it read while the writer writes), and lookups by key through a third on the
event loop's own thread (``SqliteBase._read_inline`` says why). Other processes (the CLI) may
write the same file: ``BEGIN IMMEDIATE`` serialises them, and the audit chain head is read inside
each write transaction. Each role's queries live in a module of their own (facilities, calendar,
requests, visits, revocations, the notification outbox, reader for the audit log); this class
opens the file and composes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from services.audit.chain import AuditEvent, AuditRecord
from services.audit.keys import insert_pin, pin_event, trust_first_key
from services.audit.restart import OpenLock, record_unsigned_tail
from services.audit.signing import Signer
from services.audit.upgrade import pin_legacy_keys
from services.errors import Conflict
from services.store.sqlite.board import SqliteBoard
from services.store.sqlite.calendar import SqliteCalendar
from services.store.sqlite.chain_head import BogusRows, Chain
from services.store.sqlite.connection import connect, migrate
from services.store.sqlite.facilities import SqliteFacilities
from services.store.sqlite.makeup import SqliteMakeup
from services.store.sqlite.outbox import SqliteOutbox
from services.store.sqlite.reader import SqliteAuditReads
from services.store.sqlite.reports import SqliteReportReads
from services.store.sqlite.requests import SqliteRequests
from services.store.sqlite.revocations import SqliteRevocations
from services.store.sqlite.surveys import SqliteSurveys
from services.store.sqlite.visits import SqliteVisits
from services.store.sqlite.writer import CHECKPOINT_INTERVAL_S, GroupCommitWriter


class SqliteStore(
    SqliteFacilities,
    SqliteCalendar,
    SqliteRequests,
    SqliteVisits,
    SqliteRevocations,
    SqliteOutbox,
    SqliteMakeup,
    SqliteAuditReads,
    SqliteBoard,
    SqliteReportReads,
    SqliteSurveys,
):
    """Every role of ``Store`` on one SQLite file (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        signer: Signer,
        now: Callable[[], float],
        data_dir: Path,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._data_dir = data_dir
        self._now = now
        bogus = BogusRows()  # one report per bogus checkpoint row for this store's life
        conn = connect(path)
        try:
            migrate(conn)
            pin_legacy_keys(conn, data_dir, signer, now)
            trust_first_key(conn, signer, int(now() * 1000))
            self._open_lock = OpenLock(path)
            if self._open_lock.alone:  # else the other process's tail is not yet due, not lost
                record_unsigned_tail(conn, signer, now, bogus)
        finally:
            conn.close()
        self._writer = GroupCommitWriter(
            lambda: connect(path), signer, now, checkpoint_interval_s, bogus
        )
        self._reader_conn = connect(path)
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-reader")
        # Lookups by key on the event loop's thread (SqliteBase._read_inline): never waits for
        # a lock there; a busy file sends the read to the reader thread instead.
        self._inline_conn = connect(path, busy_timeout_ms=0)
        self._closed = False

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._writer.close)
        self._reader.shutdown(wait=True)
        self._reader_conn.close()
        self._inline_conn.close()
        self._open_lock.close()

    async def append(self, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        batch = list(events)
        return await self._write(lambda conn, chain: chain.append(conn, batch))


def pin_signing_key(path: Path, signer: Signer, now: Callable[[], float], reason: str) -> int:
    """Pin ``signer``'s key on purpose: an ``audit-key-pinned`` event, the key trusted from that
    event on, and a checkpoint over it signed by that key. Returns the event's seq."""
    conn = connect(path)
    try:
        migrate(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute(
                "SELECT 1 FROM audit_keys WHERE key_id = ?", (signer.key_id,)
            ).fetchone():
                raise Conflict(f"key {signer.key_id} is pinned already")
            chain = Chain.at_head(conn, now, signer)
            (record,) = chain.append(conn, [pin_event(signer, "cli", reason)])
            insert_pin(conn, signer, record.seq, int(now() * 1000))
            chain.checkpoint(conn)
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        return record.seq
    finally:
        conn.close()
