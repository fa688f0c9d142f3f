"""``tatap witness``: pull signed audit heads from nodes into a store file kept elsewhere.

Credentials never go on the command line (where ``ps`` shows them): a token comes from
``TATAP_WITNESS_TOKEN`` or ``--token-file``; or the witness logs in as ``--login USER`` with the
password from ``TATAP_WITNESS_PASSWORD`` or ``--password-file`` (an auditor account: staff tokens
expire, and a periodic job outlives them).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from services.audit.witness import load_trust_file, login, now_ms, pull
from services.errors import BadRequest, TatapError

TOKEN_ENV = "TATAP_WITNESS_TOKEN"
PASSWORD_ENV = "TATAP_WITNESS_PASSWORD"


def register(sub: Any) -> None:
    """The ``witness`` command (entry point ``tatap.commands``)."""
    p = sub.add_parser("witness", help="keep nodes' signed audit heads elsewhere")
    p.add_argument(
        "--pull",
        nargs="+",
        required=True,
        metavar="URL",
        help="base URL of each node of one deployment",
    )
    p.add_argument("--store", required=True, help="the witness's file (only ever grows)")
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="KEYFILE",
        help="pin a node's audit-signing.pub.pem (checked out of band)",
    )
    p.add_argument("--token-file", help=f"file holding an auditor token (or set {TOKEN_ENV})")
    p.add_argument(
        "--login",
        metavar="USER",
        help=f"log in as USER, password from {PASSWORD_ENV} or --password-file",
    )
    p.add_argument("--password-file")
    p.set_defaults(func=cmd_witness)


def cmd_witness(args: argparse.Namespace) -> int:
    """One pull from each node (run it from cron for a periodic job); exit 1 if any refused."""
    trust = [load_trust_file(Path(f)) for f in args.trust]
    store = Path(args.store)
    failed = 0
    for url in args.pull:
        try:
            result = pull(url, store, _token(args, url), trust, now_ms())
        except TatapError as exc:
            failed += 1
            print(f"REFUSED {url}: {exc.message}", file=sys.stderr)
            continue
        head = f"head {result.head.seq}" if result.head else "no head yet"
        print(f"OK {url}: {result.new} new signed heads, {head}", flush=True)
    return 1 if failed else 0


def _token(args: argparse.Namespace, url: str) -> str:
    if args.login:
        if args.password_file:
            password = Path(args.password_file).read_text().strip()
        else:
            password = os.environ.get(PASSWORD_ENV, "")
        if not password:
            raise BadRequest(f"--login needs {PASSWORD_ENV} or --password-file")
        return login(url, args.login, password)
    token = Path(args.token_file).read_text().strip() if args.token_file else ""
    token = token or os.environ.get(TOKEN_ENV, "")
    if not token:
        raise BadRequest(f"no credentials: set {TOKEN_ENV}, or give --token-file or --login")
    return token
