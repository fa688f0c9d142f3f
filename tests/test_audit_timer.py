"""The writer signs an idle node's unsigned tail on a timer, and ``verify --live`` accepts an
unsigned tail only while it is young.

A real store on a real SQLite file; the timer is the writer thread's own (a short interval stands
in for the 10 s a node uses), and verify runs as the real ``tatap`` command.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.audit.chain import AuditEvent, VerifyResult
from services.audit.signing import Ed25519Signer
from services.clock import FakeClock
from services.store.sqlite.store import SqliteStore
from tests.helpers.audit import rows, run_cli, tamper

INTERVAL_S = 0.5
COLS = "seq, ts_ms, facility_id, visit_id, actor_role, actor_id, action, details, prev_hash, hash"


def _store(data_dir: Path, interval_s: float = INTERVAL_S) -> SqliteStore:
    signer = Ed25519Signer.from_data_dir(data_dir)
    return SqliteStore(
        data_dir / "tatap.db",
        signer,
        FakeClock(time.time()).now,
        data_dir,
        checkpoint_interval_s=interval_s,
    )


def _signed_head(db: Path) -> int:
    return int(rows(db, "SELECT coalesce(max(seq), 0) FROM audit_checkpoints")[0][0])


async def _until_signed(db: Path, seq: int, within_s: float) -> float:
    """Seconds until a checkpoint covers ``seq`` (the file is all there is to watch)."""
    start = time.monotonic()
    while _signed_head(db) < seq:
        assert time.monotonic() - start < within_s, f"no checkpoint at {seq} after {within_s} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_an_idle_node_signs_its_tail_without_another_write(tmp_path: Path) -> None:
    """Three events, then nothing: a checkpoint over them appears once the interval has passed,
    though no further job reaches the writer (it used to wait for one)."""
    store = _store(tmp_path)
    try:
        await store.append([AuditEvent("notice", "officer", "s_1") for _ in range(3)])
        db = tmp_path / "tatap.db"
        assert _signed_head(db) == 0
        waited = await _until_signed(db, 3, within_s=INTERVAL_S + 5)
        assert waited >= INTERVAL_S * 0.5
        assert rows(db, "SELECT count(*) FROM audit_events") == [(3,)]
    finally:
        await store.aclose()


async def test_a_node_with_a_signed_head_signs_nothing_more(tmp_path: Path) -> None:
    """Once the head is signed the timer stops: an idle node adds no checkpoints."""
    store = _store(tmp_path, interval_s=0.1)
    try:
        await store.append([AuditEvent("notice", "officer", "s_1")])
        db = tmp_path / "tatap.db"
        await _until_signed(db, 1, within_s=5)
        await asyncio.sleep(0.5)  # ample time for a wrongly repeating timer to show
        assert rows(db, "SELECT count(*) FROM audit_checkpoints") == [(1,)]
    finally:
        await store.aclose()


def _append_forged(db: Path, ts_ms: int) -> int:
    """An event chained onto the head by hand, as a node that crashed (or a forger) leaves it."""
    ((seq, head),) = rows(db, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    fields = [seq + 1, ts_ms, "f_1", "v_1", "officer", "s_1", "notice", "{}"]
    digest = hashlib.sha256(bytes.fromhex(head) + orjson.dumps(fields)).hexdigest()
    tamper(
        db,
        (
            f"INSERT INTO audit_events ({COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (*fields, head, digest),
        ),
    )
    return int(seq + 1)


async def _signed_log(data_dir: Path) -> Path:
    store = _store(data_dir)
    await store.append([AuditEvent("notice", "officer", "s_1") for _ in range(3)])
    await store.aclose()
    return data_dir / "tatap.db"


async def test_live_verify_fails_on_an_unsigned_tail_older_than_30_s(tmp_path: Path) -> None:
    """`verify --live` names an unsigned tail whose oldest event is 60 s old: a running node
    would have signed it at 10 s."""
    db = await _signed_log(tmp_path)
    seq = _append_forged(db, int((time.time() - 60) * 1000))
    proc = run_cli(tmp_path, "audit", "verify", "--json", "--live")
    report = orjson.loads(proc.stdout)
    assert proc.returncode == 1 and report["first_bad_seq"] == seq
    assert "s old" in report["problem"]


async def test_live_verify_accepts_a_young_unsigned_tail(tmp_path: Path) -> None:
    """An unsigned tail a few seconds old is what a running node shows: `--live` reports it."""
    db = await _signed_log(tmp_path)
    seq = _append_forged(db, int((time.time() - 2) * 1000))
    proc = run_cli(tmp_path, "audit", "verify", "--json", "--live")
    report = orjson.loads(proc.stdout)
    assert proc.returncode == 0 and report["unsigned_from"] == seq


async def test_a_bogus_row_at_the_head_does_not_spin_the_timer(tmp_path: Path) -> None:
    """A checkpoint row inserted by hand at the seq the timer must sign makes that signature
    fail; the writer tries again once per interval (logging each), not in a tight loop."""
    from structlog.testing import capture_logs

    store = _store(tmp_path, interval_s=0.2)
    try:
        await store.append([AuditEvent("notice", "officer", "s_1")])
        db = tmp_path / "tatap.db"
        tamper(
            db,
            (
                "INSERT INTO audit_checkpoints VALUES (2, ?, '0123456789abcdef', ?, 0)",
                ("ab" * 32, "cd" * 64),
            ),
        )
        with capture_logs() as logs:
            await store.append([AuditEvent("notice", "officer", "s_1")])
            await asyncio.sleep(1.0)  # five intervals
        bogus = [e for e in logs if e["event"] == "audit.checkpoint_bogus" and e["seq"] == 2]
        assert 1 <= len(bogus) <= 20
    finally:
        await store.aclose()


async def test_live_verify_measures_the_tail_age_when_its_snapshot_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chain walk of a large log takes seconds (about 4 s per million events); a tail 5 s old
    when verify began is young, however long the walk then took. The injected clock moves 60 s
    during the walk: `--live` still passes and reports the tail."""
    from services.store.sqlite import audit as sqlite_audit

    db = await _signed_log(tmp_path)
    ts_s = time.time() - 5
    seq = _append_forged(db, int(ts_s * 1000))
    clock = [ts_s + 5]
    walk = sqlite_audit.verify_chain

    def slow_walk(*args: Any, **kwargs: Any) -> VerifyResult:
        clock[0] += 60  # the walk of a log of some fifteen million events
        return walk(*args, **kwargs)

    monkeypatch.setattr(sqlite_audit, "verify_chain", slow_walk)
    result = sqlite_audit.verify_file(db, tmp_path, live=True, now=lambda: clock[0])
    assert result.ok and result.unsigned_from == seq
