"""The public keys audit verification trusts: a list pinned in the database, changed on purpose.

A stray ``*.pub.pem`` in the data directory is trusted by nobody. The log's first signing key is
pinned when the store first opens the database (``pinned_seq`` 0); any later key only by
``tatap audit pin-key``, which appends an ``audit-key-pinned`` event naming the key, and the key is
trusted for checkpoints from that event on: a key pinned today cannot vouch for yesterday's log.
A node whose signing key is not pinned refuses to start rather than sign what nobody would trust.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

import orjson

from services.audit.chain import AuditEvent, PinnedKey
from services.audit.signing import Signer, key_id, public_from_hex, public_hex
from services.errors import ConfigError

PIN_ACTION = "audit-key-pinned"


def load_pinned(conn: sqlite3.Connection) -> dict[str, PinnedKey]:
    """The pinned keys of a SQLite log (see ``pinned_from_rows``)."""
    return pinned_from_rows(conn.execute("SELECT key_id, public_key, pinned_seq FROM audit_keys"))


def pinned_from_rows(rows: Iterable[tuple[str, str, int]]) -> dict[str, PinnedKey]:
    """The pinned keys from ``audit_keys`` rows (key_id, public_key, pinned_seq) of any backend,
    by the id derived from each key, never by the row's ``key_id`` label: a forged key stored
    under an honest id must not pass for it (``key_row_problem`` names such a row). A row that
    is no Ed25519 key is left out (its checkpoints fail)."""
    keys: dict[str, PinnedKey] = {}
    for _label, text, seq in rows:
        try:
            public = public_from_hex(text)
        except ValueError:
            continue
        kid = key_id(public)
        keys[kid] = PinnedKey(kid, public, int(seq))
    return keys


def key_row_problem(conn: sqlite3.Connection) -> tuple[int, str] | None:
    """The first forged pinned row of a SQLite log (see ``key_rows_problem``)."""
    sql = "SELECT key_id, public_key, pinned_seq FROM audit_keys ORDER BY pinned_seq, key_id"
    return key_rows_problem(conn.execute(sql))


def key_rows_problem(rows: Iterable[tuple[str, str, int]]) -> tuple[int, str] | None:
    """The first of ``audit_keys`` rows (in pinned_seq, key_id order) whose ``key_id`` is not
    the id of its own public key: (its pinned_seq, why), else None. Nobody writes such a row but
    a hand replacing a key."""
    for label, text, seq in rows:
        try:
            real = key_id(public_from_hex(text))
        except ValueError:
            continue
        if real != label:
            return seq, (
                f"pinned key row {label} (pinned at seq {seq}) holds the public key of {real}:"
                " the key list was changed by hand"
            )
    return None


def trust_first_key(conn: sqlite3.Connection, signer: Signer, now_ms: int) -> None:
    """Pin the signer's key if the log has none yet; refuse a signer that is not pinned.

    The public keys are compared, not their ids: the id column is only a label."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        pinned = {row[0] for row in conn.execute("SELECT public_key FROM audit_keys")}
        if not pinned:
            conn.execute(
                "INSERT INTO audit_keys (key_id, public_key, pinned_seq, ts_ms) VALUES (?,?,0,?)",
                (signer.key_id, public_hex(signer.public_key), now_ms),
            )
        else:
            problem = pin_first_key_problem(pinned, signer)
            if problem is not None:
                raise problem
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def pin_first_key_problem(pinned: set[str], signer: Signer) -> ConfigError | None:
    """Why a node may not sign with ``signer`` when the log pins the public keys ``pinned``
    (hex): its key is not one of them (an empty log pins it first, so that is no problem)."""
    if pinned and public_hex(signer.public_key) not in pinned:
        return ConfigError(
            f"the audit signing key {signer.key_id} is not pinned; if it replaces a lost key"
            " on purpose, pin it with `tatap audit pin-key`"
        )
    return None


def pin_event(signer: Signer, actor_id: str, reason: str) -> AuditEvent:
    return AuditEvent(
        PIN_ACTION,
        "admin",
        actor_id,
        details={
            "key_id": signer.key_id,
            "public_key": public_hex(signer.public_key),
            "reason": reason,
        },
    )


def insert_pin(conn: sqlite3.Connection, signer: Signer, seq: int, now_ms: int) -> None:
    conn.execute(
        "INSERT INTO audit_keys (key_id, public_key, pinned_seq, ts_ms) VALUES (?,?,?,?)",
        (signer.key_id, public_hex(signer.public_key), seq, now_ms),
    )


def pin_problem(
    keys: dict[str, PinnedKey], event_at: Callable[[int], tuple[str, str] | None]
) -> tuple[int, str] | None:
    """A pinned key without its pinning event in the (verified) chain: (seq, why), else None.

    ``event_at(seq)`` gives that row's action and details. Only the log's first key may be
    pinned without an event.
    """
    first = [k for k in keys.values() if k.pinned_seq == 0]
    if len(first) > 1:
        return 0, f"{len(first)} keys pinned without an audit event; only the first key may be"
    for key in sorted(keys.values(), key=lambda k: k.pinned_seq):
        if key.pinned_seq == 0:
            continue
        row = event_at(key.pinned_seq)
        details = orjson.loads(row[1]) if row and row[0] == PIN_ACTION else {}
        if details.get("key_id") != key.key_id or details.get("public_key") != public_hex(
            key.public_key
        ):
            return key.pinned_seq, f"key {key.key_id} is pinned without its audit event"
    return None
