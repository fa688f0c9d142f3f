"""The PostgreSQL store: an async pool of psycopg 3 connections for reads, and one group-commit
writer per node (``writer.py``) whose transactions serialise with every other node's on the
audit lock (``chain_head.py``).

This is its foundation: the audit log (``AuditLog``), the survey answers (``SurveyStore``) and
revocations (``RevocationStore``) are complete; the other roles of ``Store``
are not yet, and ``services.store.factory`` refuses to serve a node on it until they are,
naming what is missing (``missing_roles``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from psycopg import AsyncConnection

from services.audit.chain import AuditEvent, AuditRecord
from services.audit.keys import pin_event, pin_first_key_problem
from services.audit.signing import Signer, public_hex
from services.errors import Conflict
from services.store import protocols
from services.store.postgres.chain_head import PgChain
from services.store.postgres.connection import OPTIONS, connect, conninfo, migrate, open_pool
from services.store.postgres.reader import PgAuditReads
from services.store.postgres.revocations import PgRevocations
from services.store.postgres.surveys import PgSurveys
from services.store.postgres.writer import CHECKPOINT_INTERVAL_S, PgWriter
from services.store.sqlite.chain_head import BogusRows

INSERT_PIN = "INSERT INTO audit_keys (key_id, public_key, pinned_seq, ts_ms) VALUES (%s,%s,%s,%s)"


class PgStore(PgAuditReads, PgSurveys, PgRevocations):
    """The roles of ``Store`` done so far on one PostgreSQL database; open with ``open``."""

    def __init__(
        self, url: str, signer: Signer, now: Callable[[], float], interval_s: float
    ) -> None:
        self._url = conninfo(url)
        self._signer = signer
        self._now = now
        self._writer = PgWriter(self._connect_writer, signer, now, interval_s, BogusRows())
        self._closed = False

    @classmethod
    async def open(
        cls,
        url: str,
        signer: Signer,
        now: Callable[[], float],
        *,
        pool_size: int = 8,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
        to_pin: bool = False,
    ) -> PgStore:
        """Migrate the database, pin the signer's key if the log has none (refusing a signer
        that is not pinned, unless it is opened ``to_pin`` it: ``pin_key`` only), and open the
        pool."""
        store = cls(url, signer, now, checkpoint_interval_s)
        await asyncio.to_thread(store._prepare, to_pin)
        store._pool = await open_pool(store._url, max_size=pool_size)
        return store

    def _prepare(self, to_pin: bool) -> None:
        with connect(self._url, autocommit=True) as conn:
            migrate(conn)
            if to_pin:
                return
            with conn.transaction():
                conn.execute("LOCK TABLE audit_keys IN EXCLUSIVE MODE")
                pinned = {row[0] for row in conn.execute("SELECT public_key FROM audit_keys")}
                problem = pin_first_key_problem(pinned, self._signer)
                if problem is not None:
                    raise problem
                if not pinned:
                    now_ms = int(self._now() * 1000)
                    conn.execute(INSERT_PIN, (*_pin_values(self._signer), 0, now_ms))

    async def _connect_writer(self) -> AsyncConnection[Any]:
        return await AsyncConnection.connect(self._url, autocommit=True, options=OPTIONS)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._writer.close()
        await self._pool.close()

    async def append(self, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        batch = list(events)

        async def job(conn: AsyncConnection[Any], chain: PgChain) -> list[AuditRecord]:
            return chain.append(batch)

        return await self._writer.run(job, savepoint=False)


async def pin_signing_key(url: str, signer: Signer, now: Callable[[], float], reason: str) -> int:
    """Pin ``signer``'s key on purpose (as ``services.store.sqlite.store.pin_signing_key``): an
    ``audit-key-pinned`` event, the key trusted from it on, and a checkpoint over it signed by
    that key. Returns the event's seq."""
    store = await PgStore.open(url, signer, now, to_pin=True)

    async def job(conn: AsyncConnection[Any], chain: PgChain) -> int:
        cur = await conn.execute("SELECT 1 FROM audit_keys WHERE key_id = %s", (signer.key_id,))
        if await cur.fetchone():
            raise Conflict(f"key {signer.key_id} is pinned already")
        (rec,) = chain.append([pin_event(signer, "cli", reason)])
        await chain.flush(conn)
        await conn.execute(INSERT_PIN, (*_pin_values(signer), rec.seq, int(now() * 1000)))
        await chain.checkpoint(conn)
        return rec.seq

    try:
        return await store._writer.run(job)
    finally:
        await store.aclose()


def _pin_values(signer: Signer) -> tuple[str, str]:
    return signer.key_id, public_hex(signer.public_key)


def missing_roles(cls: type = PgStore) -> dict[str, list[str]]:
    """Each role of ``Store`` that ``cls`` does not fully implement, with its missing methods."""
    missing: dict[str, list[str]] = {}
    for role in protocols.Store.__mro__[1:]:
        if role.__module__ != protocols.__name__ or not getattr(role, "_is_protocol", False):
            continue
        names = [
            n for n, v in vars(role).items() if inspect.isfunction(v) and not n.startswith("_")
        ]
        lacking = [n for n in names if not hasattr(cls, n)]
        if lacking:
            missing[role.__name__] = lacking
    return missing
