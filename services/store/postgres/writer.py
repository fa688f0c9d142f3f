"""Group commit on PostgreSQL: one writer task per node, many callers, one WAL flush per batch.

Callers hand in a job (a coroutine function of the connection and the audit chain head); the
writer runs every job waiting at that moment in one transaction on its own connection, each
under its own savepoint so one failing job does not undo the others, commits once
(``synchronous_commit = on``: durable when the commit returns), and only then answers the
callers. The transaction begins by taking the audit lock (``PgChain.at_head``), so the writers
of several nodes append to one chain in turn, a batch at a time.

Besides jobs, it signs the head once the oldest event no checkpoint covers is ``interval_s``
old, whether or not another job comes, and at ``close``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from psycopg import AsyncConnection

from services.audit.signing import Signer
from services.store.postgres.chain_head import PgChain
from services.store.sqlite.chain_head import BogusRows

T = TypeVar("T")
Job = Callable[[AsyncConnection[Any], PgChain], Awaitable[T]]
Item = tuple[Job[Any], "asyncio.Future[Any]", bool]  # a job, its caller's future, savepoint
log = structlog.get_logger("tatap.audit")
MAX_BATCH = 1024
MAX_WAITING = 100_000  # jobs queued before callers are refused (bounded, never unbounded)
CHECKPOINT_INTERVAL_S = 10.0


class WriterBusy(RuntimeError):
    """More jobs wait than ``MAX_WAITING``: the database is not keeping up."""


class PgWriter:
    """The writer task (see the module docstring), started at the first job."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[AsyncConnection[Any]]],
        signer: Signer,
        now: Callable[[], float],
        interval_s: float = CHECKPOINT_INTERVAL_S,
        bogus: BogusRows | None = None,
    ) -> None:
        self._connect = connect
        self._signer = signer
        self._now = now
        self._interval_s = interval_s
        self._bogus = bogus or BogusRows()
        self._jobs: asyncio.Queue[Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._signed: int | None = None  # the signed position; None: read it at the next batch
        self._unsigned_since: float | None = None

    async def run(self, job: Job[T], *, savepoint: bool = True) -> T:
        """Run ``job`` in the next batch; its result once the batch is committed.
        ``savepoint=False`` for a job that writes nothing through the connection itself."""
        if self._closed:
            raise RuntimeError("store is closed")
        if self._jobs.qsize() >= MAX_WAITING:
            raise WriterBusy("too many writes waiting for the database")
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="pg-writer")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put_nowait((job, fut, savepoint))
        # Shielded: a cancelled caller must not leave its write half-known; the write still lands.
        return await asyncio.shield(fut)

    async def close(self) -> None:
        """Finish the jobs handed in, sign the head, and stop."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._jobs.put_nowait((_stop, asyncio.get_running_loop().create_future(), False))
            await self._task

    async def _loop(self) -> None:
        conn = await self._connect()
        try:
            while True:
                batch = await self._next_batch(conn)
                if conn.broken or conn.closed:  # the server restarted: a new connection
                    conn = await self._reconnect(conn)
                stopping = any(item[0] is _stop for item in batch)
                batch = [item for item in batch if item[0] is not _stop]
                if batch:
                    await self._commit(conn, batch)
                if stopping:
                    with contextlib.suppress(Exception):
                        await self._checkpoint(conn)
                    return
        finally:
            await conn.close()

    async def _reconnect(self, old: AsyncConnection[Any]) -> AsyncConnection[Any]:
        with contextlib.suppress(Exception):
            await old.close()
        try:
            return await self._connect()
        except Exception:  # still away: this batch fails (its callers hear why), the next retries
            log.exception("audit.writer_reconnect_failed")
            return old

    async def _next_batch(self, conn: AsyncConnection[Any]) -> list[Item]:
        """The jobs waiting now (at least one), signing the head whenever it falls due first."""
        while True:
            try:
                first = await asyncio.wait_for(self._jobs.get(), self._until_due())
                break
            except TimeoutError:
                await self._timed_checkpoint(conn)
        batch = [first]
        while len(batch) < MAX_BATCH and not self._jobs.empty():
            batch.append(self._jobs.get_nowait())
        return batch

    async def _commit(self, conn: AsyncConnection[Any], batch: list[Item]) -> None:
        results: list[tuple[bool, Any]] = []
        try:
            async with conn.transaction():
                chain = await self._at_head(conn)
                for job, _, savepoint in batch:
                    results.append(await _run_job(conn, chain, job, savepoint))
                await chain.flush(conn)
                if self._until_due() == 0.0:
                    await chain.checkpoint(conn)
            self._track(chain)
        except Exception as exc:  # the database, or a checkpoint that could not be signed
            self._signed = None
            results = [(False, exc)] * len(batch)
        for (_, fut, _), (ok, value) in zip(batch, results, strict=True):
            _resolve(fut, ok, value)

    async def _at_head(self, conn: AsyncConnection[Any]) -> PgChain:
        return await PgChain.at_head(conn, self._now, self._signer, self._signed, self._bogus)

    def _until_due(self) -> float | None:
        if self._unsigned_since is None:
            return None
        return max(0.0, self._unsigned_since + self._interval_s - time.monotonic())

    def _track(self, chain: PgChain) -> None:
        self._signed = None if chain.conflict else chain.signed_seq
        if chain.seq <= chain.signed_seq:
            self._unsigned_since = None
        elif self._unsigned_since is None:
            self._unsigned_since = time.monotonic()

    async def _timed_checkpoint(self, conn: AsyncConnection[Any]) -> None:
        try:
            chain = await self._checkpoint(conn)
        except Exception:  # the database away: try again after another interval
            log.exception("audit.checkpoint_failed")
            self._unsigned_since = time.monotonic()
            return
        self._unsigned_since = time.monotonic() if chain.seq > chain.signed_seq else None

    async def _checkpoint(self, conn: AsyncConnection[Any]) -> PgChain:
        """Sign the head now; the chain as it then stands."""
        try:
            async with conn.transaction():
                chain = await self._at_head(conn)
                await chain.checkpoint(conn)
        except BaseException:
            self._signed = None
            raise
        self._signed = None if chain.conflict else chain.signed_seq
        return chain


async def _run_job(
    conn: AsyncConnection[Any], chain: PgChain, job: Job[Any], savepoint: bool
) -> tuple[bool, Any]:
    """Run one job of a batch; its failure undoes its own part only and goes back to its
    caller. A job that writes through ``conn`` runs under a savepoint; one that only seals
    events (``PgChain.append``, written at the batch's flush) needs none."""
    if savepoint:
        await chain.flush(conn)  # earlier jobs' events: a failure here fails the whole batch
    mark = chain.mark()
    try:
        if not savepoint:
            return True, await job(conn, chain)
        async with conn.transaction():
            return True, await job(conn, chain)
    except Exception as exc:
        chain.undo(mark)
        return False, exc


async def _stop(conn: AsyncConnection[Any], chain: PgChain) -> None:
    """The marker ``close`` queues; never run."""


def _resolve(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)
