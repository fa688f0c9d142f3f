"""What every part of ``SqliteStore`` shares: its reader connection and thread, its group-commit
writer, and the conversions between Python and the columns."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from services.errors import Conflict
from services.store.sqlite.chain_head import Chain
from services.store.sqlite.writer import GroupCommitWriter

T = TypeVar("T")


class SqliteReads:
    """A part of a store that reads one SQLite file through ``_read``."""

    _path: Path
    _data_dir: Path
    _now: Callable[[], float]

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError  # each concrete store reads on its own connection


class SqliteBase(SqliteReads):
    """A part of ``SqliteStore``: reads on the reader thread (or, for lookups by key, on the
    caller's own thread), writes through the writer."""

    _writer: GroupCommitWriter
    _reader: ThreadPoolExecutor
    _reader_conn: sqlite3.Connection
    _inline_conn: sqlite3.Connection

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, fn, self._reader_conn)

    async def _read_inline(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read whose cost is bounded by an index lookup (a row by its key, a facility's few
        rules), run on the event loop's thread with a connection of its own.

        Why not the reader thread: such a read takes tens of microseconds, while handing it to
        another thread and back costs more, mostly waiting for the GIL, which the busy loop
        holds for up to the switch interval (5 ms) at every hand-over. A booking makes nine such
        reads; in the booking rush (tests/bench/rush.py) moving them here cut the server's CPU
        per request by a quarter and its p99 several-fold. Reads that may scan (history,
        queues, the audit log) stay on the reader thread. If the file is locked (another
        process recovering it), this read does not wait on the loop: the reader thread does."""
        try:
            return fn(self._inline_conn)
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", None)  # set only by SQLite itself
            if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
        return await self._read(fn)

    async def _write(self, fn: Callable[[sqlite3.Connection, Chain], T]) -> T:
        return await self._writer.run(fn)


def ms(t: float | None) -> int | None:
    """Epoch seconds as the integer milliseconds the columns hold."""
    return None if t is None else int(round(t * 1000))


def s_or_none(ms: int | None) -> float | None:
    """A milliseconds column (NULL: None) as epoch seconds."""
    return None if ms is None else ms / 1000


def translate(job: Callable[[sqlite3.Connection, Chain], T]) -> Callable[..., T]:
    """Turn constraint violations into a Conflict the edge can answer with."""

    def wrapped(conn: sqlite3.Connection, chain: Chain) -> T:
        try:
            return job(conn, chain)
        except sqlite3.IntegrityError as exc:
            raise Conflict("that record exists already or refers to a missing one") from exc

    return wrapped
