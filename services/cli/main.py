"""The ``tatap`` command: serve, demo, terminal, admin, visit, audit, witness."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import os
import re
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from services.access.tokens import TokenService
from services.admin.provision import ADMIN_ACTOR, Admin, visitor_json
from services.audit.export import iso_utc
from services.booking.scheduling import GuestSpec, VisitService, visit_json
from services.cli.audit import register as register_audit
from services.clock import SystemClock
from services.domain.model import FacilityRules, Role, VisitKind, VisitorId
from services.errors import BadRequest, NotFound, TatapError
from services.settings import Settings
from services.store.factory import create_store
from services.store.protocols import Store


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


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        data_dir=getattr(args, "data_dir", None),
        db_url=getattr(args, "db", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        redis_url=getattr(args, "redis", None),
        public_url=getattr(args, "public_url", None),
    )


def _with_store(args: argparse.Namespace, fn: Callable[[Store, Settings], Awaitable[int]]) -> int:
    settings = _settings(args)

    async def run() -> int:
        store = create_store(settings, SystemClock())
        try:
            return await fn(store, settings)
        finally:
            await store.aclose()

    return asyncio.run(run())


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# ---- serve ---------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from services.logs import configure
    from signaling.app import create_app

    settings = _settings(args)
    configure(settings.log_json)
    _use_uvloop()
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=10,
    )
    return 0


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    uvloop.install()


# ---- admin ---------------------------------------------------------------------------------


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
        _print({"id": facility.id, "name": facility.name, "rules": facility.rules.to_json()})
        return 0

    return _with_store(args, run)


def cmd_room(args: argparse.Namespace) -> int:
    async def run(store: Store, _: Settings) -> int:
        room = await Admin(store).room(args.facility, args.name, args.id)
        _print({"id": room.id, "facility_id": room.facility_id, "name": room.name})
        return 0

    return _with_store(args, run)


def cmd_terminal_create(args: argparse.Namespace) -> int:
    async def run(store: Store, settings: Settings) -> int:
        server = args.server or settings.base_url
        terminal, _ = await Admin(store).terminal(
            args.room, args.name, server, args.id, Path(args.credentials)
        )
        _print({"id": terminal.id, "room_id": terminal.room_id, "credentials": args.credentials})
        return 0

    return _with_store(args, run)


def cmd_staff(args: argparse.Namespace) -> int:
    if args.disable and args.enable:
        raise BadRequest("name either --disable USER or --enable USER")
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
        staff = await Admin(store).staff(args.username, Role(args.role), password, args.facility)
        _print({"id": staff.id, "username": staff.username, "role": staff.role.value})
        return 0

    return _with_store(args, run)


def _disable_staff(args: argparse.Namespace) -> int:
    """The account can no longer log in; its tokens stop working and its sockets close."""
    from services.access.revocation import Revocations

    async def run(store: Store, _: Settings) -> int:
        revocation = await Revocations(store, SystemClock()).disable_staff(
            args.disable, ADMIN_ACTOR, args.reason
        )
        _print({"disabled": args.disable, "staff_id": revocation.subject})
        return 0

    return _with_store(args, run)


def _enable_staff(args: argparse.Namespace) -> int:
    """The account may log in again; the tokens it held before stay refused."""
    from services.access.revocation import Revocations

    async def run(store: Store, _: Settings) -> int:
        await Revocations(store, SystemClock()).enable_staff(args.enable, ADMIN_ACTOR, args.reason)
        _print({"enabled": args.enable})
        return 0

    return _with_store(args, run)


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
        count = await Admin(store).import_inmates(args.facility, text)
        _print({"imported": count})
        return 0

    return _with_store(args, run)


def cmd_visitor(args: argparse.Namespace) -> int:
    async def run(store: Store, _: Settings) -> int:
        visitor = await Admin(store).visitor(
            args.name, args.nik, args.phone, args.relationship, args.priority
        )
        _print(visitor_json(visitor))
        return 0

    return _with_store(args, run)


# ---- visits --------------------------------------------------------------------------------


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
    async def run(store: Store, settings: Settings) -> int:
        clock = SystemClock()
        service = VisitService(
            store, TokenService(settings.token_keys), clock, settings.token_grace_s
        )
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
        scheduled = await service.schedule(
            terminal_id=args.terminal,
            inmate_id=inmate_id,
            kind=VisitKind(args.kind),
            start=parse_start(args.start, clock.now()),
            guests=guests,
            actor=(Role.ADMIN, "cli"),
            length_s=args.length,
        )
        out = visit_json(scheduled.visit, staff=True)
        links = {
            p.role.value: f"{settings.base_url}/v/{scheduled.links[p.id]}"
            for p in scheduled.visit.participants
            if p.id in scheduled.links
        }
        out["links"] = links
        if args.tokens:
            out["tokens"] = {
                p.role.value: await service.participant_token(scheduled.visit, p)
                for p in scheduled.visit.participants
            }
        if args.json:
            _print(out)
        else:
            print(f"visit {out['id']}  code {out['code']}  kind {out['kind']}")
            start, end = scheduled.visit.start, scheduled.visit.end
            print(f"  start {iso_utc(int(start * 1000))}  end {iso_utc(int(end * 1000))}")
            for role, link in links.items():
                print(f"  {role} link: {link}")
        return 0

    return _with_store(args, run)


def cmd_visit_cancel(args: argparse.Namespace) -> int:
    async def run(store: Store, settings: Settings) -> int:
        service = VisitService(store, TokenService(settings.token_keys), SystemClock(), 60)
        visit = await service.cancel(args.visit, (Role.ADMIN, "cli"), args.reason)
        _print(visit_json(visit, staff=True))
        return 0

    return _with_store(args, run)


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke one token, or shut one participant out (every link and token of that seat, and of
    every seat of the visitor behind it), or one visitor. Open sockets close within a second:
    each node polls for new revocations."""
    from services.access.revocation import Revocations

    if [bool(args.token), bool(args.participant), bool(args.visitor)].count(True) != 1:
        raise BadRequest("name either a token, --participant ID or --visitor ID")

    async def run(store: Store, settings: Settings) -> int:
        revocations = Revocations(store, SystemClock())
        if args.participant:
            revocation = await revocations.revoke_participant(
                args.participant, ADMIN_ACTOR, args.reason
            )
            _print({"revoked_participant": revocation.subject})
            return 0
        if args.visitor:
            revocation = await revocations.revoke_visitor(args.visitor, ADMIN_ACTOR, args.reason)
            _print({"revoked_visitor": revocation.subject})
            return 0
        # The signature is enough: an expired (or not yet valid) token may be revoked too.
        claims = TokenService(settings.token_keys).decode(args.token, None)
        revocation = await revocations.revoke_token(claims, ADMIN_ACTOR)
        _print({"revoked": revocation.subject})
        return 0

    return _with_store(args, run)


