"""The trust anchor of audit verification: which signing keys an auditor knows from elsewhere.

The keys pinned in ``audit_keys`` live in the very file they vouch for: whoever can write the file
can empty that table, pin a key of their own as the log's first, rewrite every event and re-sign
every checkpoint, and the file is consistent again. Only a record kept outside the file tells that
apart from the real log: key ids (or public key files) the auditor noted when the node was set up
(``tatap audit verify --trust``), or the keys a witness trusts (``--witness``). Verification
passes only if every key the file pins is in each such record. A pinned key is matched by the id
derived from its public key, or by the public key itself where the record holds one (a key file, a
witness): never by the id column of the file, which is only a label a hand can copy.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from services.audit.chain import PinnedKey, VerifyResult
from services.audit.signing import public_hex
from services.errors import BadRequest

_KEY_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True, slots=True)
class Anchor:
    """What one outside record trusts: key ids, and whole public keys (64 hex digits) where it
    holds them; and what to call that record in a report."""

    source: str
    key_ids: frozenset[str]
    public_keys: frozenset[str] = frozenset()

    def trusts(self, key: PinnedKey) -> bool:
        """``key.key_id`` is derived from ``key.public_key`` by ``load_pinned``."""
        return key.key_id in self.key_ids or public_hex(key.public_key) in self.public_keys


def trust_anchor(values: Iterable[str]) -> Anchor:
    """The anchor of ``--trust`` values: each a 16-hex-digit key id, or a PEM public key file
    (a node's ``audit-signing.pub.pem`` copied away at set-up), trusted as that very key."""
    from services.audit.witness import load_trust_file

    ids, publics = set(), set()
    for value in values:
        if _KEY_ID.fullmatch(value):
            ids.add(value)
        elif Path(value).is_file():
            publics.add(public_hex(load_trust_file(Path(value))))
        else:
            raise BadRequest(f"--trust {value!r} is neither a key id (16 hex digits) nor a file")
    return Anchor("--trust", frozenset(ids), frozenset(publics))


def anchor_problem(
    keys: dict[str, PinnedKey], anchors: Collection[Anchor]
) -> tuple[int, str] | None:
    """The first pinned key some anchor does not trust: (its pinned_seq, why), else None."""
    for anchor in anchors:
        for key in sorted(keys.values(), key=lambda k: (k.pinned_seq, k.key_id)):
            if not anchor.trusts(key):
                return key.pinned_seq, (
                    f"pinned key {key.key_id} (pinned at seq {key.pinned_seq}) is not among the"
                    f" keys {anchor.source} trusts: the file's key list was changed, or the"
                    " record is out of date"
                )
    return None


def anchor_report(result: VerifyResult) -> list[str]:
    """Lines naming the pinned keys and what vouched for them. Without an anchor the file names
    its own keys, so an auditor must compare these ids with the ones they wrote down."""
    lines = ["Signing keys this file pins (key id, pinned at seq):"]
    lines += [f"  {kid}  {seq}" for kid, seq in result.pinned_keys]
    if not result.anchor:
        lines.append(
            "NOT CHECKED: these keys come from the file itself; compare them with your own record,"
            " or pass --trust KEYID|KEYFILE or --witness. Whoever can write the file can replace"
            " its keys and re-sign a rewritten log."
        )
    elif result.ok:
        lines.append(f"Every pinned key is trusted by: {result.anchor}")
    return lines
