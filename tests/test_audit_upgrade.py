"""A log written by the writer of before key pinning still verifies after the upgrade, and what
the upgrade relaxes cannot be claimed by hand.

The old database is built as that code left it: schema steps 1 and 2, a chain of events, count
checkpoints 1,050 events apart (the old writer signed at the end of a batch), the first signed by
a key since replaced, whose public half the old code kept as ``audit-signing-<key id>.pub.pem``.
The upgrade is the real store opening the file; verify is the real ``tatap`` command.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.chain import GENESIS, AuditEvent, seal
from services.audit.signing import Ed25519Signer, key_id
from services.store.sqlite.migrations import STEPS
from tests.helpers.audit import open_store, rows, run_cli, tamper, verify

OLD_EVENTS = 2600
OLD_CHECKPOINTS = {1030: "old", 2080: "current", 2600: "current"}


def _write_public(data_dir: Path, key: Ed25519PrivateKey, name: str) -> str:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (data_dir / name.format(kid=key_id(key.public_key()))).write_bytes(pem)
    return key_id(key.public_key())


def _old_database(data_dir: Path) -> dict[str, str]:
    """The old log in ``data_dir``; returns the key ids of the "old" and "current" keys."""
    data_dir.mkdir(parents=True, exist_ok=True)
    current = Ed25519Signer.from_data_dir(data_dir)  # audit-signing.pem and .pub.pem
    old_key = Ed25519PrivateKey.generate()
    old = Ed25519Signer(old_key, _write_public(data_dir, old_key, "audit-signing-{kid}.pub.pem"))
    signers = {"old": old, "current": current}
    conn = sqlite3.connect(data_dir / "tatap.db", isolation_level=None)
    try:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for number, script in enumerate(STEPS[:2], start=1):
            conn.executescript(script)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        conn.execute("BEGIN")
        prev = GENESIS
        for seq in range(1, OLD_EVENTS + 1):
            event = AuditEvent("notice", "officer", "s_1", "f_1", f"v_{seq // 5}", {"n": seq})
            r = seal(event, seq, 1_700_000_000_000 + seq, prev)
            conn.execute(
                "INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    r.seq,
                    r.ts_ms,
                    r.facility_id,
                    r.visit_id,
                    r.actor_role,
                    r.actor_id,
                    r.action,
                    r.details,
                    r.prev_hash,
                    r.hash,
                ),
            )
            prev = r.hash
            if seq in OLD_CHECKPOINTS:
                cp = signers[OLD_CHECKPOINTS[seq]].sign(seq, r.hash)
                conn.execute(
                    "INSERT INTO audit_checkpoints VALUES (?,?,?,?,?)",
                    (cp.seq, cp.hash, cp.key_id, cp.signature, r.ts_ms),
                )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return {name: s.key_id for name, s in signers.items()}


async def _upgrade(data_dir: Path) -> None:
    store = open_store(data_dir)
    await store.aclose()


async def test_an_old_log_verifies_after_the_upgrade(tmp_path: Path) -> None:
    """Gaps of 1,050 events below the upgrade head and a checkpoint by a replaced key: after the
    upgrade, verify passes, with both keys trusted by the auditor's own record."""
    kids = _old_database(tmp_path)
    await _upgrade(tmp_path)
    proc = run_cli(
        tmp_path, "audit", "verify", "--json", "--trust", kids["old"], "--trust", kids["current"]
    )
    report = orjson.loads(proc.stdout)
    assert proc.returncode == 0, report
    assert {k["key_id"] for k in report["pinned_keys"]} == set(kids.values())


async def test_the_upgrade_pins_each_old_key_with_an_upgrade_event(tmp_path: Path) -> None:
    """Each key that signed old checkpoints is pinned by an `audit-key-pinned` event saying
    "upgrade" right after the old head, and a checkpoint covers those events."""
    kids = _old_database(tmp_path)
    await _upgrade(tmp_path)
    db = tmp_path / "tatap.db"
    pins = rows(db, "SELECT seq, details FROM audit_events WHERE action = 'audit-key-pinned'")
    assert [seq for seq, _ in pins] == [OLD_EVENTS + 1, OLD_EVENTS + 2]
    details = [orjson.loads(d) for _, d in pins]
    assert {d["key_id"] for d in details} == set(kids.values())
    assert all(d["reason"] == "upgrade" and d["legacy_head"] == OLD_EVENTS for d in details)
    assert rows(db, "SELECT max(seq) FROM audit_checkpoints") == [(OLD_EVENTS + 2,)]


async def test_a_key_file_that_signed_nothing_is_not_pinned_at_upgrade(tmp_path: Path) -> None:
    """A public key dropped into the data directory before the upgrade, which verifies no old
    checkpoint, is not pinned."""
    kids = _old_database(tmp_path)
    stray = _write_public(tmp_path, Ed25519PrivateKey.generate(), "audit-signing-{kid}.pub.pem")
    await _upgrade(tmp_path)
    pinned = {r[0] for r in rows(tmp_path / "tatap.db", "SELECT key_id FROM audit_keys")}
    assert pinned == set(kids.values()) and stray not in pinned


async def test_an_upgrade_head_recorded_by_hand_fails(tmp_path: Path) -> None:
    """On a log begun with pinned keys, an insider records an upgrade head to escape the cadence
    check: no upgrade event follows it, so verify names the seq after it."""
    store = open_store(tmp_path)
    await store.append([AuditEvent("notice", "officer", "s_1") for _ in range(20)])
    await store.aclose()
    tamper(tmp_path / "tatap.db", ("INSERT INTO audit_legacy VALUES (10)", ()))
    code, report = verify(tmp_path)
    assert code == 1 and report["first_bad_seq"] == 11 and "by hand" in report["problem"]


async def test_a_malformed_key_file_is_skipped_loudly_at_upgrade(tmp_path: Path) -> None:
    """A damaged `*.pub.pem` in the data directory (and a damaged `audit-signing.pub.pem`) does
    not keep the node from starting after the upgrade: each is skipped with a warning naming it,
    and the keys that signed the old log are pinned as ever."""
    from structlog.testing import capture_logs

    kids = _old_database(tmp_path)
    (tmp_path / "audit-signing-broken.pub.pem").write_bytes(b"-----BEGIN PUBLIC KEY-----\nxx\n")
    (tmp_path / "audit-signing.pub.pem").write_bytes(b"not a pem at all")
    with capture_logs() as logs:
        await _upgrade(tmp_path)
    warned = {e["path"] for e in logs if e["event"] == "audit.public_key_file_unreadable"}
    assert {Path(p).name for p in warned} >= {"audit-signing-broken.pub.pem"}
    pinned = {r[0] for r in rows(tmp_path / "tatap.db", "SELECT key_id FROM audit_keys")}
    assert pinned == set(kids.values())
