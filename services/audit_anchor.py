"""The trust anchor of audit verification: which signing keys an auditor knows from elsewhere.

The keys pinned in ``audit_keys`` live in the very file they vouch for: whoever can write the file
can empty that table, pin a key of their own as the log's first, rewrite every event and re-sign
every checkpoint, and the file is consistent again. Only a record kept outside the file tells that
apart from the real log: key ids (or public key files) the auditor noted when the node was set up
(``tatap audit verify --trust``), or the keys a witness trusts (``--witness``). Verification
passes only if every key the file pins is in each such record.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from services.audit import PinnedKey, VerifyResult, key_id
from services.errors import BadRequest

_KEY_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True, slots=True)
class Anchor:
    """Key ids one outside record trusts, and what to call that record in a report."""

    source: str
    key_ids: frozenset[str]


def trusted_key_ids(values: Iterable[str]) -> frozenset[str]:
    """The key ids of ``--trust`` values: each a 16-hex-digit key id, or a PEM public key file
    (a node's ``audit-signing.pub.pem`` copied away at set-up)."""
    from services.witness import load_trust_file

    ids = set()
    for value in values:
        if _KEY_ID.fullmatch(value):
            ids.add(value)
        elif Path(value).is_file():
            ids.add(key_id(load_trust_file(Path(value))))
        else:
            raise BadRequest(f"--trust {value!r} is neither a key id (16 hex digits) nor a file")
    return frozenset(ids)


def anchor_problem(
    keys: dict[str, PinnedKey], anchors: Collection[Anchor]
) -> tuple[int, str] | None:
    """The first pinned key some anchor does not trust: (its pinned_seq, why), else None."""
    for anchor in anchors:
        for key in sorted(keys.values(), key=lambda k: (k.pinned_seq, k.key_id)):
            if key.key_id not in anchor.key_ids:
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
