"""``tatap audit``: verify, export and pin the signing key of a database's audit log, offline.

Verify and export open the store read-only through the store factory, so they work on any
backend and never change what they read (an auditor's copy included); ``pin-key`` is the one
write, and is itself an audit event.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from services.audit.export import write_export
from services.audit.query import FILTER_FIELDS, AuditQuery, audit_query, iter_events
from services.cli.common import print_json, store_options
from services.clock import SystemClock
from services.errors import BadRequest
from services.store.factory import offline_settings, open_audit_reader, pin_audit_key
from services.store.protocols import AuditReader


def register(sub: Any) -> None:
    """Add the ``audit`` command and its ``verify``, ``pin-key`` and ``export`` subcommands to
    the ``tatap`` subparsers ``sub``."""
    audit = sub.add_parser("audit", help="verify and export the audit log (offline)")
    what = audit.add_subparsers(metavar="what")
    _verify_parser(what)
    p = what.add_parser("pin-key", help="trust the current signing key from now on (audited)")
    store_options(p)
    p.add_argument("--reason", required=True, help="why the key changes (goes in the log)")
    p.set_defaults(func=cmd_audit_pin_key)
    p = what.add_parser("export", help="export events as CSV or JSON lines")
    store_options(p)
    p.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    p.add_argument("--out", help="file (default: standard output)")
    for name in FILTER_FIELDS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, help=FILTER_HELP.get(name))
    p.add_argument("--since", help="YYYY-MM-DD or ISO time (UTC)")
    p.add_argument("--until", help="YYYY-MM-DD (inclusive) or ISO time")
    p.set_defaults(func=cmd_audit_export)


FILTER_HELP = {
    "inmate": "an inmate's id, number, or part of its name",
    "visitor": "a visitor's id, part of a name, or a NIK's last 4 digits",
    "terminal": "a terminal's or room's id, or part of a room's name",
    "officer": "the staff id or username who acted",
}


def _verify_parser(what: Any) -> None:
    p = what.add_parser("verify", help="check the hash chain; names the first bad row")
    store_options(p)
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="FILE|URL",
        help="a witness's store: each head it saw must still be in the log",
    )
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="KEYID|KEYFILE",
        help="a signing key you know from elsewhere (key id or public key PEM);"
        " every key the file pins must be one of them",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="the node is running: report events after the last checkpoint (it signs"
        " them within 10 s) instead of failing on them, while the oldest is at"
        " most 30 s old",
    )
    p.set_defaults(func=cmd_audit_verify)


def _with_reader(args: argparse.Namespace, fn: Callable[[AuditReader], Awaitable[int]]) -> int:
    """Run ``fn`` on the database's audit log, opened read-only (NotFound if there is none)."""
    reader = open_audit_reader(offline_settings(args.db, args.data_dir))

    async def run() -> int:
        try:
            return await fn(reader)
        finally:
            await reader.aclose()

    return asyncio.run(run())


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the whole chain; exit 1, naming the first bad row, if it is not intact."""
    from services.audit.anchor import Anchor, anchor_report, trust_anchor
    from services.audit.signing import public_hex
    from services.audit.witness import read_store

    async def run(reader: AuditReader) -> int:
        anchors = [trust_anchor(args.trust)] if args.trust else []
        heads = []
        for source in args.witness:
            state = read_store(source)
            heads += [(h.seq, h.hash) for h in state.heads]
            publics = frozenset(public_hex(k) for k in state.keys.values())
            anchors.append(Anchor(f"witness {source}", frozenset(), publics))
        result = await reader.audit_verify(live=args.live, witnessed=heads, anchors=anchors)
        if args.json:
            print_json({**result.to_json(), "witnessed": len(heads)})
            return 0 if result.ok else 1
        if result.ok:
            seen = f", {len(heads)} witnessed heads match" if args.witness else ""
            tail = f", unsigned from seq {result.unsigned_from}" if result.unsigned_from else ""
            signed = f"{result.checkpoints} signed checkpoints"
            print(f"OK: {result.events} events, {signed}{seen}{tail}")
        elif result.first_bad_seq is None:
            print(f"TAMPERED: {result.problem}")
        else:
            print(f"TAMPERED: first bad row seq={result.first_bad_seq}: {result.problem}")
        print("\n".join(anchor_report(result)))
        return 0 if result.ok else 1

    return _with_reader(args, run)


def cmd_audit_pin_key(args: argparse.Namespace) -> int:
    """Trust the data directory's current signing key from now on, with an audit event."""
    settings = offline_settings(args.db, args.data_dir)
    key_id, seq = pin_audit_key(settings, SystemClock(), args.reason)
    print_json({"pinned": key_id, "seq": seq})
    return 0


def cmd_audit_export(args: argparse.Namespace) -> int:
    """Write the events the filters match, oldest first, as CSV or JSON lines."""

    async def run(reader: AuditReader) -> int:
        query = _export_query(args)
        out = _output(args.out)
        try:
            await write_export(iter_events(reader, query), args.format, out)
        finally:
            if out is not sys.stdout:
                out.close()
        return 0

    return _with_reader(args, run)


def _output(path: str | None) -> TextIO:
    """The file named by ``--out`` (the caller closes it), or standard output."""
    return open(path, "w", newline="") if path else sys.stdout  # noqa: SIM115


def _export_query(args: argparse.Namespace) -> AuditQuery:
    """The export's flags, validated as the REST API validates its query parameters."""
    params: dict[str, str | None] = {
        **{name: getattr(args, name) for name in FILTER_FIELDS},
        "since_ms": _day_ms(args.since),
        "until_ms": _day_ms(args.until, end=True),
    }
    return audit_query({k: v for k, v in params.items() if v is not None})


def _day_ms(text: str | None, end: bool = False) -> str | None:
    """``YYYY-MM-DD`` (a whole UTC day; ``--until`` includes it) or an ISO time → epoch ms."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"bad date {text!r}: use YYYY-MM-DD or an ISO time") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if end and len(text) == 10:
        when += dt.timedelta(days=1)
    return str(int(when.timestamp() * 1000))
