"""The hash-chained audit log on a real SQLite file, checked by the real ``tatap audit verify``.

Tampering is done the way an attacker with access to the file would: drop the append-only triggers,
then change rows with plain SQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.chain import CHECKPOINT_EVERY, GENESIS, AuditEvent, checkpoint_message
from services.audit.query import AuditQuery
from services.audit.signing import Ed25519Signer, key_id, load_public_keys
from services.clock import FakeClock
from services.store.sqlite.audit import verify_file
from tests.helpers.audit import REPO, fill, open_store, rows, run_cli, tamper, verify

ACTIONS = ["scheduled", "joined", "connected", "warned", "left", "ended"]


def _event(i: int) -> AuditEvent:
    return AuditEvent(
        ACTIONS[i % len(ACTIONS)],
        "terminal",
        f"t{i % 3}",
        "f_1",
        f"v_{i // len(ACTIONS)}",
        {"n": i, "note": f"event {i}"},
        ts=1_800_000_000 + i,
    )


async def _fill(data_dir: Path, count: int, batch: int = 10) -> None:
    """``count`` events appended in batches, then the store closed (which signs the tail)."""
    await fill(data_dir, count, _event, batch)


@pytest.fixture
async def chain(tmp_path: Path) -> Path:
    """A data dir holding a clean chain of 40 events; returns the database path."""
    await _fill(tmp_path, 40)
    return tmp_path / "tatap.db"


async def test_clean_chain_verifies(chain: Path) -> None:
    """An untouched log passes: exit 0, every event counted, checkpoints present."""
    code, report = verify(chain.parent)
    assert code == 0
    assert report["ok"] is True and report["events"] == 40 and report["checkpoints"] >= 1
    assert report["first_bad_seq"] is None


async def test_plain_verify_output_says_ok(chain: Path) -> None:
    """Without --json the command says OK and the number of events."""
    proc = run_cli(chain.parent, "audit", "verify")
    assert proc.returncode == 0 and proc.stdout.startswith("OK: 40 events")


async def test_triggers_refuse_update_and_delete(chain: Path) -> None:
    """Through SQL, the database itself refuses to edit or delete an audit row."""
    conn = sqlite3.connect(chain)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_events SET action = 'ended' WHERE seq = 3")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit_events WHERE seq = 3")
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("details", '{"n":17,"note":"nothing happened"}'),
        ("action", "cancelled"),
        ("ts_ms", 1_700_000_000_000),
        ("actor_id", "someone-else"),
        ("visit_id", "v_other"),
    ],
)
async def test_editing_one_field_names_that_row(chain: Path, column: str, value: object) -> None:
    """Changing any field of row 17 fails verification, and row 17 is named."""
    tamper(chain, (f"UPDATE audit_events SET {column} = ? WHERE seq = 17", (value,)))
    code, report = verify(chain.parent)
    assert code != 0
    assert report["ok"] is False and report["first_bad_seq"] == 17


async def test_plain_verify_output_names_the_row(chain: Path) -> None:
    """Without --json the command still names the first bad row and exits non-zero."""
    tamper(chain, ("UPDATE audit_events SET details = '{}' WHERE seq = 9", ()))
    proc = run_cli(chain.parent, "audit", "verify")
    assert proc.returncode == 1
    assert "seq=9" in proc.stdout and "TAMPERED" in proc.stdout


async def test_deleting_a_middle_row_names_it(chain: Path) -> None:
    """Row 23 deleted: the chain skips a number, and 23 is named."""
    tamper(chain, ("DELETE FROM audit_events WHERE seq = 23", ()))
    code, report = verify(chain.parent)
    assert code != 0 and report["first_bad_seq"] == 23


async def test_swapping_two_rows_names_the_first(chain: Path) -> None:
    """Rows 11 and 12 exchange their contents (hashes included): 11 is named."""
    cols = "ts_ms, facility_id, visit_id, actor_role, actor_id, action, details, prev_hash, hash"
    a = rows(chain, f"SELECT {cols} FROM audit_events WHERE seq = 11")[0]
    b = rows(chain, f"SELECT {cols} FROM audit_events WHERE seq = 12")[0]
    sets = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
    tamper(
        chain,
        (f"UPDATE audit_events SET {sets} WHERE seq = 11", b),
        (f"UPDATE audit_events SET {sets} WHERE seq = 12", a),
    )
    code, report = verify(chain.parent)
    assert code != 0 and report["first_bad_seq"] == 11


async def test_swapping_only_the_payloads_names_the_first(chain: Path) -> None:
    """Rows 5 and 6 exchange action and details but keep their hashes: 5 is named."""
    (a,) = rows(chain, "SELECT action, details FROM audit_events WHERE seq = 5")
    (b,) = rows(chain, "SELECT action, details FROM audit_events WHERE seq = 6")
    tamper(
        chain,
        ("UPDATE audit_events SET action = ?, details = ? WHERE seq = 5", b),
        ("UPDATE audit_events SET action = ?, details = ? WHERE seq = 6", a),
    )
    code, report = verify(chain.parent)
    assert code != 0 and report["first_bad_seq"] == 5


async def test_truncating_the_tail_past_a_checkpoint_is_caught(tmp_path: Path) -> None:
    """Rows cut off the end beyond a signed checkpoint: the first missing row is named."""
    await _fill(tmp_path, 250)
    db = tmp_path / "tatap.db"
    first_cp = rows(db, "SELECT min(seq) FROM audit_checkpoints")[0][0]
    assert first_cp is not None and first_cp > 20
    tamper(db, ("DELETE FROM audit_events WHERE seq > ?", (first_cp - 10,)))
    code, report = verify(tmp_path)
    assert code != 0
    assert report["first_bad_seq"] == first_cp - 9 and "truncated" in report["problem"]


async def test_dropping_only_the_last_row_is_caught(chain: Path) -> None:
    """A clean shutdown signs the head, so even the last row alone cannot vanish unseen."""
    tamper(chain, ("DELETE FROM audit_events WHERE seq = 40", ()))
    code, report = verify(chain.parent)
    assert code != 0 and report["first_bad_seq"] == 40


async def test_corrupted_checkpoint_signature_fails(chain: Path) -> None:
    """A checkpoint whose signature was altered is refused and named."""
    seq, sig = rows(chain, "SELECT seq, signature FROM audit_checkpoints ORDER BY seq LIMIT 1")[0]
    forged = ("0" if sig[0] != "0" else "1") + sig[1:]
    tamper(chain, ("UPDATE audit_checkpoints SET signature = ? WHERE seq = ?", (forged, seq)))
    code, report = verify(chain.parent)
    assert code != 0 and report["first_bad_seq"] == seq and "signature" in report["problem"]


async def test_rewritten_chain_resigned_with_another_key_fails(chain: Path) -> None:
    """An attacker edits row 17, recomputes every later hash and re-signs every checkpoint with a
    key of their own: the chain is self-consistent, but the checkpoints are not ours."""
    _rewrite_from(chain, 17, Ed25519PrivateKey.generate())
    code, report = verify(chain.parent)
    assert code != 0 and "signature" in report["problem"]


async def test_rewritten_chain_without_new_signatures_fails(chain: Path) -> None:
    """Row 17 edited and the chain rehashed, checkpoints left alone: the first checkpoint at or
    after 17 no longer matches and is named."""
    _rewrite_from(chain, 17, None)
    first_cp = rows(chain, "SELECT min(seq) FROM audit_checkpoints WHERE seq >= 17")[0][0]
    code, report = verify(chain.parent)
    assert code != 0 and report["first_bad_seq"] == first_cp


def _rewrite_from(db: Path, seq: int, key: Ed25519PrivateKey | None) -> None:
    """Edit row ``seq``'s details, recompute the hashes from there on, optionally re-sign."""
    cols = "seq, ts_ms, facility_id, visit_id, actor_role, actor_id, action, details, prev_hash"
    table = rows(db, f"SELECT {cols} FROM audit_events ORDER BY seq")
    statements: list[tuple[str, tuple[object, ...]]] = []
    prev = GENESIS
    hashes: dict[int, str] = {}
    for s, ts, fac, visit, role, actor, action, details, _ in table:
        if s == seq:
            details = '{"n":0,"note":"rewritten"}'
        canonical = orjson.dumps([s, ts, fac, visit, role, actor, action, details])
        digest = hashlib.sha256(bytes.fromhex(prev) + canonical).hexdigest()
        if s >= seq:
            statements.append(
                (
                    "UPDATE audit_events SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    (details, prev, digest, s),
                )
            )
        hashes[s] = digest
        prev = digest
    if key is not None:
        kid = key_id(key.public_key())
        for (cp_seq,) in rows(db, "SELECT seq FROM audit_checkpoints"):
            sig = key.sign(checkpoint_message(cp_seq, hashes[cp_seq])).hex()
            statements.append(
                (
                    "UPDATE audit_checkpoints SET hash = ?, key_id = ?, signature = ?"
                    " WHERE seq = ?",
                    (hashes[cp_seq], kid, sig, cp_seq),
                )
            )
    tamper(db, *statements)


