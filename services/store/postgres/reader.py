"""The ``AuditReader`` role on PostgreSQL: for ``PgStore`` (a node) and ``PgAuditReader`` (the
offline ``tatap audit`` commands, on connections whose every transaction is read-only) alike.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from psycopg_pool import AsyncConnectionPool

from services.audit.anchor import Anchor
from services.audit.chain import AuditRecord, Checkpoint, PinnedKey, VerifyResult
from services.audit.keys import pinned_from_rows
from services.audit.query import AuditQuery
from services.store.postgres.audit import (
    CHECKPOINTS_SQL,
    FACILITY_EVENTS_SQL,
    KEYS_SQL,
    checkpoint_row,
    record,
    search_sql,
    verify_db,
)
from services.store.postgres.connection import OPTIONS, conninfo


class PgReads:
    """A part of a PostgreSQL store: reads through its async pool."""

    _url: str
    _now: Callable[[], float]
    _pool: AsyncConnectionPool

    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, args)
            return await cur.fetchall()


class PgAuditReads(PgReads):
    """``AuditReader`` over the pool (see the module docstring)."""

    async def audit_search(self, query: AuditQuery) -> list[AuditRecord]:
        sql, args = search_sql(query)
        return [record(row) for row in await self._fetch(sql, args)]

    async def audit_verify(
        self,
        facility_id: str = "",
        *,
        live: bool = True,
        witnessed: Sequence[tuple[int, str]] = (),
        anchors: Sequence[Anchor] = (),
    ) -> VerifyResult:
        result = await asyncio.to_thread(
            verify_db, self._url, live=live, witnessed=witnessed, anchors=anchors, now=self._now
        )
        if not facility_id:
            return result
        (row,) = await self._fetch(FACILITY_EVENTS_SQL, (facility_id,))
        return replace(result, events=int(row[0]))

    async def audit_checkpoints(self, after_seq: int, limit: int) -> list[tuple[Checkpoint, int]]:
        return [checkpoint_row(r) for r in await self._fetch(CHECKPOINTS_SQL, (after_seq, limit))]

    async def audit_keys(self) -> list[PinnedKey]:
        keys = pinned_from_rows(await self._fetch(KEYS_SQL))
        return sorted(keys.values(), key=lambda k: k.pinned_seq)


class PgAuditReader(PgAuditReads):
    """``AuditReader`` on an existing PostgreSQL database, read-only: every transaction of its
    connections is READ ONLY (``default_transaction_read_only``), nothing is created or
    migrated. Its pool opens at the first read."""

    def __init__(self, url: str) -> None:
        self._url = conninfo(url)
        self._now = time.time
        self._pool = AsyncConnectionPool(
            self._url,
            min_size=1,
            max_size=2,
            kwargs={"options": OPTIONS + " -c default_transaction_read_only=on"},
            open=False,
        )
        self._opened = False

    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if not self._opened:
            self._opened = True
            await self._pool.open(wait=True, timeout=30)
        return await super()._fetch(sql, args)

    async def aclose(self) -> None:
        if self._opened:
            await self._pool.close()
