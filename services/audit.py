"""The audit log's rules: what an event is, how the hash chain is built, and how it is checked.

Each event is hashed with the one before it: ``hash = SHA-256(prev_hash ‖ canonical event)``, the
canonical event being compact JSON of its fields in a fixed order. Editing a row changes its hash;
deleting or reordering rows breaks the next row's ``prev_hash``; cutting rows off the end is caught by
signed checkpoints (Ed25519 over ``seq ‖ hash``) written as the log grows. Storage lives in the stores;
this module has no I/O of its own but the signing key file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.files import create_secret_file

GENESIS = "0" * 64
CHECKPOINT_EVERY = (
    1000  # events between signed checkpoints (and one at least every 10 s, and at shutdown)
)

# Every action the log knows; an append with another action is a bug.
ACTIONS = frozenset(
    {
        "requested", "approved", "rejected", "scheduled", "cancelled", "joined", "left", "connected",
        "warned", "reconnected", "monitor-joined", "terminated", "ended", "recording-stored",
        "survey", "notice", "token-revoked", "facility-created", "room-created", "terminal-created",
        "staff-created", "inmates-imported", "participant-revoked", "staff-disabled",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing that happened, before it has a place in the chain."""

    action: str
    actor_role: str
    actor_id: str
    facility_id: str = ""
    visit_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    ts: float | None = None  # epoch seconds; the store fills in the time of writing when None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One stored row of the chain."""

    seq: int
    ts_ms: int
    facility_id: str
    visit_id: str
    actor_role: str
    actor_id: str
    action: str
    details: str  # canonical JSON text, PII already masked
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts_ms": self.ts_ms,
            "facility_id": self.facility_id,
            "visit_id": self.visit_id,
            "actor": {"role": self.actor_role, "id": self.actor_id},
            "action": self.action,
            "details": orjson.loads(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def canonical_details(details: dict[str, Any]) -> str:
    return orjson.dumps(details, option=orjson.OPT_SORT_KEYS).decode()


def chain_hash(
    prev_hash: str,
    seq: int,
    ts_ms: int,
    facility_id: str,
    visit_id: str,
    actor_role: str,
    actor_id: str,
    action: str,
    details: str,
) -> str:
    canonical = orjson.dumps(
        [seq, ts_ms, facility_id, visit_id, actor_role, actor_id, action, details]
    )
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical).hexdigest()


def seal(event: AuditEvent, seq: int, ts_ms: int, prev_hash: str) -> AuditRecord:
    """Give an event its place in the chain."""
    details = canonical_details(event.details)
    digest = chain_hash(
        prev_hash, seq, ts_ms, event.facility_id, event.visit_id, event.actor_role,
        event.actor_id, event.action, details,
    )  # fmt: skip
    return AuditRecord(
        seq, ts_ms, event.facility_id, event.visit_id, event.actor_role, event.actor_id,
        event.action, details, prev_hash, digest,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    key_id: str
    signature: str  # hex


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    events: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


# (seq, prev_hash, hash, canonical event bytes): one row as the chain walk needs it.
ChainRow = tuple[int, str, str, bytes]


def verify_chain(
    rows: Iterable[ChainRow],
    checkpoints: Iterable[Checkpoint],
    public_keys: dict[str, Ed25519PublicKey],
    recheck: Callable[[int], bytes] | None = None,
) -> VerifyResult:
    """The chain walk over rows whose canonical event is already built (by the database, for
    speed). A row that does not match is rebuilt with ``recheck`` (from its columns, here in
    Python) before it is called bad, so a formatting difference can never pass for tampering."""
    cps = {cp.seq: cp for cp in checkpoints}
    prev = GENESIS
    expected_seq = 1
    count = 0
    sha256 = hashlib.sha256
    fromhex = bytes.fromhex
    for seq, prev_hash, digest, canonical in rows:
        if seq != expected_seq:
            return VerifyResult(False, count, len(cps), expected_seq, "row missing or out of order")
        if prev_hash != prev:
            return VerifyResult(False, count, len(cps), seq, "prev_hash does not match")
        if sha256(fromhex(prev) + canonical).hexdigest() != digest and (
            recheck is None or sha256(fromhex(prev) + recheck(seq)).hexdigest() != digest
        ):
            return VerifyResult(False, count, len(cps), seq, "hash does not match the row")
        cp = cps.get(seq)
        if cp is not None and cp.hash != digest:
            return VerifyResult(False, count, len(cps), seq, "row differs from signed checkpoint")
        prev = digest
        expected_seq += 1
        count += 1
    for cp in cps.values():
        if not _signature_ok(cp, public_keys):
            return VerifyResult(False, count, len(cps), cp.seq, "checkpoint signature invalid")
        if cp.seq > count:
            return VerifyResult(
                False, count, len(cps), count + 1, f"log truncated: checkpoint at {cp.seq}"
            )
    return VerifyResult(True, count, len(cps))


def checkpoint_message(seq: int, digest: str) -> bytes:
    return f"tatap-audit-checkpoint:{seq}:{digest}".encode()


def _signature_ok(cp: Checkpoint, keys: dict[str, Ed25519PublicKey]) -> bool:
    key = keys.get(cp.key_id)
    if key is None:
        return False
    try:
        key.verify(bytes.fromhex(cp.signature), checkpoint_message(cp.seq, cp.hash))
    except (InvalidSignature, ValueError):
        return False
    return True


class Signer(Protocol):
    key_id: str

    def sign(self, seq: int, digest: str) -> Checkpoint: ...


class Ed25519Signer:
    """Signs checkpoints with a key kept in ``<data_dir>/audit-signing.pem`` (made on first use).

    The public half sits beside it as ``audit-signing.pub.pem``: an auditor verifying offline needs
    only that file.
    """

    def __init__(self, key: Ed25519PrivateKey, key_id: str) -> None:
        self._key = key
        self.key_id = key_id

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> Ed25519Signer:
        path = data_dir / "audit-signing.pem"
        if not path.exists():
            _create_private_key(path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        _write_public_key(data_dir, key.public_key())
        return cls(key, key_id(key.public_key()))

    def sign(self, seq: int, digest: str) -> Checkpoint:
        signature = self._key.sign(checkpoint_message(seq, digest)).hex()
        return Checkpoint(seq, digest, self.key_id, signature)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()


def _create_private_key(path: Path) -> None:
    """A new signing key, unless another process starting at the same time made one first."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    create_secret_file(path, pem)


def _write_public_key(data_dir: Path, public: Ed25519PublicKey) -> None:
    """Put the signing key's public half in ``audit-signing.pub.pem``.

    A public key found there for another (replaced) private key is kept as
    ``audit-signing-<key id>.pub.pem``: it still checks the checkpoints signed before.
    """
    path = data_dir / "audit-signing.pub.pem"
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if path.exists():
        current = path.read_bytes()
        if current == pem:
            return
        old = serialization.load_pem_public_key(current)
        old_id = key_id(old) if isinstance(old, Ed25519PublicKey) else secrets.token_hex(8)
        with contextlib.suppress(FileNotFoundError):  # another process moved it already
            os.replace(path, data_dir / f"audit-signing-{old_id}.pub.pem")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    tmp.write_bytes(pem)
    os.replace(tmp, path)


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_keys(data_dir: Path) -> dict[str, Ed25519PublicKey]:
    """Every ``*.pub.pem`` in the data directory, by key id (old keys stay to verify old rows)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in sorted(data_dir.glob("*.pub.pem")):
        key = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(key, Ed25519PublicKey):
            keys[key_id(key)] = key
    return keys
