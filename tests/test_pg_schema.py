"""The PostgreSQL schema against SQLite's, on a real PostgreSQL 15 (tests.helpers.postgres)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from services.store.postgres import migrations as pg_migrations
from services.store.postgres.connection import connect, migrate, schema_version
from services.store.sqlite import migrations as sqlite_migrations
from services.store.sqlite.connection import connect as sqlite_connect
from services.store.sqlite.connection import migrate as sqlite_migrate

Columns = dict[str, set[tuple[str, bool]]]


def _sqlite_columns(path: Path) -> Columns:
    conn = sqlite_connect(path)
    try:
        sqlite_migrate(conn)
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        out: Columns = {}
        for name in names:
            rows = conn.execute(f"PRAGMA table_info({name})").fetchall()
            # A PRIMARY KEY column is NOT NULL in PostgreSQL (and in SQLite's meaning of ids).
            out[name] = {(r[1], bool(r[3]) or bool(r[5])) for r in rows}
        return out
    finally:
        conn.close()


def _pg_columns(url: str) -> Columns:
    with connect(url, autocommit=True) as conn:
        migrate(conn)
        rows = conn.execute(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        ).fetchall()
    out: Columns = {}
    for table, column, nullable in rows:
        out.setdefault(table, set()).add((column, nullable == "NO"))
    return out


def test_same_steps_same_tables_and_columns(pg_url: str, tmp_path: Path) -> None:
    """Both backends have the same migration steps, and reach the same tables with the same
    columns (and the same NOT NULLs): a step added to one and not the other fails here."""
    assert len(pg_migrations.STEPS) == len(sqlite_migrations.STEPS)
    lite = _sqlite_columns(tmp_path / "t.db")
    pg = _pg_columns(pg_url)
    assert sorted(pg) == sorted(lite)
    for table in lite:
        assert pg[table] == lite[table], table


def test_migrate_is_idempotent_and_safe_when_nodes_start_together(pg_url: str) -> None:
    """Several nodes migrating one database at once apply each step once: schema_version
    holds every step number exactly once, and a second migration changes nothing."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with connect(pg_url, autocommit=True) as conn:
                migrate(conn)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with connect(pg_url, autocommit=True) as conn:
        assert migrate(conn) == len(pg_migrations.STEPS)
        assert schema_version(conn) == len(pg_migrations.STEPS)
        rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(pg_migrations.STEPS) + 1))


def test_audit_tables_refuse_edits_and_deletes(pg_url: str) -> None:
    """As on SQLite, the database itself refuses to change or delete audit rows (and, here,
    to truncate them)."""
    with connect(pg_url, autocommit=True) as conn:
        migrate(conn)
        conn.execute(
            "INSERT INTO audit_events VALUES (1, 0, '', '', 'admin', 'x', 'notice', '{}', '0', '1')"
        )
        for sql in (
            "UPDATE audit_events SET details = '{\"x\":1}'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM audit_events").fetchone() == (1,)


def test_sqlite_still_reaches_its_schema(tmp_path: Path) -> None:
    """The comparison's SQLite side is a real migrated file (its version is the last step)."""
    _sqlite_columns(tmp_path / "t.db")
    conn = sqlite3.connect(tmp_path / "t.db")
    (version,) = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    conn.close()
    assert version == len(sqlite_migrations.STEPS)
