"""An insider with write access to the data directory doctors the audit log; offline
``tatap audit verify`` must exit non-zero and name the seq.

Each test works on a real database file written by the real store (checkpoints at 1000, 2000 and,
at shutdown, 2500), changed with sqlite3 directly after dropping every append-only trigger, as
such an insider would. What local checks cannot catch (a cut exactly at a checkpoint, a rewrite
re-signed with a pinned key) is in ``test_witness.py``.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.chain import CHECKPOINT_EVERY, AuditEvent
from services.audit.signing import key_id
from services.clock import FakeClock
from tests.helpers.audit import (
    EVENT_COLUMNS,
    chained,
    checkpoint_seqs,
    fill,
    open_store,
    rehash_from,
    resign,
    rows,
    run_cli,
    tamper,
    verify,
)

EVENTS = 2500


def _event(i: int) -> AuditEvent:
    return AuditEvent(
        "notice", "officer", f"s_{i % 7}", "f_1", f"v_{i // 5}", {"n": i}, ts=1_800_000_000 + i
    )


async def _fill(data_dir: Path, count: int, batch: int = 50) -> Path:
    return await fill(data_dir, count, _event, batch)


@pytest.fixture
async def log(tmp_path: Path) -> Path:
    """A clean log of 2,500 events; returns the database path."""
    return await _fill(tmp_path, EVENTS)


async def test_clean_log_has_checkpoints_at_the_promised_cadence(log: Path) -> None:
    """The writer signs every 1,000 events and at shutdown; the untouched log verifies."""
    assert checkpoint_seqs(log) == [1000, 2000, 2500]
    code, report = verify(log.parent)
    assert code == 0 and report["events"] == EVENTS and report["unsigned_from"] is None


async def test_one_large_append_still_gets_a_checkpoint_per_thousand(tmp_path: Path) -> None:
    """A single write of 2,500 events is signed at 1,000 and 2,000 inside it (and at 2,500 at
    shutdown): no run of more than 1,000 events goes unsigned."""
    db = await _fill(tmp_path, EVENTS, batch=EVENTS)
    assert checkpoint_seqs(db) == [1000, 2000, 2500]


async def test_checkpoints_and_pinned_keys_refuse_update_and_delete(log: Path) -> None:
    """Through SQL, checkpoints and pinned keys are append-only like the events."""
    conn = sqlite3.connect(log)
    try:
        for sql in (
            "UPDATE audit_checkpoints SET hash = '' WHERE seq = 1000",
            "DELETE FROM audit_checkpoints WHERE seq = 2500",
            "UPDATE audit_keys SET pinned_seq = 5",
            "DELETE FROM audit_keys",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(sql)
    finally:
        conn.close()


async def test_cutting_the_tail_with_its_checkpoints_names_the_unsigned_events(log: Path) -> None:
    """Attack 1: events after 2,300 and the checkpoint above them deleted. What is left is a valid
    chain, but events 2001-2300 follow the last checkpoint: verify names 2001."""
    tamper(
        log,
        ("DELETE FROM audit_events WHERE seq > 2300", ()),
        ("DELETE FROM audit_checkpoints WHERE seq > 2300", ()),
    )
    code, report = verify(log.parent)
    assert code != 0 and report["first_bad_seq"] == 2001
    assert "events 2001-2300 follow the last signed checkpoint" in report["problem"]


async def test_rewrite_with_later_checkpoints_deleted_names_the_unsigned_run(log: Path) -> None:
    """Attack 2: event 1,500 rewritten, every later hash recomputed, the checkpoints that no
    longer match (2,000 and 2,500) deleted. Nothing vouches for 1,001 on: verify names 1001."""
    tamper(
        log,
        *rehash_from(log, 1500, '{"n":0}'),
        ("DELETE FROM audit_checkpoints WHERE seq > 1500", ()),
    )
    code, report = verify(log.parent)
    assert code != 0 and report["first_bad_seq"] == 1001
    assert "events 1001-2500" in report["problem"]


async def test_a_deleted_middle_checkpoint_breaks_the_cadence(log: Path) -> None:
    """Checkpoint 2,000 deleted (the rows untouched): 1,500 events between two checkpoints is
    more than the writer ever leaves, so verify fails and names 1001."""
    tamper(log, ("DELETE FROM audit_checkpoints WHERE seq = 2000", ()))
    code, report = verify(log.parent)
    assert code != 0 and report["first_bad_seq"] == 1001
    assert f"at least every {CHECKPOINT_EVERY}" in report["problem"]


def _attacker_key(data_dir: Path) -> Ed25519PrivateKey:
    """A key of the attacker's, its public half dropped into the data directory."""
    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (data_dir / f"audit-signing-{key_id(key.public_key())}.pub.pem").write_bytes(pem)
    return key


