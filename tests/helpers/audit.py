"""Helpers for the audit, CLI and API tests: the real ``tatap`` command run as a subprocess, a store
on a real SQLite file, and the raw file access (and forging) an attacker would use to tamper with
the log."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.chain import GENESIS, AuditEvent, checkpoint_message
from services.audit.signing import key_id
from services.clock import Clock, FakeClock
from services.settings import Settings
from services.store.factory import create_store
from services.store.protocols import Store
from tests.helpers.world import KEYS, LINK_KEY

REPO = Path(__file__).resolve().parents[2]
EVENT_COLUMNS = (
    "seq, ts_ms, facility_id, visit_id, actor_role, actor_id, action, details, prev_hash, hash"
)


def run_cli(
    data_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str = "",
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``tatap <args> --data-dir <data_dir>`` in a fresh process, without inherited TATAP_*
    variables (``env`` adds some, e.g. a password); ``stdin`` is its whole standard input."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TATAP_")}
    clean.update(env or {})
    cmd = [sys.executable, "-m", "services.cli.main", *args, "--data-dir", str(data_dir)]
    return subprocess.run(
        cmd,
        cwd=REPO,
        env=clean,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cli_json(data_dir: Path, *args: str) -> Any:
    """Run a command that prints JSON and must succeed; returns the parsed output."""
    proc = run_cli(data_dir, *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def verify(data_dir: Path) -> tuple[int, dict[str, Any]]:
    """``tatap audit verify --json``: exit code and report."""
    proc = run_cli(data_dir, "audit", "verify", "--json")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        db_url=f"sqlite:///{data_dir / 'tatap.db'}",
        token_keys=dict(KEYS),
        link_key=LINK_KEY,
        node_id="node-test",
    )


def open_store(data_dir: Path, clock: Clock | None = None) -> Store:
    """A store on ``<data_dir>/tatap.db``, its signing key in ``data_dir`` (made on first use)."""
    return create_store(settings_for(data_dir), clock or FakeClock())


async def fill(
    data_dir: Path, count: int, event: Callable[[int], AuditEvent], batch: int = 10
) -> Path:
    """``count`` events (``event(i)``) appended in batches, then the store closed (which signs
    the tail); returns the database file."""
    store = open_store(data_dir)
    try:
        for start in range(0, count, batch):
            await store.append([event(i) for i in range(start, min(start + batch, count))])
    finally:
        await store.aclose()
    return data_dir / "tatap.db"


def tamper(db: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """Change the file the way an attacker with file access would: drop every append-only
    trigger, then run the statements."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        kind = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        triggers = [r[0] for r in conn.execute(kind)]
        for name in triggers:  # every append-only guard, checkpoints' and keys' too
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("BEGIN")
        for sql, args in statements:
            conn.execute(sql, args)
        conn.execute("COMMIT")
    finally:
        conn.close()


def rows(db: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql, args))
    finally:
        conn.close()


def checkpoint_seqs(db: Path) -> list[int]:
    """The seqs the log's checkpoints sign, in order."""
    return [r[0] for r in rows(db, "SELECT seq FROM audit_checkpoints ORDER BY seq")]


def chained(prev: str, fields: list[Any]) -> str:
    """The hash an event's first eight columns get after the event whose hash is ``prev``."""
    return hashlib.sha256(bytes.fromhex(prev) + orjson.dumps(fields)).hexdigest()


def rehash_from(db: Path, seq: int, details: str) -> list[tuple[str, tuple[object, ...]]]:
    """Statements that give row ``seq`` new details and recompute every hash after it."""
    out: list[tuple[str, tuple[object, ...]]] = []
    prev = GENESIS
    for row in rows(db, f"SELECT {EVENT_COLUMNS} FROM audit_events ORDER BY seq"):
        s, fields = row[0], list(row[:8])
        if s == seq:
            fields[7] = details
        digest = chained(prev, fields)
        if s >= seq:
            sql = "UPDATE audit_events SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?"
            out.append((sql, (fields[7], prev, digest, s)))
        prev = digest
    return out


def resign(
    db: Path, key: Ed25519PrivateKey, kid: str | None = None
) -> list[tuple[str, tuple[object, ...]]]:
    """Statements re-signing every checkpoint over the (rehashed) rows with ``key``, labelled
    with its own key id unless ``kid`` names another."""
    kid = kid or key_id(key.public_key())
    hashes = dict(rows(db, "SELECT seq, hash FROM audit_events"))
    return [
        (
            "UPDATE audit_checkpoints SET hash = ?, key_id = ?, signature = ? WHERE seq = ?",
            (hashes[s], kid, key.sign(checkpoint_message(s, hashes[s])).hex(), s),
        )
        for s in checkpoint_seqs(db)
    ]