async def test_verify_without_a_database_is_a_clear_error(tmp_path: Path) -> None:
    """Pointing verify at an empty directory fails with a message, not a stack trace, and
    leaves nothing behind."""
    empty = tmp_path / "nothing-here"
    proc = run_cli(empty, "audit", "verify")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr
    assert not empty.exists() or list(empty.iterdir()) == []


async def test_verify_reads_no_key_file_from_the_data_dir(chain: Path) -> None:
    """Verification trusts the keys pinned in the database, not files beside it: with the public
    key file gone, the log still verifies."""
    (chain.parent / "audit-signing.pub.pem").unlink()
    code, report = verify(chain.parent)
    assert code == 0 and report["events"] == 40


async def test_concurrent_appends_make_a_gap_free_chain(tmp_path: Path) -> None:
    """Hundreds of appends racing through asyncio.gather get distinct, consecutive numbers, and
    the resulting chain verifies."""
    store = open_store(tmp_path)
    try:
        results = await asyncio.gather(*(store.append([_event(i)]) for i in range(600)))
    finally:
        await store.aclose()
    seqs = sorted(r.seq for batch in results for r in batch)
    assert seqs == list(range(1, 601))
    db = tmp_path / "tatap.db"
    assert [r[0] for r in rows(db, "SELECT seq FROM audit_events ORDER BY seq")] == seqs
    result = verify_file(db, tmp_path)
    assert result.ok and result.events == 600


