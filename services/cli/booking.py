"""``tatap admin relationships``, ``quotas``, ``auto-approve`` and ``makeup``: a facility's
booking policy, shown or changed.

Each verb prints the facility's current setting; with a change, it is written with its audit
event first (as done by the CLI).
"""

from __future__ import annotations

import argparse
from typing import Any

from services.access.links import FamilyLinks
from services.booking.policy import parse_relationships
from services.booking.quotas import Quotas
from services.booking.requests import RequestService
from services.cli.common import print_json, store_options, with_store
from services.clock import SystemClock
from services.ids import CLI_ACTOR
from services.settings import Settings
from services.store.protocols import Store


def cmd_relationships(args: argparse.Namespace) -> int:
    """Show which relationships the facility accepts, or set them with ``--set``."""
    chosen = parse_relationships(args.set) if args.set is not None else None

    async def run(store: Store, settings: Settings) -> int:
        service = _service(store, settings)
        if chosen is None:
            policy = await service.policy(args.facility)
        else:
            policy = await service.set_relationships(args.facility, chosen, CLI_ACTOR)
        print_json({"facility_id": args.facility, "relationships": policy.listed()})
        return 0

    return with_store(args, run)


def cmd_quotas(args: argparse.Namespace) -> int:
    """Show the facility's quotas, or change the ones named on the command line."""

    async def run(store: Store, settings: Settings) -> int:
        service = _service(store, settings)
        await service.policy(args.facility)  # NotFound for an unknown facility
        quotas = await store.quotas(args.facility)
        if args.per_inmate is not None or args.per_visitor is not None:
            wanted = Quotas(
                quotas.per_inmate if args.per_inmate is None else args.per_inmate,
                quotas.per_visitor if args.per_visitor is None else args.per_visitor,
            )
            quotas = await service.set_quotas(args.facility, wanted, CLI_ACTOR)
        print_json({"facility_id": args.facility, **quotas.to_json()})
        return 0

    return with_store(args, run)


def cmd_auto_approve(args: argparse.Namespace) -> int:
    """Show whether the facility approves known visitors at once, or switch it on or off."""

    async def run(store: Store, settings: Settings) -> int:
        service = _service(store, settings)
        if args.on is None:
            policy = await service.policy(args.facility)
        else:
            policy = await service.set_auto_approve(args.facility, args.on, CLI_ACTOR)
        out = {"facility_id": args.facility, "auto_approve_known": policy.auto_approve_known}
        print_json(out)
        return 0

    return with_store(args, run)


def cmd_makeup(args: argparse.Namespace) -> int:
    """Show the facility's make-up rule, or set it (``--after-min N``) or switch it ``--off``."""

    async def run(store: Store, settings: Settings) -> int:
        service = _service(store, settings)
        if args.after_min is None and not args.off:
            policy = await service.policy(args.facility)
        else:
            minutes = None if args.off else args.after_min
            policy = await service.set_makeup_after(args.facility, minutes, CLI_ACTOR)
        print_json({"facility_id": args.facility, "makeup_after_min": policy.makeup_after_min})
        return 0

    return with_store(args, run)


def register(asub: Any) -> None:
    """The booking policy verbs under ``tatap admin``."""
    p = asub.add_parser("relationships", help="show or set the relationships a facility accepts")
    store_options(p)
    p.add_argument("--facility", required=True)
    p.add_argument("--set", help="e.g. spouse,parent,child,sibling")
    p.set_defaults(func=cmd_relationships)
    p = asub.add_parser("quotas", help="show or set a facility's visits per inmate and visitor")
    store_options(p)
    p.add_argument("--facility", required=True)
    p.add_argument("--per-inmate", type=int, help="visits per inmate in a rolling 7 days")
    p.add_argument("--per-visitor", type=int, help="visits per visitor (NIK) in 7 days")
    p.set_defaults(func=cmd_quotas)
    p = asub.add_parser(
        "auto-approve",
        help="show or set whether a known visitor (approved before for the inmate) is approved"
        " at once",
    )
    store_options(p)
    p.add_argument("--facility", required=True)
    switch = p.add_mutually_exclusive_group()
    switch.add_argument("--on", dest="on", action="store_true", default=None)
    switch.add_argument("--off", dest="on", action="store_false")
    p.set_defaults(func=cmd_auto_approve, on=None)
    p = asub.add_parser(
        "makeup",
        help="show or set after how many minutes lost to system faults a visit's family is"
        " offered a make-up visit",
    )
    store_options(p)
    p.add_argument("--facility", required=True)
    rule = p.add_mutually_exclusive_group()
    rule.add_argument("--after-min", type=int, help="1 to 120 minutes of system-caused loss")
    rule.add_argument("--off", action="store_true", help="offer no make-up visits")
    p.set_defaults(func=cmd_makeup)


def _service(store: Store, settings: Settings) -> RequestService:
    return RequestService(store, SystemClock(), FamilyLinks(settings.link_key))
