"""``SqliteAuditReader``: a database file's audit log opened read-only, for offline commands.

Opening it creates no database, migrates nothing and writes nothing to the file (``mode=ro``):
an auditor may run it on a copy that must stay as it was handed over, or beside a running node.
(SQLite itself leaves an empty ``-wal`` and a ``-shm`` index beside a WAL file, as for any
reader; the database's bytes stay as they were.)
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from services.audit.anchor import Anchor
from services.audit.chain import AuditRecord, Checkpoint, PinnedKey, VerifyResult
from services.audit.query import AuditQuery
from services.store.sqlite.audit import (
    audit_checkpoints,
    audit_keys,
    audit_search,
    connect_readonly,
    facility_events,
    verify_file,
)
from services.store.sqlite.base import SqliteReads
from services.store.sqlite.reports import SqliteReportReads

T = TypeVar("T")


class SqliteAuditReads(SqliteReads):
    """The ``AuditReader`` role on one SQLite file, for ``SqliteStore`` and
    ``SqliteAuditReader`` alike (each brings its own ``_read``)."""

    async def audit_search(self, query: AuditQuery) -> list[AuditRecord]:
        return await self._read(lambda c: audit_search(c, query))

    async def audit_verify(
        self,
        facility_id: str = "",
        *,
        live: bool = True,
        witnessed: Sequence[tuple[int, str]] = (),
        anchors: Sequence[Anchor] = (),
    ) -> VerifyResult:
        result = await asyncio.to_thread(
            verify_file,
            self._path,
            self._data_dir,
            live=live,
            witnessed=witnessed,
            anchors=anchors,
            now=self._now,
        )
        if not facility_id:
            return result
        return replace(result, events=await self._read(lambda c: facility_events(c, facility_id)))

    async def audit_checkpoints(self, after_seq: int, limit: int) -> list[tuple[Checkpoint, int]]:
        return await self._read(lambda c: audit_checkpoints(c, after_seq, limit))

    async def audit_keys(self) -> list[PinnedKey]:
        return await self._read(audit_keys)


class SqliteAuditReader(SqliteAuditReads, SqliteReportReads):
    """Implements ``AuditReader`` and ``ReportReader`` on one existing SQLite file
    (``open_audit_reader`` and ``open_report_reader`` check)."""

    def __init__(self, path: Path, data_dir: Path) -> None:
        self._path = path
        self._data_dir = data_dir
        self._now = time.time
        self._conn = connect_readonly(path)

    async def aclose(self) -> None:
        self._conn.close()

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(fn, self._conn)
