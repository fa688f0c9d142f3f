"""Lookups by key run on the event loop's thread (``SqliteBase._read_inline``), so they must
never wait there: the connection they use never waits for a lock, and a read that finds the file
busy goes to the reader thread, where waiting holds up nobody."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from services.admin.provision import Admin
from services.store.sqlite.store import SqliteStore
from tests.helpers.audit import open_store


async def test_lookups_by_key_run_on_the_loop_thread_and_never_wait_there(
    tmp_path: Path,
) -> None:
    """A facility lookup reads on the caller's thread, through a connection whose busy timeout
    is zero (a lock is reported at once instead of stalling the loop)."""
    store = open_store(tmp_path)
    assert isinstance(store, SqliteStore)
    try:
        await Admin(store).facility("Lapas Cilegon", facility_id="f_1")
        threads: list[str] = []

        def read(conn: sqlite3.Connection) -> str:
            threads.append(threading.current_thread().name)
            row = conn.execute("SELECT name FROM facilities WHERE id = 'f_1'").fetchone()
            return str(row[0])

        assert await store._read_inline(read) == "Lapas Cilegon"
        assert threads == [threading.current_thread().name]
        assert store._inline_conn.execute("PRAGMA busy_timeout").fetchone() == (0,)
    finally:
        await store.aclose()


async def test_a_busy_file_sends_the_read_to_the_reader_thread(tmp_path: Path) -> None:
    """When SQLite answers busy (another process holds the file), the same read is run again
    on the reader thread, which may wait; any other error is raised as it is."""
    store = open_store(tmp_path)
    assert isinstance(store, SqliteStore)
    loop_thread = threading.current_thread().name
    try:
        threads: list[str] = []

        def busy_here(conn: sqlite3.Connection) -> str:
            threads.append(threading.current_thread().name)
            if threading.current_thread().name == loop_thread:
                busy = sqlite3.OperationalError("database is locked")
                busy.sqlite_errorcode = sqlite3.SQLITE_BUSY
                raise busy
            return "read"

        assert await store._read_inline(busy_here) == "read"
        assert threads[0] == loop_thread and threads[1].startswith("sqlite-reader")

        def broken(conn: sqlite3.Connection) -> str:
            raise sqlite3.OperationalError("no such table: nowhere")

        try:
            await store._read_inline(broken)
        except sqlite3.OperationalError as exc:
            assert "nowhere" in str(exc)
        else:
            raise AssertionError("a broken read must fail, not be retried")
    finally:
        await store.aclose()
