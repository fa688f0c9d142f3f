"""``tatap report monthly``: a facility's or a region's monthly report, offline and read-only on
the database file (as ``tatap audit``): as JSON, CSV, HTML or PDF, to a file or standard output."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from services.cli.common import store_options
from services.errors import BadRequest, NotFound
from services.reports.facts import Month
from services.reports.formats import FORMATS, report_bytes
from services.reports.service import monthly_report
from services.reports.texts import LANGS
from services.store.factory import offline_settings, open_report_reader


def register(sub: Any) -> None:
    """Add ``report monthly`` to the ``tatap`` subparsers ``sub``."""
    report = sub.add_parser("report", help="monthly reports (offline, read-only)")
    what = report.add_subparsers(metavar="what")
    p = what.add_parser("monthly", help="a facility's or a region's month")
    store_options(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--facility", action="append", help="a facility id (repeat to consolidate)")
    who.add_argument("--region", help="a regional auditor's username: its facilities")
    p.add_argument("--month", required=True, help="YYYY-MM, in each facility's time zone")
    p.add_argument("--format", choices=list(FORMATS), default="json")
    p.add_argument("--lang", choices=list(LANGS), default="id", help="the HTML and PDF's language")
    p.add_argument("--out", help="file (default: standard output)")
    p.set_defaults(func=cmd_report_monthly)


def cmd_report_monthly(args: argparse.Namespace) -> int:
    """Write the report; nothing in the database changes."""
    month = Month.parse(args.month)
    reader = open_report_reader(offline_settings(args.db, args.data_dir))

    async def run() -> bytes:
        try:
            ids = args.facility
            if args.region:
                ids = await reader.region_facilities(args.region)
                if ids is None:
                    raise NotFound(f"no regional auditor {args.region!r}")
                if not ids:
                    raise BadRequest(f"{args.region!r} has no facilities")
            report = await monthly_report(reader, ids, month)
            return report_bytes(report, args.format, args.lang, int(time.time() * 1000))
        finally:
            await reader.aclose()

    body = asyncio.run(run())
    if args.out:
        with open(args.out, "wb") as out:
            out.write(body)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0
