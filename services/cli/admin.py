"""``tatap admin``: facilities, rooms, terminals, staff, inmates, visitors, and revocations."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from services.admin.provision import Admin, visitor_json
from services.booking.blocks import VisitorBlocks
from services.booking.identity import mask_nik
from services.cli import booking, calendar
from services.cli.common import print_json, store_options, with_core, with_store
from services.clock import SystemClock
from services.core import Core
from services.domain.model import STAFF_ROLES, FacilityRules, Role
from services.errors import BadRequest, NotFound
from services.ids import CLI_ACTOR, ParticipantId, VisitorId
from services.settings import Settings
from services.store.protocols import Store


def cmd_facility(args: argparse.Namespace) -> int:
    lengths = (args.length_regular, args.length_education, args.length_legal)
    if not all(60 <= n <= 4 * 3600 for n in lengths):
        raise BadRequest("visit lengths are between 60 and 14400 seconds")
    if not all(0 < w < min(lengths) for w in args.warnings):
        raise BadRequest("warnings are seconds before the end, above 0 and below the visit length")
    if args.join_grace < 0 or args.reconnect_grace < 0:
        raise BadRequest("grace periods cannot be negative")
    rules = FacilityRules(
        length_s={
            "regular": args.length_regular,
            "education": args.length_education,
            "legal": args.length_legal,
        },
        warnings_s=tuple(sorted(args.warnings, reverse=True)),
        join_grace_s=args.join_grace,
        reconnect_grace_s=args.reconnect_grace,
    )

    async def run(store: Store, _: Settings) -> int:
        facility = await Admin(store).facility(args.name, args.timezone, rules, args.id)
        print_json({"id": facility.id, "name": facility.name, "rules": facility.rules.to_json()})
        return 0

    return with_store(args, run)


def cmd_room(args: argparse.Namespace) -> int:
    async def run(store: Store, _: Settings) -> int:
        room = await Admin(store).room(args.facility, args.name, args.id)
        print_json({"id": room.id, "facility_id": room.facility_id, "name": room.name})
        return 0

    return with_store(args, run)


def cmd_terminal_create(args: argparse.Namespace) -> int:
    async def run(store: Store, settings: Settings) -> int:
        server = args.server or settings.base_url
        terminal, _ = await Admin(store).terminal(
            args.room, args.name, server, args.id, Path(args.credentials)
        )
        print_json(
            {"id": terminal.id, "room_id": terminal.room_id, "credentials": args.credentials}
        )
        return 0

    return with_store(args, run)


def cmd_staff(args: argparse.Namespace) -> int:
    if sum(bool(x) for x in (args.disable, args.enable, args.reset)) > 1:
        raise BadRequest("name one of --disable USER, --enable USER or --reset USER")
    if args.reset:
        return _reset_staff(args)
    if args.disable:
        return _disable_staff(args)
    if args.enable:
        return _enable_staff(args)
    if not args.username or not args.role:
        raise BadRequest("a new staff user needs --username and --role (or use --disable USER)")
    password = os.environ.get(args.password_env, "") if args.password_env else ""
    if not password:
        password = _read_password(f"password for {args.username}: ")

    async def run(store: Store, _: Settings) -> int:
        region = [f.strip() for f in (args.facilities or "").split(",") if f.strip()]
        staff = await Admin(store).staff(
            args.username, Role(args.role), password, args.facility, region
        )
        out: dict[str, object] = {
            "id": staff.id,
            "username": staff.username,
            "role": staff.role.value,
        }
        if staff.facilities:
            out["facilities"] = list(staff.facilities)
        print_json(out)
        return 0

    return with_store(args, run)


def _disable_staff(args: argparse.Namespace) -> int:
    """The account can no longer log in; its tokens stop working and its sockets close."""

    async def run(core: Core, _: Settings) -> int:
        revocation = await core.revocations.disable_staff(args.disable, CLI_ACTOR, args.reason)
        print_json({"disabled": args.disable, "staff_id": revocation.subject})
        return 0

    return with_core(args, run)


def _reset_staff(args: argparse.Namespace) -> int:
    """A new password (from --password-env or asked); the account's sessions and tokens end."""
    password = os.environ.get(args.password_env, "") if args.password_env else ""
    if not password:
        password = _read_password(f"new password for {args.reset}: ")

    async def run(store: Store, _: Settings) -> int:
        staff = await store.get_staff_by_username(args.reset)
        if staff is None:
            raise NotFound("no such staff user")
        await Admin(store).reset_password(staff, password)
        print_json({"reset": args.reset, "staff_id": staff.id, "sessions_ended": True})
        return 0

    return with_store(args, run)


