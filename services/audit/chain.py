"""The audit log's rules: what an event is, how the hash chain is built, and how it is checked.

Each event is hashed with the one before it: ``hash = SHA-256(prev_hash ‖ canonical event)``, the
canonical event being compact JSON of its fields in a fixed order. Editing a row changes its hash;
deleting or reordering rows breaks the next row's ``prev_hash``; signed checkpoints (Ed25519 over
``seq ‖ hash``, at least one per ``CHECKPOINT_EVERY`` events and one at shutdown) vouch for the
chain up to them, checked only with public keys pinned on purpose. What they cannot catch (the
tail cut back to a checkpoint, a log rewritten by someone holding a pinned key) needs a head seen
elsewhere: see ``services.audit.witness``. Storage lives in the stores and signing in
``services.audit.signing``; this module has no I/O of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64
CHECKPOINT_EVERY = (
    1000  # events between signed checkpoints (and one at least every 10 s, and at shutdown)
)
# How old the oldest event after the last checkpoint may be in a running node's file (the writer
# signs it at 10 s; the rest is margin for a busy disk). Older, and `verify --live` fails.
LIVE_UNSIGNED_S = 30.0

# Every action the log knows; an append with another action is a bug.
ACTIONS = frozenset(
    {
        "requested",
        "approved",
        "rejected",
        "scheduled",  # a walk-in is one with `walk_in: true` (services/booking/walkins.py)
        "cancelled",
        "joined",
        "left",
        "connected",
        "warned",
        "reconnected",
        "monitor-joined",
        "terminated",
        "ended",
        "recording-stored",
        "survey",
        "notice",
        "muted",  # an officer muted or unmuted one side of a visit: {side, muted}
        "inmate-ready",
        "token-revoked",
        "facility-created",
        "room-created",
        "terminal-created",
        "staff-created",
        "inmates-imported",
        "participant-revoked",
        "staff-disabled",
        "audit-key-pinned",
        "visitor-revoked",
        "staff-enabled",
        "audit-unsigned-tail",
        "slot-template-added",
        "slot-template-removed",
        "booking-window-set",
        "date-blocked",
        "facility-closed",
        "quotas-set",
        "notified",
        "visitor-blocked",
        "visitor-unblocked",
        "relationships-set",
        "review-cleared",
        "auto-approve-set",
        "audit-read",
        "staff-password-reset",
        "survey-answered",  # scores and the comment's SHA-256, never its text (services.surveys)
        "node-started",  # services/audit/runs.py: when the node was down is known
        "node-stopped",
        "makeup-rule-set",  # a facility's make-up rule: {makeup_after_min} (null: off)
        "makeup-offered",  # services/booking/makeup.py: {lost_system_ms, after_min}
        "makeup-taken",  # the family booked its make-up visit: {makeup_for} (the original)
    }
)


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
        prev_hash,
        seq,
        ts_ms,
        event.facility_id,
        event.visit_id,
        event.actor_role,
        event.actor_id,
        event.action,
        details,
    )
    return AuditRecord(
        seq,
        ts_ms,
        event.facility_id,
        event.visit_id,
        event.actor_role,
        event.actor_id,
        event.action,
        details,
        prev_hash,
        digest,
    )


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
    # A live node's events after its last checkpoint (signed within 10 s): reported, not failed.
    unsigned_from: int | None = None
    # (key id, pinned_seq) of every key the file pins. The file names them itself, so they prove
    # nothing until compared with a record kept elsewhere: ``anchor`` says which one, if any.
    pinned_keys: tuple[tuple[str, int], ...] = ()
    anchor: str = ""  # "" when the pinned keys were checked against no outside record

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "unsigned_from": self.unsigned_from,
            "pinned_keys": [{"key_id": k, "pinned_seq": s} for k, s in self.pinned_keys],
            "anchor": self.anchor or None,
        }


@dataclass(frozen=True, slots=True)
class PinnedKey:
    """A public key verification trusts, for checkpoints from ``pinned_seq`` on (the seq of the
    ``audit-key-pinned`` event that pinned it; 0 for the log's first key)."""

    key_id: str
    public_key: Ed25519PublicKey
    pinned_seq: int


# (seq, prev_hash, hash, canonical event bytes): one row as the chain walk needs it.
ChainRow = tuple[int, str, str, bytes]


def verify_chain(
    rows: Iterable[ChainRow],
    checkpoints: Iterable[Checkpoint],
    keys: dict[str, PinnedKey],
    recheck: Callable[[int], bytes] | None = None,
    *,
    live: bool = False,
    legacy_head: int = 0,
) -> VerifyResult:
    """The chain walk over rows whose canonical event is already built (by the database, for
    speed). A row that does not match is rebuilt with ``recheck`` (from its columns, here in
    Python) before it is called bad, so a formatting difference can never pass for tampering.

    Then the checkpoints: each signed by a pinned key (pinned at or before its seq), none more
    than ``CHECKPOINT_EVERY`` events after the one before, and none past the end. Events after the
    last checkpoint fail the check: a stopped node signs its head, so they come from a crash or a
    hand. ``live`` (the running node verifying its own file) reports them instead, as the writer
    signs them within seconds. Checkpoints up to ``legacy_head`` (a log begun by an older
    writer, see ``services.audit.upgrade``) are held to no cadence."""
    cps = {cp.seq: cp for cp in checkpoints}
    walked = _walk(rows, cps, recheck)
    if isinstance(walked, VerifyResult):
        return walked
    return _check_checkpoints(cps, keys, walked, live, legacy_head)


def _walk(
    rows: Iterable[ChainRow], cps: dict[int, Checkpoint], recheck: Callable[[int], bytes] | None
) -> int | VerifyResult:
    """How many rows chain up from genesis, each matching its checkpoint; or the first bad one."""
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
    return count


def _check_checkpoints(
    cps: dict[int, Checkpoint], keys: dict[str, PinnedKey], count: int, live: bool, legacy_head: int
) -> VerifyResult:
    """The checkpoints over ``count`` intact rows: signed by pinned keys, at the cadence, the last
    one at the end (or, ``live``, soon before it)."""
    signed = 0
    for cp in sorted(cps.values(), key=lambda c: c.seq):
        if cp.seq > count:
            return VerifyResult(
                False, count, len(cps), count + 1, f"log truncated: checkpoint at {cp.seq}"
            )
        problem = signature_problem(cp, keys)
        if problem:
            return VerifyResult(False, count, len(cps), cp.seq, problem)
        if cp.seq - max(signed, legacy_head) > CHECKPOINT_EVERY:
            return VerifyResult(
                False,
                count,
                len(cps),
                signed + 1,
                (
                    f"no signed checkpoint for events {signed + 1}-{cp.seq - 1} (one is signed at"
                    f" least every {CHECKPOINT_EVERY} events): checkpoints were removed"
                ),
            )
        signed = cp.seq
    if count > signed and (not live or count - signed > CHECKPOINT_EVERY):
        return VerifyResult(
            False,
            count,
            len(cps),
            signed + 1,
            (
                f"events {signed + 1}-{count} follow the last signed checkpoint"
                f" ({signed or 'none'}):"
                " a stopped node signs its head, so these come from a crash or were added by hand;"
                " nothing vouches for them"
            ),
        )
    return VerifyResult(True, count, len(cps), unsigned_from=signed + 1 if count > signed else None)


def checkpoint_message(seq: int, digest: str) -> bytes:
    return f"tatap-audit-checkpoint:{seq}:{digest}".encode()


def signature_problem(cp: Checkpoint, keys: dict[str, PinnedKey]) -> str:
    """Why a checkpoint's signature cannot be trusted, or "" if it can."""
    key = keys.get(cp.key_id)
    if key is None:
        return f"checkpoint signature by key {cp.key_id}, which is not pinned"
    if key.pinned_seq > cp.seq:
        return f"checkpoint signature by key {cp.key_id}, pinned only at seq {key.pinned_seq}"
    try:
        key.public_key.verify(bytes.fromhex(cp.signature), checkpoint_message(cp.seq, cp.hash))
    except (InvalidSignature, ValueError):
        return "checkpoint signature invalid"
    return ""
