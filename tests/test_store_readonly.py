"""The audit log opened read-only through the store factory: it reads what the node wrote and
creates, migrates and writes nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from services.audit.chain import AuditEvent
from services.audit.query import AuditQuery, iter_events
from services.errors import ConfigError, NotFound
from services.store.factory import offline_settings, open_audit_reader
from tests.helpers.audit import fill

EMPTY = hashlib.sha256(b"").hexdigest()


def _snapshot(data_dir: Path) -> dict[str, str]:
    """Every file in the directory, by name, with a digest of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in data_dir.iterdir()}


async def test_reads_a_log_and_leaves_the_directory_as_it_was(tmp_path: Path) -> None:
    """Search, paging, checkpoints, keys and verification all answer, and afterwards every file
    in the data directory is byte for byte what it was. The only files added are SQLite's own
    reader files (an empty ``-wal`` and the ``-shm`` index), which any reader of a WAL file
    makes; no key file, no token keys."""
    await fill(tmp_path, 1200, lambda i: AuditEvent("notice", "admin", f"a{i}", "fac-1"))
    before = _snapshot(tmp_path)
    reader = open_audit_reader(offline_settings(None, tmp_path))
    try:
        events = [r.seq async for r in iter_events(reader, AuditQuery(facility_id="fac-1"))]
        assert events == list(range(1, 1201))
        assert (await reader.audit_checkpoints(0, 10))[0][0].seq == 1000
        assert len(await reader.audit_keys()) == 1
        result = await reader.audit_verify(live=False)
        assert result.ok and result.events == 1200
        assert (await reader.audit_verify("other-facility")).events == 0
    finally:
        await reader.aclose()
    after = _snapshot(tmp_path)
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) <= {"tatap.db-wal", "tatap.db-shm"}
    assert after.get("tatap.db-wal", EMPTY) == EMPTY


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    """No database: NotFound naming the path, and neither the file nor its directory appears."""
    data_dir = tmp_path / "none"
    with pytest.raises(NotFound, match="no database at"):
        open_audit_reader(offline_settings(None, data_dir))
    assert not data_dir.exists()


async def test_a_database_without_the_schema_is_not_migrated(tmp_path: Path) -> None:
    """A file with no audit tables fails verification and stays without them: opening
    read-only runs no migration."""
    db = tmp_path / "tatap.db"
    sqlite3.connect(db).close()
    reader = open_audit_reader(offline_settings(None, tmp_path))
    try:
        result = await reader.audit_verify(live=False)
    finally:
        await reader.aclose()
    assert not result.ok and "audit tables unreadable" in result.problem
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    finally:
        conn.close()


def test_an_unknown_url_scheme_is_refused(tmp_path: Path) -> None:
    """A backend the factory does not know is a configuration error, not a guess."""
    with pytest.raises(ConfigError, match="unsupported database URL scheme"):
        open_audit_reader(offline_settings("mysql://db/tatap", tmp_path))
