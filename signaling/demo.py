"""``tatap demo``: a server, a facility with a visit starting now, and its terminal, in one process.

Everything a newcomer needs for a first look: it prints the family link (open it in a browser on
this machine) and two staff logins. The data directory is demo-only and wiped at every start.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import secrets
import shlex
import socket
import struct
from pathlib import Path

from aiohttp import web

from media.cli import build_agent, until_signalled
from services.admin.provision import Admin
from services.booking.scheduling import GuestSpec
from services.clock import SystemClock
from services.domain.model import FacilityRules, Role, VisitKind
from services.ids import Actor
from services.logs import configure
from services.settings import Settings
from signaling.app import STORE, VISITS, create_app

SIOCGIFADDR = 0x8915


def lan_addresses() -> list[str]:
    """This machine's IPv4 interface addresses other than loopback (read locally, no traffic)."""
    found = []
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                raw = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
        address = socket.inet_ntoa(raw[20:24])
        if not address.startswith("127."):
            found.append(address)
    return found


async def run_demo(args: argparse.Namespace) -> int:
    configure(None, logging.WARNING)
    data_dir = Path(args.data_dir)
    local = f"http://127.0.0.1:{args.port}"
    settings = Settings.from_env(
        data_dir=data_dir,
        host=args.host,
        port=args.port,
        db_url=f"sqlite:///{data_dir / 'tatap.db'}",
        public_url=local,
    )
    app = create_app(settings)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    try:
        await web.TCPSite(runner, args.host, args.port).start()
    except OSError as exc:
        await runner.cleanup()
        raise SystemExit(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
    agent = None
    try:
        links, logins = await _fill(app, data_dir, args)
        agent = build_agent(args, local, data_dir / "terminal.json")
        agent.start()
        _banner(args, local, links, logins)
        await until_signalled()
    finally:
        if agent is not None:
            await agent.aclose()
        await runner.cleanup()
    return 0


async def _fill(
    app: web.Application, data_dir: Path, args: argparse.Namespace
) -> tuple[dict[str, str], dict[str, str]]:
    """A facility, room, terminal, inmate, two staff logins, and a visit starting now."""
    store, visits = app[STORE], app[VISITS]
    admin = Admin(store)
    facility = await admin.facility("Lapas Demo", rules=FacilityRules(warnings_s=(300, 60)))
    room = await admin.room(facility.id, "Ruang Kunjungan 1")
    terminal, creds = await admin.terminal(room.id, "PC Ruang 1", f"http://127.0.0.1:{args.port}")
    creds.write(data_dir / "terminal.json")
    await admin.import_inmates(facility.id, "number,name,block\nB-0001,Budi Santoso,A\n")
    inmate = await store.find_inmate(facility.id, "B-0001")
    assert inmate is not None
    logins = {}
    for role in (Role.OFFICER, Role.AUDITOR):
        password = secrets.token_urlsafe(9)
        await admin.staff(role.value, role, password, facility.id)
        logins[role.value] = password
    kind = VisitKind.EDUCATION if args.education else VisitKind.REGULAR
    guests = [GuestSpec(Role.FAMILY, "Siti")]
    if args.education:
        guests.append(GuestSpec(Role.TEACHER, "Bu Guru"))
    scheduled = await visits.schedule(
        terminal_id=terminal.id,
        inmate_id=inmate.id,
        kind=kind,
        start=SystemClock().now(),
        guests=guests,
        actor=Actor(Role.ADMIN, "demo"),
        length_s=args.minutes * 60,
    )
    links = {
        p.role.value: scheduled.links[p.id]
        for p in scheduled.visit.participants
        if p.id in scheduled.links
    }
    return links, logins


def _banner(
    args: argparse.Namespace, local: str, links: dict[str, str], logins: dict[str, str]
) -> None:
    print(f"\nTatap demo is running: a {args.minutes}-minute visit starts now.\n")
    for role, link in links.items():
        print(f"  {role} link:  {local}/v/{link}")
    if args.host in ("0.0.0.0", "::"):
        for address in lan_addresses():
            print(f"  on the LAN:   http://{address}:{args.port}/v/{links['family']}")
        print("  (a browser grants the camera only on https:// or on this machine's own address;")
        print("   a phone on the LAN needs the HTTPS set-up in deploy/)")
    print("\n  staff logins (username / password):")
    for username, password in logins.items():
        print(f"    {username:8} {password}")
    print(
        f"\n  terminal: test pattern, display {args.display}; "
        f"credentials in {Path(args.data_dir) / 'terminal.json'}"
    )
    data = shlex.quote(str(args.data_dir))
    print("\n  this demo's audit log (--live while the demo runs; without it once stopped):")
    print(f"    tatap audit verify --live --data-dir {data}")
    print(f"    tatap audit export --format csv --data-dir {data}")
    print("  Ctrl-C stops everything.\n", flush=True)
