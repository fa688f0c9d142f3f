"""The audit chain on a real PostgreSQL 15: group commit, several appending processes, the same
verification as SQLite's, and ``tatap audit verify|export`` offline on a ``postgresql://`` URL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.audit.chain import AuditEvent
from services.audit.query import AuditQuery
from services.audit.signing import Ed25519Signer
from services.clock import SystemClock
from services.errors import ConfigError
from services.settings import Settings
from services.store.factory import create_store, open_audit_reader
from services.store.postgres.audit import verify_db
from services.store.postgres.chain_head import PgChain
from services.store.postgres.connection import connect
from services.store.postgres.store import PgStore
from tests.helpers.postgres import PgCluster  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _event(i: int, facility: str = "f1") -> AuditEvent:
    return AuditEvent("notice", "admin", "a1", facility, f"v{i % 3}", {"i": i})


async def _store(url: str, data_dir: Path) -> PgStore:
    return await PgStore.open(url, Ed25519Signer.from_data_dir(data_dir), SystemClock().now)


def _tamper(url: str, sql: str) -> None:
    """Change rows as someone with the database's superuser password could: past the triggers."""
    with connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(sql)


async def test_appends_chain_verify_and_read_back(pg_url: str, tmp_path: Path) -> None:
    """Concurrent appends through the group-commit writer get consecutive seqs in one chain;
    after a clean close (which signs the head) verification passes, and search, checkpoints
    and keys read back what was written."""
    store = await _store(pg_url, tmp_path)
    results = await asyncio.gather(*(store.append([_event(i)]) for i in range(300)))
    await store.append([_event(1000 + i) for i in range(5)])  # one job of several events
    await store.aclose()
    seqs = sorted(r.seq for batch in results for r in batch)
    assert seqs == list(range(1, 301))
    reader = open_audit_reader(Settings(db_url=pg_url, data_dir=tmp_path))
    try:
        result = await reader.audit_verify(live=False)
        assert result.ok, result.problem
        assert (result.events, result.checkpoints) == (305, 1)
        page = await reader.audit_search(AuditQuery(visit_id="v1", limit=1000))
        assert len(page) == 102 and all(r.visit_id == "v1" for r in page)
        newest = await reader.audit_search(AuditQuery(newest_first=True, limit=2))
        assert [r.seq for r in newest] == [305, 304]
        facility = await reader.audit_verify("f1", live=False)
        assert facility.events == 305
        (cp, _ts), *_ = await reader.audit_checkpoints(0, 10)
        assert cp.seq == 305
        (key,) = await reader.audit_keys()
        assert key.key_id == Ed25519Signer.from_data_dir(tmp_path).key_id
    finally:
        await reader.aclose()


async def test_a_checkpoint_every_thousand_events_and_timed(pg_url: str, tmp_path: Path) -> None:
    """The writer signs at the cadence verification holds it to: every 1,000 events, and an idle
    node's unsigned tail once it is ``interval_s`` old (so --live passes without a close)."""
    signer = Ed25519Signer.from_data_dir(tmp_path)
    store = await PgStore.open(pg_url, signer, SystemClock().now, checkpoint_interval_s=0.3)
    try:
        await store.append([_event(i) for i in range(2500)])
        await store.append([_event(1)])
        await asyncio.sleep(1.5)
        cps = [cp.seq for cp, _ in await store.audit_checkpoints(0, 10)]
        assert cps == [1000, 2000, 2501]
        assert (await store.audit_verify(live=True)).unsigned_from is None
    finally:
        await store.aclose()


def test_two_processes_append_to_one_valid_chain(pg_url: str, tmp_path: Path) -> None:
    """Two nodes (processes) appending at once, 32 appenders each, serialise on the audit lock:
    every acknowledged event is in the log once, the seqs are 1..N without gaps, and the
    chain verifies."""
    Ed25519Signer.from_data_dir(tmp_path)  # one key, made before either process starts
    count = 1500
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.pg_append", pg_url, str(tmp_path)]
            + [str(count), "32", tag],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("node-a", "node-b")
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    acked = [int(line) for out, _ in outputs for line in out.split()]
    assert sorted(acked) == list(range(1, 2 * count + 1))
    with connect(pg_url) as conn:
        tags = conn.execute("SELECT actor_id, count(*) FROM audit_events GROUP BY 1").fetchall()
    assert dict(tags) == {"node-a": count, "node-b": count}
    result = verify_db(pg_url)
    assert result.ok, result.problem
    assert result.events == 2 * count


async def test_verify_names_a_tampered_row(pg_url: str, tmp_path: Path) -> None:
    """A row changed past the triggers is named by verification (the first bad seq), as on
    SQLite: the same chain walk."""
    store = await _store(pg_url, tmp_path)
    await store.append([_event(i) for i in range(50)])
    await store.aclose()
    assert verify_db(pg_url).ok
    _tamper(pg_url, "UPDATE audit_events SET details = '{\"i\":999}' WHERE seq = 17")
    result = verify_db(pg_url)
    assert not result.ok
    assert result.first_bad_seq == 17 and "hash" in result.problem


