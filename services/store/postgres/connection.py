"""Connecting to PostgreSQL as every store connection must, and bringing the schema up to date.

Every connection runs at ``synchronous_commit = on`` (a commit returns once its WAL is flushed:
an acknowledgement means the fact is on disk), in UTC, with a bounded statement and lock wait.
Nodes may start together: ``migrate`` holds a transaction-scoped advisory lock, so one of them
applies the steps and the others find them applied.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from services.errors import ConfigError
from services.store.postgres.migrations import STEPS

# pg_advisory_xact_lock keys: one per thing serialised across every node of one database.
MIGRATE_LOCK = 0x7A7A_0001
AUDIT_LOCK = 0x7A7A_0002
STATEMENT_TIMEOUT_MS = 30_000
OPTIONS = (
    f"-c synchronous_commit=on -c TimeZone=UTC -c statement_timeout={STATEMENT_TIMEOUT_MS}"
    f" -c lock_timeout={STATEMENT_TIMEOUT_MS}"
)


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def conninfo(url: str) -> str:
    """``url`` checked to be a PostgreSQL URL (ConfigError if not)."""
    if not is_postgres_url(url):
        raise ConfigError(f"not a PostgreSQL URL: {url.split(':', 1)[0]!r}")
    return url


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """One blocking connection (offline commands and the migration)."""
    return psycopg.connect(conninfo(url), options=OPTIONS, **kwargs)


async def open_pool(url: str, min_size: int = 1, max_size: int = 8) -> AsyncConnectionPool:
    """An opened async pool of at most ``max_size`` connections."""
    pool = AsyncConnectionPool(
        conninfo(url),
        min_size=min_size,
        max_size=max_size,
        kwargs={"options": OPTIONS},
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    return pool


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Bring the schema up to date (each step and its ``schema_version`` row in the one
    transaction); returns the version reached."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        version = int(row[0] or 0) if row else 0
        if version > len(STEPS):
            raise ConfigError(
                f"the database is at schema step {version}, newer than this code ({len(STEPS)})"
            )
        for number, script in enumerate(STEPS[version:], start=version + 1):
            conn.execute(script)  # no parameters: one round trip runs the step's statements
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
    return len(STEPS)


def schema_version(conn: psycopg.Connection[Any]) -> int:
    """How far the database has come (0: never migrated)."""
    exists = conn.execute("SELECT to_regclass('schema_version')").fetchone()
    if not exists or exists[0] is None:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0) if row else 0
