"""The ``tatap`` command: its entry point, its error handling, and the verbs registered with it.

Each verb group registers its own subcommands through the ``tatap.commands`` entry points
(pyproject.toml), found here at startup: ``services`` is the bottom layer, so it never imports the
``serve``, ``demo`` and ``terminal`` verbs that ``signaling`` and ``media`` add above it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import sqlite3
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import orjson

# The audit commands below keep the names they had until they move to services/cli/audit.py.
from services.cli.common import print_json as _print
from services.cli.common import store_options as _common
from services.clock import SystemClock
from services.errors import BadRequest, NotFound, TatapError
from services.settings import Settings
from services.store.protocols import AuditQuery
from services.store.sqlite.store import AUDIT_COLS, audit_search, verify_file

COMMANDS = "tatap.commands"
# `tatap --help` lists the verbs in this order (entry points come in no particular order);
# a verb not named here comes after these, by name.
HELP_ORDER = ("serve", "demo", "terminal", "admin", "visit", "witness", "audit")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        result: int = args.func(args)
        return result
    except TatapError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`tatap audit export | head`): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a file named on the command line cannot be read or written
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as exc:
        print(f"error: database: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")


# ---- audit ---------------------------------------------------------------------------------


def _offline_db(args: argparse.Namespace) -> tuple[Path, Path]:
    """The database file and data directory of an offline audit command, which must exist.

    Token keys play no part offline; passing a placeholder keeps settings from creating
    ``token.keys`` in what may be an auditor's read-only copy of the data directory.
    """
    settings = Settings.from_env(
        data_dir=getattr(args, "data_dir", None),
        db_url=getattr(args, "db", None),
        token_keys={"offline": b"not-used-offline"},
    )
    path = settings.sqlite_path
    if not path.is_file():
        raise NotFound(f"no database at {path} (check --data-dir or --db)")
    return path, settings.data_dir


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from services.audit.anchor import Anchor, anchor_report, trust_anchor
    from services.audit.chain import public_hex
    from services.audit.witness import read_store

    path, data_dir = _offline_db(args)
    anchors = [trust_anchor(args.trust)] if args.trust else []
    heads = []
    for source in args.witness:
        state = read_store(source)
        heads += [(h.seq, h.hash) for h in state.heads]
        publics = frozenset(public_hex(k) for k in state.keys.values())
        anchors.append(Anchor(f"witness {source}", frozenset(), publics))
    result = verify_file(path, data_dir, live=args.live, witnessed=heads, anchors=anchors)
    if args.json:
        _print({**result.to_json(), "witnessed": len(heads)})
        return 0 if result.ok else 1
    if result.ok:
        seen = f", {len(heads)} witnessed heads match" if args.witness else ""
        tail = f", unsigned from seq {result.unsigned_from}" if result.unsigned_from else ""
        print(f"OK: {result.events} events, {result.checkpoints} signed checkpoints{seen}{tail}")
    elif result.first_bad_seq is None:
        print(f"TAMPERED: {result.problem}")
    else:
        print(f"TAMPERED: first bad row seq={result.first_bad_seq}: {result.problem}")
    print("\n".join(anchor_report(result)))
    return 0 if result.ok else 1


def cmd_audit_pin_key(args: argparse.Namespace) -> int:
    """Trust the data directory's current signing key from now on, with an audit event."""
    from services.audit.chain import Ed25519Signer
    from services.store.sqlite.store import pin_signing_key

    path, data_dir = _offline_db(args)
    signer = Ed25519Signer.from_data_dir(data_dir)
    seq = pin_signing_key(path, signer, SystemClock().now, args.reason)
    _print({"pinned": signer.key_id, "seq": seq})
    return 0


def iter_audit(conn: sqlite3.Connection, query: AuditQuery) -> Iterator[Any]:
    after = query.after_seq
    while True:
        page = audit_search(
            conn, AuditQuery(**{**_fields(query), "after_seq": after, "limit": 1000})
        )
        yield from page
        if len(page) < 1000:
            return
        after = page[-1].seq


def _fields(query: AuditQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in AuditQuery.__dataclass_fields__}


def cmd_audit_export(args: argparse.Namespace) -> int:
    from services.http.api.audit import audit_query

    path, _ = _offline_db(args)
    params = {
        "facility": args.facility,
        "inmate": args.inmate,
        "visitor": args.visitor,
        "visit": args.visit,
        "terminal": args.terminal,
        "action": args.action,
        "since_ms": _day_ms(args.since),
        "until_ms": _day_ms(args.until, end=True),
    }
    query = audit_query({k: v for k, v in params.items() if v is not None})
    out = open(args.out, "w", newline="") if args.out else sys.stdout  # noqa: SIM115
    # Read-only: an export never changes the file it reads (nor creates one).
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = iter_audit(conn, query)
        if args.format == "jsonl":
            for row in rows:
                out.write(orjson.dumps(row.to_json()).decode() + "\n")
        else:
            writer = csv.writer(out)
            writer.writerow([c.strip() for c in AUDIT_COLS.split(",")] + ["time_utc"])
            for row in rows:
                writer.writerow(
                    [
                        row.seq,
                        row.ts_ms,
                        *map(
                            csv_cell,
                            (
                                row.facility_id,
                                row.visit_id,
                                row.actor_role,
                                row.actor_id,
                                row.action,
                                row.details,
                                row.prev_hash,
                                row.hash,
                            ),
                        ),
                        _iso(row.ts_ms),
                    ]
                )
    finally:
        conn.close()
        if out is not sys.stdout:
            out.close()
    return 0


# A spreadsheet reads a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading formula character gets a ``'`` before
    it, as OWASP advises (the csv module quotes the cell when needed)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


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


# ---- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Every verb: those registered through ``tatap.commands``, then ``audit``."""
    parser = argparse.ArgumentParser(prog="tatap", description="Video visits for prisons.")
    sub = parser.add_subparsers(metavar="command")
    for command in registered_commands():
        command.load()(sub)

    audit = sub.add_parser("audit", help="verify and export the audit log (offline)")
    ausub = audit.add_subparsers(metavar="what")
    p = ausub.add_parser("verify", help="check the hash chain; names the first bad row")
    _common(p)
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
    p = ausub.add_parser("pin-key", help="trust the current signing key from now on (audited)")
    _common(p)
    p.add_argument("--reason", required=True, help="why the key changes (goes in the log)")
    p.set_defaults(func=cmd_audit_pin_key)
    p = ausub.add_parser("export", help="export events as CSV or JSON lines")
    _common(p)
    p.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    p.add_argument("--out", help="file (default: standard output)")
    for name in ("facility", "inmate", "visitor", "visit", "terminal", "action"):
        p.add_argument(f"--{name}")
    p.add_argument("--since", help="YYYY-MM-DD or ISO time (UTC)")
    p.add_argument("--until", help="YYYY-MM-DD (inclusive) or ISO time")
    p.set_defaults(func=cmd_audit_export)
    return parser


def registered_commands() -> list[EntryPoint]:
    """The ``tatap.commands`` entry points, in help order.

    None at all means the package's metadata is missing or stale: say how to fix it rather
    than print a help with no verbs.
    """
    found = entry_points(group=COMMANDS)
    if not found:
        raise SystemExit("tatap: no commands registered; reinstall it (pip install -e .)")

    def rank(command: EntryPoint) -> tuple[int, str]:
        known = command.name in HELP_ORDER
        return (HELP_ORDER.index(command.name) if known else len(HELP_ORDER), command.name)

    return sorted(found, key=rank)


if __name__ == "__main__":
    raise SystemExit(main())
