"""Opening the database file as every store connection must (WAL, ``synchronous=FULL``, foreign
keys, a generous busy timeout), and bringing its schema up to date."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from services.store.sqlite.migrations import STEPS


def connect(path: Path, busy_timeout_ms: int = 30_000) -> sqlite3.Connection:
    """A read-write connection to ``path`` (created if missing), shared-nothing across threads
    by the caller's discipline; a locked file is waited for up to ``busy_timeout_ms``."""
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version reached."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        version = row[0] or 0
        for number, script in enumerate(STEPS[version:], start=version + 1):
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(STEPS)


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()