async def test_resigning_with_a_key_dropped_into_the_data_dir_fails(log: Path) -> None:
    """Attack 3: event 17 rewritten, the chain rehashed, every checkpoint re-signed with a new
    key whose public half now sits in the data directory. Verify trusts only pinned keys: the
    first checkpoint (1000) is named."""
    key = _attacker_key(log.parent)
    tamper(log, *rehash_from(log, 17, '{"n":0}'))
    tamper(log, *resign(log, key))
    code, report = verify(log.parent)
    assert code != 0 and report["first_bad_seq"] == 1000 and "not pinned" in report["problem"]


@pytest.mark.parametrize(("pinned_seq", "named"), [(0, 0), (17, 17)])
async def test_pinning_the_new_key_by_hand_fails_without_its_event(
    log: Path, pinned_seq: int, named: int
) -> None:
    """Attack 3, going further: the attacker also writes the new key into the pinned list, as the
    log's first key (a second first key) or as pinned at an event that does not pin it."""
    key = _attacker_key(log.parent)
    tamper(log, *rehash_from(log, 17, '{"n":0}'))
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    tamper(
        log,
        *resign(log, key),
        (
            "INSERT INTO audit_keys VALUES (?,?,?,0)",
            (key_id(key.public_key()), raw.hex(), pinned_seq),
        ),
    )
    code, report = verify(log.parent)
    assert code != 0 and report["first_bad_seq"] == named and "pinned" in report["problem"]


async def test_a_forged_event_after_the_last_checkpoint_is_named(log: Path) -> None:
    """Attack 4: an event appended after the last checkpoint, chained correctly to the head. No
    checkpoint covers it (a stopped node signs its head): verify names 2501."""
    (head,) = rows(log, "SELECT hash FROM audit_events WHERE seq = ?", (EVENTS,))
    fields = [EVENTS + 1, 1_800_000_000_000, "f_1", "v_1", "officer", "s_1", "notice", "{}"]
    digest = chained(head[0], fields)
    tamper(
        log,
        (
            f"INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (*fields, head[0], digest),
        ),
    )
    code, report = verify(log.parent)
    assert code != 0 and report["first_bad_seq"] == EVENTS + 1
    assert f"events {EVENTS + 1}-{EVENTS + 1} follow" in report["problem"]


async def test_live_verify_reports_the_unsigned_tail_of_a_running_node(log: Path) -> None:
    """While a node runs, its newest events wait (at most 10 s or 1,000 events) for a checkpoint:
    `verify --live` reports where the unsigned run starts and passes; plain verify fails on it."""
    store = open_store(log.parent, FakeClock(time.time()))
    try:
        await store.append([AuditEvent("notice", "officer", "s_1") for _ in range(5)])
        code, report = verify(log.parent)
        assert code != 0 and report["first_bad_seq"] == EVENTS + 1
        proc = run_cli(log.parent, "audit", "verify", "--json", "--live")
        report = orjson.loads(proc.stdout)
        assert proc.returncode == 0 and report["ok"] and report["unsigned_from"] == EVENTS + 1
    finally:
        await store.aclose()


