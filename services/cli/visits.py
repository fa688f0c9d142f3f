"""``tatap visit``: schedule a visit (and print its links) or cancel one."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from typing import Any

from services.booking.scheduling import GuestSpec, ScheduledVisit, visit_json
from services.cli.common import print_json, store_options, with_core
from services.clock import SystemClock
from services.core import Core
from services.domain.model import Role, VisitKind
from services.errors import BadRequest, NotFound
from services.ids import CLI_ACTOR, VisitId, VisitorId
from services.settings import Settings


def parse_start(text: str, now: float) -> float:
    """``now``, ``+10m`` / ``+30s`` / ``+2h``, or an ISO-8601 time (UTC unless it says)."""
    if text == "now":
        return now
    match = re.fullmatch(r"\+(\d+)([smh])", text)
    if match:
        return now + int(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]]
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(
            f"bad start time {text!r}: use now, +10m, +30s, +2h or an ISO time"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def cmd_visit_create(args: argparse.Namespace) -> int:
    async def run(core: Core, settings: Settings) -> int:
        store = core.store
        inmate_id = args.inmate
        if args.inmate_number:
            terminal = await store.get_terminal(args.terminal)
            inmate = await store.find_inmate(
                terminal.facility_id if terminal else "", args.inmate_number
            )
            inmate_id = inmate.id if inmate else ""
        if args.visitor and await store.get_visitor(args.visitor) is None:
            raise NotFound("no such visitor (see `tatap admin visitor`)")
        guests = [
            GuestSpec(Role.FAMILY, args.family, VisitorId(args.visitor) if args.visitor else None)
        ]
        if args.teacher:
            guests.append(GuestSpec(Role.TEACHER, args.teacher))
        scheduled = await core.visits.schedule(
            terminal_id=args.terminal,
            inmate_id=inmate_id,
            kind=VisitKind(args.kind),
            start=parse_start(args.start, SystemClock().now()),
            guests=guests,
            actor=CLI_ACTOR,
            length_s=args.length,
        )
        await _show(args, core, scheduled, settings.base_url)
        return 0

    return with_core(args, run)


async def _show(args: argparse.Namespace, core: Core, scheduled: ScheduledVisit, base: str) -> None:
    """The visit with a link per seat (and a token per seat with ``--tokens``)."""
    out = visit_json(scheduled.visit, staff=True)
    links = {
        p.role.value: f"{base}/v/{scheduled.links[p.id]}"
        for p in scheduled.visit.participants
        if p.id in scheduled.links
    }
    out["links"] = links
    if args.tokens:
        out["tokens"] = {
            p.role.value: await core.links.participant_token(scheduled.visit, p)
            for p in scheduled.visit.participants
        }
    if args.json:
        print_json(out)
        return
    print(f"visit {out['id']}  code {out['code']}  kind {out['kind']}")
    start, end = scheduled.visit.start, scheduled.visit.end
    print(f"  start {_iso(start)}  end {_iso(end)}")
    for role, link in links.items():
        print(f"  {role} link: {link}")


def _iso(seconds: float) -> str:
    """A UTC time to the second, as the audit export writes it."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def cmd_visit_cancel(args: argparse.Namespace) -> int:
    async def run(core: Core, _: Settings) -> int:
        visit = await core.visits.cancel(VisitId(args.visit), CLI_ACTOR, args.reason)
        print_json(visit_json(visit, staff=True))
        return 0

    return with_core(args, run)


def register(sub: Any) -> None:
    """The ``visit`` command tree."""
    visit = sub.add_parser("visit", help="schedule and cancel visits")
    vsub = visit.add_subparsers(metavar="what")
    p = vsub.add_parser("create", help="schedule a visit")
    store_options(p)
    p.add_argument("--terminal", required=True)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--inmate", help="inmate id")
    group.add_argument("--inmate-number", help="inmate number (SDP)")
    p.add_argument("--kind", default="regular", choices=[k.value for k in VisitKind])
    p.add_argument("--start", default="now", help="now, +10m, or ISO time")
    p.add_argument("--length", type=int, help="seconds (default: the facility's rule)")
    p.add_argument("--family", required=True, help="family member's name")
    p.add_argument("--visitor", help="registered visitor id")
    p.add_argument("--teacher", help="teacher's name (education visits)")
    p.add_argument("--public-url")
    p.add_argument("--tokens", action="store_true", help="also print a token per seat")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_visit_create)
    p = vsub.add_parser("cancel", help="cancel a scheduled visit")
    store_options(p)
    p.add_argument("visit")
    p.add_argument("--reason", default="")
    p.set_defaults(func=cmd_visit_cancel)