# ---- parser --------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="database URL (default sqlite:///<data-dir>/tatap.db)")
    p.add_argument("--data-dir", help="where the database and keys live (default ./var)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tatap", description="Video visits for prisons.")
    sub = parser.add_subparsers(metavar="command")

    p = sub.add_parser("serve", help="run one server node")
    _common(p)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--redis", help="redis:// URL (several nodes)")
    p.add_argument("--public-url", help="base URL for links, e.g. https://visit.example.go.id")
    p.set_defaults(func=cmd_serve)

    from media.cli import add_demo_parser, add_terminal_parser

    add_demo_parser(sub)
    add_terminal_parser(sub)

    admin = sub.add_parser("admin", help="facilities, rooms, terminals, staff, inmates")
    asub = admin.add_subparsers(metavar="what")
    p = asub.add_parser("facility", help="create a facility")
    _common(p)
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
    p = asub.add_parser("room", help="create a visit room")
    _common(p)
    p.add_argument("--facility", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--id")
    p.set_defaults(func=cmd_room)
    p = asub.add_parser("terminal", help="create a terminal and write its credentials file")
    _common(p)
    p.add_argument("--room", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--id")
    p.add_argument("--credentials", required=True, help="file to write")
    p.add_argument("--server", help="server URL the terminal connects to")
    p.set_defaults(func=cmd_terminal_create)
    p = asub.add_parser("staff", help="create a staff user, or disable or enable one")
    _common(p)
    p.add_argument("--username")
    p.add_argument("--role", choices=["officer", "auditor", "admin"])
    p.add_argument("--facility")
    p.add_argument("--password-env", help="read the password from this environment variable")
    p.add_argument("--disable", metavar="USER", help="disable this account: no login, no token")
    p.add_argument("--enable", metavar="USER", help="let a disabled account log in again")
    p.add_argument("--reason", default="", help="why (recorded in the audit log)")
    p.set_defaults(func=cmd_staff)
    p = asub.add_parser("import-inmates", help="import inmates from an SDP CSV export")
    _common(p)
    p.add_argument("--facility", required=True)
    p.add_argument("csv")
    p.set_defaults(func=cmd_import_inmates)
    p = asub.add_parser("visitor", help="register a visitor")
    _common(p)
    p.add_argument("--name", required=True)
    p.add_argument("--nik", required=True)
    p.add_argument("--phone", default="")
    p.add_argument("--relationship", default="")
    p.add_argument("--priority", action="store_true")
    p.set_defaults(func=cmd_visitor)
    p = asub.add_parser("revoke", help="revoke a token, or shut a participant or visitor out")
    _common(p)
    p.add_argument("token", nargs="?", default="")
    p.add_argument("--participant", metavar="ID", help="this seat, and its visitor's other seats")
    p.add_argument("--visitor", metavar="ID", help="every seat of this visitor, in every visit")
    p.add_argument("--reason", default="", help="why (recorded in the audit log)")
    p.set_defaults(func=cmd_revoke)

    visit = sub.add_parser("visit", help="schedule and cancel visits")
    vsub = visit.add_subparsers(metavar="what")
    p = vsub.add_parser("create", help="schedule a visit")
    _common(p)
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
    _common(p)
    p.add_argument("visit")
    p.add_argument("--reason", default="")
    p.set_defaults(func=cmd_visit_cancel)

    from services.cli.witness import add_witness_parser

    add_witness_parser(sub)

    register_audit(sub)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