async def test_pinning_a_key_twice_or_without_a_database_is_refused(
    log: Path, tmp_path: Path
) -> None:
    """`tatap audit pin-key` for the key already pinned is a clear error and adds no event; with
    no database it says so and creates none."""
    proc = run_cli(log.parent, "audit", "pin-key", "--reason", "again")
    assert proc.returncode == 1 and "pinned already" in proc.stderr
    assert rows(log, "SELECT count(*) FROM audit_events") == [(EVENTS,)]
    proc = run_cli(tmp_path / "none", "audit", "pin-key", "--reason", "x")
    assert proc.returncode == 1 and "no database" in proc.stderr
    assert not (tmp_path / "none" / "tatap.db").exists()


async def test_a_key_pinned_today_cannot_vouch_for_older_checkpoints(log: Path) -> None:
    """An insider replaces the signing key and pins it the official way (event 2501), then
    rewrites event 17 and re-signs every older checkpoint with it: the new key counts only from
    its pinning event on, so checkpoint 1000 is named."""
    (log.parent / "audit-signing.pem").unlink()
    proc = run_cli(log.parent, "audit", "pin-key", "--reason", "cover-up")
    assert proc.returncode == 0 and orjson.loads(proc.stdout)["seq"] == EVENTS + 1
    pem = (log.parent / "audit-signing.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    tamper(log, *rehash_from(log, 17, '{"n":0}'))
    tamper(log, *resign(log, key))
    code, report = verify(log.parent)
    assert code != 0 and report["first_bad_seq"] == 1000
    assert f"pinned only at seq {EVENTS + 1}" in report["problem"]


def _replace_first_key(db: Path) -> Ed25519PrivateKey:
    """The whole insider attack on a log with one key: empty the pinned list, pin an own key as
    the log's first, rewrite event 17, rehash to the end, re-sign every checkpoint."""
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    tamper(
        db,
        ("DELETE FROM audit_keys", ()),
        ("INSERT INTO audit_keys VALUES (?,?,0,0)", (key_id(key.public_key()), raw.hex())),
        *rehash_from(db, 17, '{"n":0}'),
    )
    tamper(db, *resign(db, key))
    return key


def _first_key(db: Path) -> str:
    ((kid,),) = rows(db, "SELECT key_id FROM audit_keys WHERE pinned_seq = 0")
    return str(kid)


async def test_a_replaced_first_key_is_refused_by_the_auditors_own_key_id(log: Path) -> None:
    """The file's own key list proves nothing once replaced: with the node's key id kept by the
    auditor (`--trust KEYID`), verify fails and names the key the file now pins."""
    kid = _first_key(log)
    forged = key_id(_replace_first_key(log).public_key())
    proc = run_cli(log.parent, "audit", "verify", "--json", "--trust", kid)
    report = orjson.loads(proc.stdout)
    assert proc.returncode == 1 and report["first_bad_seq"] == 0
    assert f"pinned key {forged}" in report["problem"] and "--trust" in report["problem"]


async def test_a_replaced_first_key_is_refused_by_the_auditors_own_key_file(
    log: Path, tmp_path: Path
) -> None:
    """`--trust KEYFILE`: the node's public key PEM, copied away at set-up, works as its id."""
    saved = tmp_path / "kept-elsewhere.pub.pem"
    saved.write_bytes((log.parent / "audit-signing.pub.pem").read_bytes())
    _replace_first_key(log)
    proc = run_cli(log.parent, "audit", "verify", "--trust", str(saved))
    assert proc.returncode == 1 and "TAMPERED: first bad row seq=0: pinned key" in proc.stdout


async def test_a_replaced_first_key_is_refused_by_a_witness_trust(
    log: Path, tmp_path: Path
) -> None:
    """`--witness FILE`: every pinned key must be one the witness's operator trusts."""
    raw = _first_key_public_hex(log)
    store = tmp_path / "heads.jsonl"
    store.write_text(orjson.dumps({"type": "key", "public_key": raw, "ts_ms": 0}).decode() + "\n")
    _replace_first_key(log)
    proc = run_cli(log.parent, "audit", "verify", "--json", "--witness", str(store))
    report = orjson.loads(proc.stdout)
    assert proc.returncode == 1 and report["first_bad_seq"] == 0
    assert f"witness {store} trusts" in report["problem"]


def _first_key_public_hex(db: Path) -> str:
    ((raw,),) = rows(db, "SELECT public_key FROM audit_keys WHERE pinned_seq = 0")
    return str(raw)


def _forge_under_the_real_id(db: Path) -> str:
    """The attack on the key list without the signing key: keep the pinned row's honest key_id,
    put an own public key in it, rewrite event 17, rehash, and re-sign every checkpoint with the
    own key labelled with the honest id. Returns that id."""
    kid = _first_key(db)
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    tamper(
        db,
        ("UPDATE audit_keys SET public_key = ? WHERE key_id = ?", (raw.hex(), kid)),
        *rehash_from(db, 17, '{"n":0}'),
    )
    tamper(db, *resign(db, key, kid))
    return kid


def _assert_forged_row_named(proc_stdout: str, kid: str) -> None:
    report = orjson.loads(proc_stdout)
    assert report["ok"] is False and report["first_bad_seq"] == 0
    assert f"pinned key row {kid} (pinned at seq 0) holds the public key of" in report["problem"]


async def test_a_forged_key_under_the_real_id_fails_trust_by_id(log: Path) -> None:
    """`--trust KEYID` matches the id derived from the pinned public key, not the id column: a
    forged key stored under the honest id, with every checkpoint re-signed, fails verify."""
    kid = _forge_under_the_real_id(log)
    proc = run_cli(log.parent, "audit", "verify", "--json", "--trust", kid)
    assert proc.returncode == 1
    _assert_forged_row_named(proc.stdout, kid)


async def test_a_forged_key_under_the_real_id_fails_trust_by_key_file(
    log: Path, tmp_path: Path
) -> None:
    """`--trust KEYFILE` is the key itself, not reduced to its id: the forged key fails."""
    saved = tmp_path / "kept-elsewhere.pub.pem"
    saved.write_bytes((log.parent / "audit-signing.pub.pem").read_bytes())
    kid = _forge_under_the_real_id(log)
    proc = run_cli(log.parent, "audit", "verify", "--json", "--trust", str(saved))
    assert proc.returncode == 1
    _assert_forged_row_named(proc.stdout, kid)


async def test_a_forged_key_under_the_real_id_fails_a_witness(log: Path, tmp_path: Path) -> None:
    """`--witness FILE` compares the witness's public keys with the pinned ones: the forged key
    under the honest id fails."""
    store = tmp_path / "heads.jsonl"
    store.write_text(
        orjson.dumps({"type": "key", "public_key": _first_key_public_hex(log), "ts_ms": 0}).decode()
        + "\n"
    )
    kid = _forge_under_the_real_id(log)
    proc = run_cli(log.parent, "audit", "verify", "--json", "--witness", str(store))
    assert proc.returncode == 1
    _assert_forged_row_named(proc.stdout, kid)


async def test_a_forged_key_under_the_real_id_fails_even_without_an_anchor(log: Path) -> None:
    """A row whose id is not its key's id is tampering in itself: plain verify names it."""
    kid = _forge_under_the_real_id(log)
    code, report = verify(log.parent)
    assert code == 1 and report["first_bad_seq"] == 0 and f"row {kid}" in report["problem"]


async def test_without_an_anchor_verify_shows_the_pinned_keys_and_says_it_could_not_check(
    log: Path,
) -> None:
    """A replaced first key passes every check inside the file, so plain verify cannot fail on
    it: it prints the ids the file pins and says they were not checked, for the auditor to
    compare with their own record."""
    forged = key_id(_replace_first_key(log).public_key())
    proc = run_cli(log.parent, "audit", "verify")
    assert proc.returncode == 0 and f"  {forged}  0" in proc.stdout
    assert "NOT CHECKED" in proc.stdout
    code, report = verify(log.parent)
    assert report["pinned_keys"] == [{"key_id": forged, "pinned_seq": 0}]
    assert report["anchor"] is None


async def test_an_intact_log_passes_with_its_key_trusted(log: Path) -> None:
    """The node's own key id as the anchor: the untouched log verifies and says who vouched."""
    proc = run_cli(log.parent, "audit", "verify", "--trust", _first_key(log))
    assert proc.returncode == 0 and "trusted by: --trust" in proc.stdout


async def test_a_trust_value_that_is_neither_id_nor_file_is_a_clear_error(log: Path) -> None:
    """A mistyped `--trust` is refused in one line, not taken as trusting nothing."""
    proc = run_cli(log.parent, "audit", "verify", "--trust", "not-a-key")
    assert proc.returncode == 1 and "neither a key id" in proc.stderr and not proc.stdout


def _bogus_checkpoint(db: Path, seq: int) -> None:
    """One checkpoint row inserted by hand (inserts pass the triggers), signed by nobody."""
    tamper(
        db,
        (
            "INSERT INTO audit_checkpoints VALUES (?,?,?,?,0)",
            (seq, "ab" * 32, "0123456789abcdef", "cd" * 64),
        ),
    )


async def test_a_checkpoint_inserted_far_beyond_the_head_does_not_stop_signing(log: Path) -> None:
    """One row at seq 10^9 used to pass for the signed position, so the node never signed
    again. The writer now signs at its cadence as before (3500, and 3700 at shutdown) and logs
    the bogus row loudly."""
    from structlog.testing import capture_logs

    _bogus_checkpoint(log, 10**9)
    with capture_logs() as logs:
        await _fill(log.parent, 1200)
    assert checkpoint_seqs(log) == [1000, 2000, 2500, 3500, 3700, 10**9]
    assert any(e["event"] == "audit.checkpoint_bogus" and e["seq"] == 10**9 for e in logs)
    code, report = verify(log.parent)
    assert code != 0 and "checkpoint at 1000000000" in report["problem"]


async def test_a_checkpoint_inserted_at_the_next_seq_is_logged_and_signing_goes_on(
    log: Path,
) -> None:
    """A bogus row at head+1 takes the seq the shutdown checkpoint needs: the writer sees the
    row is not its own, logs it and does not count it as signed, so the next start records the
    unsigned event (`audit-unsigned-tail`) and signs that; verify names the bogus row."""
    from structlog.testing import capture_logs

    _bogus_checkpoint(log, EVENTS + 1)
    with capture_logs() as logs:
        await _fill(log.parent, 1)
        await _fill(log.parent, 1)
    assert any(e["event"] == "audit.checkpoint_bogus" and e["seq"] == EVENTS + 1 for e in logs)
    assert checkpoint_seqs(log)[-3:] == [EVENTS + 1, EVENTS + 2, EVENTS + 3]
    assert rows(log, "SELECT action FROM audit_events WHERE seq = ?", (EVENTS + 2,)) == [
        ("audit-unsigned-tail",)
    ]
    code, report = verify(log.parent)
    assert code != 0 and report["first_bad_seq"] == EVENTS + 1


async def test_a_node_refuses_to_sign_for_a_forged_key_under_its_own_id(log: Path) -> None:
    """The node compares its public key with the pinned ones, not its id with the id column: a
    row holding another key under the node's id does not let it start and sign on top."""
    from services.errors import ConfigError

    _forge_under_the_real_id(log)
    with pytest.raises(ConfigError, match="not pinned"):
        open_store(log.parent)


async def test_a_bogus_checkpoint_above_the_head_is_logged_once_not_per_commit(
    log: Path,
) -> None:
    """The signed position is read when the node starts and then kept: forty commits over a row
    inserted far above the head give one `audit.checkpoint_bogus` line, not forty."""
    from structlog.testing import capture_logs

    _bogus_checkpoint(log, 10**9)
    with capture_logs() as logs:
        await _fill(log.parent, 40, batch=1)
    bogus = [e for e in logs if e["event"] == "audit.checkpoint_bogus" and e["seq"] == 10**9]
    assert len(bogus) == 1


async def test_the_signed_position_is_not_reread_on_every_commit(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the signed position reloads the pinned keys and verifies signatures; a running
    writer does it once, not once per batch: forty commits, one read at store open and one
    when the writer starts."""
    from services.store.sqlite import chain_head

    calls: list[int] = []
    real = chain_head.signed_position

    def counted(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(chain_head, "signed_position", counted)
    await _fill(log.parent, 40, batch=1)
    assert len(calls) <= 2