def _enable_staff(args: argparse.Namespace) -> int:
    """The account may log in again; the tokens it held before stay refused."""

    async def run(core: Core, _: Settings) -> int:
        await core.revocations.enable_staff(args.enable, CLI_ACTOR, args.reason)
        print_json({"enabled": args.enable})
        return 0

    return with_core(args, run)


def _read_password(prompt: str) -> str:
    """Ask on a terminal; from a pipe (scripts), take the first line of standard input."""
    try:
        if sys.stdin.isatty():
            return getpass.getpass(prompt)
        return sys.stdin.readline().rstrip("\r\n")
    except EOFError:
        return ""


def cmd_import_inmates(args: argparse.Namespace) -> int:
    try:
        text = Path(args.csv).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{args.csv} is not UTF-8 text (byte {exc.start})") from exc

    async def run(store: Store, _: Settings) -> int:
        done = await Admin(store).import_inmates(args.facility, text)
        out: dict[str, object] = {"imported": done.rows}
        if done.flagged:  # booked visits of inmates now released or transferred
            out["flagged_for_review"] = done.flagged
        print_json(out)
        return 0

    return with_store(args, run)


def cmd_visitor(args: argparse.Namespace) -> int:
    async def run(store: Store, _: Settings) -> int:
        visitor = await Admin(store).visitor(
            args.name, args.nik, args.phone, args.relationship, args.priority
        )
        print_json(visitor_json(visitor))
        return 0

    return with_store(args, run)


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke one token, or shut one participant out (every link and token of that seat, and of
    every seat of the visitor behind it), or one visitor. Open sockets close within a second:
    each node polls for new revocations."""
    if [bool(args.token), bool(args.participant), bool(args.visitor)].count(True) != 1:
        raise BadRequest("name either a token, --participant ID or --visitor ID")

    async def run(core: Core, _: Settings) -> int:
        revocations = core.revocations
        if args.participant:
            revocation = await revocations.revoke_participant(
                ParticipantId(args.participant), CLI_ACTOR, args.reason
            )
            print_json({"revoked_participant": revocation.subject})
            return 0
        if args.visitor:
            revocation = await revocations.revoke_visitor(
                VisitorId(args.visitor), CLI_ACTOR, args.reason
            )
            print_json({"revoked_visitor": revocation.subject})
            return 0
        # The signature is enough: an expired (or not yet valid) token may be revoked too.
        claims = core.tokens.decode(args.token, None)
        revocation = await revocations.revoke_token(claims, CLI_ACTOR)
        print_json({"revoked": revocation.subject})
        return 0

    return with_core(args, run)


def cmd_block_visitor(args: argparse.Namespace) -> int:
    """Block a person (by NIK) in one facility: their requests there are refused, their links
    there stop working (a running node closes their sockets within a second, by polling)."""

    async def run(core: Core, _: Settings) -> int:
        blocks = VisitorBlocks(core.store, core.revocations, SystemClock())
        if args.unblock:
            count = await blocks.unblock(args.facility, args.nik, args.reason, CLI_ACTOR)
            print_json({"unblocked": mask_nik(args.nik), "facility_id": args.facility})
            return 0
        count = await blocks.block(args.facility, args.nik, args.reason, CLI_ACTOR)
        out = {"blocked": mask_nik(args.nik), "facility_id": args.facility, "records": count}
        print_json(out)
        return 0

    return with_core(args, run)


def register(sub: Any) -> None:
    """The ``admin`` command tree."""
    admin = sub.add_parser("admin", help="facilities, rooms, terminals, staff, inmates")
    asub = admin.add_subparsers(metavar="what")
    _add_facility(asub)
    p = asub.add_parser("room", help="create a visit room")
    store_options(p)
    p.add_argument("--facility", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--id")
    p.set_defaults(func=cmd_room)
    p = asub.add_parser("terminal", help="create a terminal and write its credentials file")
    store_options(p)
    p.add_argument("--room", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--id")
    p.add_argument("--credentials", required=True, help="file to write")
    p.add_argument("--server", help="server URL the terminal connects to")
    p.set_defaults(func=cmd_terminal_create)
    _add_staff(asub)
    p = asub.add_parser("import-inmates", help="import inmates from an SDP CSV export")
    store_options(p)
    p.add_argument("--facility", required=True)
    p.add_argument("csv")
    p.set_defaults(func=cmd_import_inmates)
    _add_people(asub)
    calendar.register(asub)
    booking.register(asub)


def _add_facility(asub: Any) -> None:
    p = asub.add_parser("facility", help="create a facility")
    store_options(p)
    p.add_argument("--name", required=True)
    p.add_argument("--id")
    p.add_argument("--timezone", default="Asia/Jakarta")
    p.add_argument("--length-regular", type=int, default=900, help="seconds")
    p.add_argument("--length-education", type=int, default=1800)
    p.add_argument("--length-legal", type=int, default=1800)
    p.add_argument("--warnings", type=int, nargs="+", default=[300, 60], help="seconds before end")
    p.add_argument("--join-grace", type=int, default=600)
    p.add_argument("--reconnect-grace", type=int, default=60)
    p.set_defaults(func=cmd_facility)


def _add_staff(asub: Any) -> None:
    p = asub.add_parser("staff", help="create a staff user, or disable, enable or reset one")
    store_options(p)
    p.add_argument("--username")
    p.add_argument("--role", choices=sorted(r.value for r in STAFF_ROLES))
    p.add_argument("--facility")
    p.add_argument(
        "--facilities", help="a regional auditor's facilities, comma-separated (its region)"
    )
    p.add_argument("--password-env", help="read the password from this environment variable")
    p.add_argument("--disable", metavar="USER", help="disable this account: no login, no token")
    p.add_argument("--enable", metavar="USER", help="let a disabled account log in again")
    p.add_argument("--reset", metavar="USER", help="set a new password: the account's sessions end")
    p.add_argument("--reason", default="", help="why (recorded in the audit log)")
    p.set_defaults(func=cmd_staff)


def _add_people(asub: Any) -> None:
    """Visitors, and shutting a token, a seat or a visitor out."""
    p = asub.add_parser("visitor", help="register a visitor")
    store_options(p)
    p.add_argument("--name", required=True)
    p.add_argument("--nik", required=True)
    p.add_argument("--phone", default="")
    p.add_argument("--relationship", default="")
    p.add_argument("--priority", action="store_true")
    p.set_defaults(func=cmd_visitor)
    p = asub.add_parser("revoke", help="revoke a token, or shut a participant or visitor out")
    store_options(p)
    p.add_argument("token", nargs="?", default="")
    p.add_argument("--participant", metavar="ID", help="this seat, and its visitor's other seats")
    p.add_argument("--visitor", metavar="ID", help="every seat of this visitor, in every visit")
    p.add_argument("--reason", default="", help="why (recorded in the audit log)")
    p.set_defaults(func=cmd_revoke)
    for verb, unblock in (("block-visitor", False), ("unblock-visitor", True)):
        what = "lift the block of" if unblock else "block"
        p = asub.add_parser(verb, help=f"{what} a visitor (by NIK) in one facility")
        store_options(p)
        p.add_argument("--facility", required=True)
        p.add_argument("--nik", required=True)
        p.add_argument("--reason", required=True, help="why (recorded in the audit log)")
        p.set_defaults(func=cmd_block_visitor, unblock=unblock)