async def test_concurrent_multi_event_appends_stay_together(tmp_path: Path) -> None:
    """Concurrent appends of several events each keep their events consecutive and in order."""
    store = open_store(tmp_path)
    try:
        batches = [[_event(i * 3 + k) for k in range(3)] for i in range(150)]
        results = await asyncio.gather(*(store.append(b) for b in batches))
    finally:
        await store.aclose()
    for records in results:
        assert [r.seq for r in records] == list(range(records[0].seq, records[0].seq + 3))
    assert verify_file(tmp_path / "tatap.db", tmp_path).ok


async def test_acknowledged_append_survives_reopen(tmp_path: Path) -> None:
    """An event whose append returned is there after the store is closed and opened again."""
    store = open_store(tmp_path)
    (record,) = await store.append([_event(1)])
    await store.aclose()
    store = open_store(tmp_path, FakeClock())
    try:
        found = await store.audit_search(AuditQuery(visit_id=record.visit_id))
        assert [r.hash for r in found] == [record.hash]
        assert (await store.audit_verify()).ok
    finally:
        await store.aclose()


def test_acknowledged_append_survives_process_death(tmp_path: Path) -> None:
    """A process that dies right after an append returned (no close, no flush) loses nothing."""
    script = textwrap.dedent(
        f"""
        import asyncio, os, sys
        from pathlib import Path
        from services.audit.chain import AuditEvent
        from tests.helpers.audit import open_store

        async def main():
            store = open_store(Path({str(tmp_path)!r}))
            recs = await store.append([AuditEvent("notice", "admin", "cli", "f_1", "v_1",
                                                  {{"n": i}}) for i in range(5)])
            print(recs[-1].seq, recs[-1].hash, flush=True)
            os._exit(0)  # no aclose(): as if the power went

        asyncio.run(main())
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seq, digest = proc.stdout.split()
    db = tmp_path / "tatap.db"
    assert rows(db, "SELECT hash FROM audit_events WHERE seq = ?", (int(seq),)) == [(digest,)]
    code, report = verify(tmp_path)  # no shutdown checkpoint: the tail is named, not vouched for
    assert code != 0 and report["first_bad_seq"] == 1 and "events 1-5 follow" in report["problem"]


async def test_appends_from_two_processes_share_one_chain(tmp_path: Path) -> None:
    """The CLI writing while a server store is open continues the same chain without a fork."""
    store = open_store(tmp_path)
    try:
        await store.append([_event(i) for i in range(5)])
        proc = run_cli(tmp_path, "admin", "facility", "--name", "Lapas Dua", "--id", "f_2")
        assert proc.returncode == 0, proc.stderr
        await store.append([_event(i) for i in range(5, 10)])
    finally:
        await store.aclose()
    code, report = verify(tmp_path)
    assert code == 0 and report["events"] == 11


async def test_verify_works_in_a_directory_with_uri_characters(tmp_path: Path) -> None:
    """A data directory whose name holds `?` or `#` is read as a path, not cut at them."""
    odd = tmp_path / "audit?copy#2"
    await _fill(odd, 12)
    code, report = verify(odd)
    assert code == 0 and report["events"] == 12


def test_first_start_by_several_processes_agrees_on_one_signing_key(tmp_path: Path) -> None:
    """Several starts racing on a fresh data directory all sign with the one key whose public
    half is on disk (else every checkpoint but one side's would fail verification)."""
    for trial in range(10):
        data_dir = tmp_path / str(trial)
        barrier = threading.Barrier(6)
        ids: list[str] = []

        def start(barrier: threading.Barrier, data_dir: Path, ids: list[str]) -> None:
            barrier.wait()
            ids.append(Ed25519Signer.from_data_dir(data_dir).key_id)

        threads = [threading.Thread(target=start, args=(barrier, data_dir, ids)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(ids)) == 1 and set(ids) == set(load_public_keys(data_dir))
        assert sorted(p.name for p in data_dir.iterdir()) == [
            "audit-signing.pem",
            "audit-signing.pub.pem",
        ]
        assert stat.S_IMODE((data_dir / "audit-signing.pem").stat().st_mode) == 0o600


def test_missing_public_key_is_written_again_from_the_private_key(tmp_path: Path) -> None:
    """A lost public key file comes back on the next start, so new checkpoints stay checkable."""
    first = Ed25519Signer.from_data_dir(tmp_path)
    (tmp_path / "audit-signing.pub.pem").unlink()
    again = Ed25519Signer.from_data_dir(tmp_path)
    assert again.key_id == first.key_id and set(load_public_keys(tmp_path)) == {first.key_id}


async def test_replaced_signing_key_must_be_pinned_on_purpose(tmp_path: Path) -> None:
    """After the private key is lost and a new one made, the store refuses to open (nothing would
    trust its checkpoints) until `tatap audit pin-key` pins the new key with an audit event; then
    the old key's checkpoints and the new key's both verify."""
    from services.errors import ConfigError

    await _fill(tmp_path, 30)
    old_id = Ed25519Signer.from_data_dir(tmp_path).key_id
    (tmp_path / "audit-signing.pem").unlink()
    with pytest.raises(ConfigError, match="not pinned"):
        open_store(tmp_path)
    proc = run_cli(tmp_path, "audit", "pin-key", "--reason", "old key lost with the disk")
    assert proc.returncode == 0, proc.stderr
    new_id = Ed25519Signer.from_data_dir(tmp_path).key_id
    (pin,) = rows(
        tmp_path / "tatap.db",
        "SELECT seq, action, details FROM audit_events WHERE action = 'audit-key-pinned'",
    )
    assert pin[0] == 31 and orjson.loads(pin[2])["key_id"] == new_id
    store = open_store(tmp_path)
    try:
        await store.append([_event(i) for i in range(30, 40)])
    finally:
        await store.aclose()
    assert {r[0] for r in rows(tmp_path / "tatap.db", "SELECT key_id FROM audit_checkpoints")} == {
        old_id,
        new_id,
    }
    code, report = verify(tmp_path)
    assert code == 0 and report["events"] == 41


async def test_a_failing_write_in_a_batch_loses_no_other_write(tmp_path: Path) -> None:
    """Writes refused (a duplicate facility) while many appends share their commit: the refused
    ones fail alone, every other append lands, and the chain has no gap."""
    from services.admin.provision import Admin
    from services.errors import Conflict

    store = open_store(tmp_path)
    try:
        admin = Admin(store)
        await admin.facility("Lapas A", facility_id="f_a")
        jobs = [store.append([_event(i)]) for i in range(200)]
        jobs[50:50] = [admin.facility("Again", facility_id="f_a") for _ in range(5)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
    finally:
        await store.aclose()
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 5 and all(isinstance(r, Conflict) for r in refused)
    db = tmp_path / "tatap.db"
    assert [r[0] for r in rows(db, "SELECT seq FROM audit_events ORDER BY seq")] == list(
        range(1, 202)
    )
    assert rows(db, "SELECT count(*) FROM facilities") == [(1,)]
    assert verify_file(db, tmp_path).ok


@pytest.mark.parametrize("table", ["audit_checkpoints", "audit_events"])
async def test_dropped_audit_table_fails_verification(chain: Path, table: str) -> None:
    """Without its tables the log cannot be shown intact: verify fails and says why."""
    tamper(chain, (f"DROP TABLE {table}", ()))
    code, report = verify(chain.parent)
    assert code != 0 and report["ok"] is False and "unreadable" in report["problem"]
    proc = run_cli(chain.parent, "audit", "verify")
    assert proc.returncode == 1 and proc.stdout.startswith("TAMPERED: audit tables unreadable")


async def test_a_file_that_is_no_database_fails_verification(tmp_path: Path) -> None:
    """A data directory whose tatap.db is not an SQLite file fails verification, no traceback."""
    (tmp_path / "tatap.db").write_bytes(b"not a database" * 100)
    code, report = verify(tmp_path)
    assert code != 0 and "unreadable" in report["problem"]


class _FlakySigner:
    """Signs like the real one, but refuses while ``broken`` is set (a key that cannot be read)."""

    def __init__(self, data_dir: Path) -> None:
        self._real = Ed25519Signer.from_data_dir(data_dir)
        self.key_id = self._real.key_id
        self.public_key = self._real.public_key
        self.broken = True

    def sign(self, seq: int, digest: str) -> object:
        if self.broken:
            raise OSError("signing key unavailable")
        return self._real.sign(seq, digest)


async def test_a_checkpoint_that_cannot_be_signed_fails_the_write_not_the_writer(
    tmp_path: Path,
) -> None:
    """If signing a checkpoint fails, the writes of that batch fail with the error (nothing half
    written); the writer keeps serving, and later writes land once signing works again."""
    from services.store.sqlite.store import SqliteStore

    signer = _FlakySigner(tmp_path)
    store = SqliteStore(tmp_path / "tatap.db", signer, FakeClock().now, tmp_path)  # type: ignore[arg-type]
    try:
        n = CHECKPOINT_EVERY + 50  # enough for the batch to need a checkpoint
        with pytest.raises(OSError, match="signing key"):
            await asyncio.wait_for(store.append([_event(i) for i in range(n)]), 10)
        assert rows(tmp_path / "tatap.db", "SELECT count(*) FROM audit_events") == [(0,)]
        signer.broken = False
        records = await asyncio.wait_for(store.append([_event(i) for i in range(n)]), 10)
        assert [r.seq for r in records] == list(range(1, n + 1))
    finally:
        await asyncio.wait_for(store.aclose(), 10)
    assert verify_file(tmp_path / "tatap.db", tmp_path).ok


async def test_deleting_a_row_and_renumbering_the_rest_names_it(chain: Path) -> None:
    """Row 23 deleted and every later row moved down one number to hide the gap: the row now
    numbered 23 no longer fits, and 23 is named."""
    tamper(
        chain,
        ("DELETE FROM audit_events WHERE seq = 23", ()),
        ("UPDATE audit_events SET seq = -(seq - 1) WHERE seq > 23", ()),
        ("UPDATE audit_events SET seq = -seq WHERE seq < 0", ()),
    )
    assert rows(chain, "SELECT max(seq), count(*) FROM audit_events") == [(39, 39)]
    code, report = verify(chain.parent)
    assert code != 0 and report["first_bad_seq"] == 23
