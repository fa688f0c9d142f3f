"""Logs begun before keys were pinned: their keys are pinned once, at upgrade, and said so.

Such a log has checkpoints signed by keys nobody pinned (the writer of those days trusted any
``*.pub.pem`` in the data directory, and a replaced key's public half was kept there as
``audit-signing-<key id>.pub.pem``), at gaps of up to 1,000 events plus one batch. Migration 5
records the head at upgrade (``audit_legacy``). On the first start after it, the store pins every
key whose public file is there at that moment and verifies each existing checkpoint it signed
(plus the node's own key), each with an ``audit-key-pinned`` event whose reason is "upgrade",
and signs a checkpoint over them. Verification then trusts those keys for the old checkpoints
too and holds events up to the recorded head to no cadence; a recorded head that no upgrade
event follows fails.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.audit.chain import AuditEvent, Checkpoint, PinnedKey, signature_problem
from services.audit.keys import PIN_ACTION
from services.audit.signing import Signer, load_public_keys, public_hex
from services.ids import SYSTEM_ROLE
from services.store.sqlite.chain_head import Chain

UPGRADE = "upgrade"


def legacy_head(conn: sqlite3.Connection) -> int:
    """The head recorded at upgrade; 0 for a log begun with pinned keys (or not yet migrated)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit_legacy'").fetchone() is None:
        return 0
    row = conn.execute("SELECT max(head_seq) FROM audit_legacy").fetchone()
    return int(row[0] or 0)


def pin_legacy_keys(
    conn: sqlite3.Connection, data_dir: Path, signer: Signer, now: Callable[[], float]
) -> None:
    """At the first start after the upgrade, pin the keys that signed the old log (see above)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        head = legacy_head(conn)
        if head and conn.execute("SELECT 1 FROM audit_keys").fetchone() is None:
            _pin(conn, head, _old_signers(conn, data_dir, signer), signer, now)
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _old_signers(
    conn: sqlite3.Connection, data_dir: Path, signer: Signer
) -> dict[str, Ed25519PublicKey]:
    """Keys with a public file here that verify every old checkpoint bearing their id, and the
    node's own key (which signs from now on)."""
    found = load_public_keys(data_dir)
    cps = [
        Checkpoint(*r)
        for r in conn.execute(
            "SELECT seq, hash, key_id, signature FROM audit_checkpoints ORDER BY seq"
        )
    ]
    keys = {}
    for kid in sorted({cp.key_id for cp in cps} & found.keys()):
        trial = {kid: PinnedKey(kid, found[kid], 0)}
        if all(not signature_problem(cp, trial) for cp in cps if cp.key_id == kid):
            keys[kid] = found[kid]
    keys.setdefault(signer.key_id, signer.public_key)
    return keys


def _pin(
    conn: sqlite3.Connection,
    head: int,
    keys: dict[str, Ed25519PublicKey],
    signer: Signer,
    now: Callable[[], float],
) -> None:
    digest = conn.execute("SELECT hash FROM audit_events WHERE seq = ?", (head,)).fetchone()[0]
    # Signed position at the head: the pins and their checkpoint follow in this transaction.
    chain = Chain(head, digest, now, signer, head)
    events = [
        AuditEvent(
            PIN_ACTION,
            SYSTEM_ROLE,
            UPGRADE,
            details={
                "key_id": kid,
                "public_key": public_hex(public),
                "reason": UPGRADE,
                "legacy_head": head,
            },
        )
        for kid, public in keys.items()
    ]
    ts_ms = int(now() * 1000)
    for record, (kid, public) in zip(chain.append(conn, events), keys.items(), strict=True):
        conn.execute(
            "INSERT INTO audit_keys (key_id, public_key, pinned_seq, ts_ms) VALUES (?,?,?,?)",
            (kid, public_hex(public), record.seq, ts_ms),
        )
    chain.checkpoint(conn)


def _upgrade_pin(head: int, row: tuple[str, str] | None) -> dict[str, object] | None:
    """The details of an upgrade pinning event for ``head``, or None if the row is not one."""
    if row is None or row[0] != PIN_ACTION:
        return None
    details = orjson.loads(row[1])
    ok = details.get("reason") == UPGRADE and details.get("legacy_head") == head
    return details if ok else None


def trust_legacy(
    keys: dict[str, PinnedKey], head: int, event_at: Callable[[int], tuple[str, str] | None]
) -> dict[str, PinnedKey]:
    """``keys`` with those pinned at upgrade trusted from the log's start (their events are
    checked with the chain, by ``legacy_problem`` and ``pin_problem``)."""
    if not head:
        return keys
    return {
        kid: replace(key, pinned_seq=0)
        if key.pinned_seq > head and _upgrade_pin(head, event_at(key.pinned_seq))
        else key
        for kid, key in keys.items()
    }


def legacy_problem(
    head: int, event_at: Callable[[int], tuple[str, str] | None]
) -> tuple[int, str] | None:
    """A recorded upgrade head that no upgrade pinning event follows: (seq, why), else None."""
    if head and _upgrade_pin(head, event_at(head + 1)) is None:
        return head + 1, (
            f"the log says it was upgraded at seq {head}, but no upgrade pinning event follows:"
            " the record of the upgrade was added by hand"
        )
    return None