def _tatap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_verify_and_export_offline_on_postgres(pg_url: str, tmp_path: Path) -> None:
    """``tatap audit verify`` and ``export`` work on a postgresql:// URL: OK on an intact log,
    exit 1 naming the row once it is tampered with; the export holds every event."""
    store = await _store(pg_url, tmp_path)
    await store.append([_event(i) for i in range(20)])
    await store.aclose()
    empty = tmp_path / "no-keys"  # offline: no key file is needed or made
    ok = _tatap("audit", "verify", "--db", pg_url, "--data-dir", str(empty))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: 20 events, 1 signed checkpoints")
    out = tmp_path / "export.csv"
    exported = _tatap("audit", "export", "--db", pg_url, "--out", str(out), "--visit", "v2")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [int(r["seq"]) for r in rows] == [3, 6, 9, 12, 15, 18]
    _tamper(pg_url, "UPDATE audit_events SET actor_id = 'someone' WHERE seq = 9")
    bad = _tatap("audit", "verify", "--db", pg_url)
    assert bad.returncode == 1
    assert "first bad row seq=9" in bad.stdout


async def test_offline_reader_writes_nothing(pg_url: str) -> None:
    """The offline reader's connections are read-only: on a database never migrated it creates
    no table, and verification fails loudly (the log cannot be shown intact)."""
    reader = open_audit_reader(Settings(db_url=pg_url))
    try:
        result = await reader.audit_verify(live=False)
        assert not result.ok and "unreadable" in result.problem
        with pytest.raises(psycopg.errors.UndefinedTable):
            await reader.audit_keys()
    finally:
        await reader.aclose()
    with connect(pg_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert tables == (0,)


def test_a_node_is_refused_a_half_store(pg_url: str, tmp_path: Path) -> None:
    """Until every role exists on PostgreSQL, a node asking for it is refused with the roles
    (and methods) it lacks named, never served a half store."""
    with pytest.raises(ConfigError) as refused:
        create_store(Settings(db_url=pg_url, data_dir=tmp_path), SystemClock())
    text = str(refused.value)
    assert "VisitStore" in text and "FacilityStore" in text and "audit verify" in text
    assert "AuditLog" not in text  # that role is complete


async def test_a_failing_job_undoes_only_itself(pg_url: str, tmp_path: Path) -> None:
    """In one batch, a job that appended and wrote events and then failed is undone (its
    savepoint), its caller hears why, and the appends around it land in one intact chain."""
    store = await _store(pg_url, tmp_path)

    async def failing(conn: Any, chain: PgChain) -> None:
        chain.append([_event(-1, "f_failed")])
        await chain.flush(conn)
        raise ValueError("this job fails after writing")

    try:
        before = [store.append([_event(i)]) for i in range(20)]
        bad = store._writer.run(failing)
        after = [store.append([_event(i)]) for i in range(20, 40)]
        results = await asyncio.gather(*before, bad, *after, return_exceptions=True)
    finally:
        await store.aclose()
    assert isinstance(results[20], ValueError)
    seqs = sorted(r[0].seq for r in results if isinstance(r, list))
    assert seqs == list(range(1, 41))
    result = verify_db(pg_url)
    assert result.ok, result.problem
    with connect(pg_url) as conn:
        row = conn.execute("SELECT count(*) FROM audit_events WHERE facility_id = 'f_failed'")
        assert row.fetchone() == (0,)


async def test_appends_go_on_after_a_postgresql_restart(
    pg_cluster: PgCluster, pg_url: str, tmp_path: Path
) -> None:
    """PostgreSQL restarted under a running store: a batch caught by it fails loudly (its
    callers hear an error, nothing half-acknowledged), the writer reconnects, later appends
    succeed, and every acknowledged event is in one intact chain."""
    store = await _store(pg_url, tmp_path)
    acked: list[int] = []
    try:
        acked += [r.seq for r in await store.append([_event(i) for i in range(10)])]
        pg_cluster.restart()
        failures = 0
        for i in range(10, 30):
            try:
                acked += [r.seq for r in await store.append([_event(i)])]
            except psycopg.Error:
                failures += 1
                await asyncio.sleep(0.2)
        assert failures <= 2
    finally:
        await store.aclose()
    with connect(pg_url) as conn:
        stored = [r[0] for r in conn.execute("SELECT seq FROM audit_events ORDER BY seq")]
    assert set(acked) <= set(stored) and len(stored) >= 28
    result = verify_db(pg_url)
    assert result.ok, result.problem


async def test_cli_pin_key_on_postgres(pg_url: str, tmp_path: Path) -> None:
    """A node with an unpinned key is refused; ``tatap audit pin-key`` on a postgresql:// URL
    pins it with its audit event and a checkpoint it signs: verify passes with two pinned keys,
    the node is then accepted, and pinning the key again is refused."""
    store = await _store(pg_url, tmp_path / "old")
    await store.append([_event(i) for i in range(5)])
    await store.aclose()
    new_dir = str(tmp_path / "new")
    with pytest.raises(ConfigError, match="not pinned"):
        await _store(pg_url, tmp_path / "new")  # refused before the pin
    pinned = _tatap("audit", "pin-key", "--db", pg_url, "--data-dir", new_dir, "--reason", "lost")
    assert pinned.returncode == 0, pinned.stderr
    assert json.loads(pinned.stdout)["seq"] == 6
    result = verify_db(pg_url)
    assert result.ok, result.problem
    assert [seq for _, seq in result.pinned_keys] == [0, 6]
    node = await _store(pg_url, tmp_path / "new")  # accepted now
    await node.aclose()
    again = _tatap("audit", "pin-key", "--db", pg_url, "--data-dir", new_dir, "--reason", "x")
    assert again.returncode != 0 and "pinned already" in again.stderr + again.stdout
