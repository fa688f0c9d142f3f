"""``tatap demo``: a server, a facility with a visit starting now, and its terminal, on one machine.

Everything a newcomer needs for a first look: it prints the family link (open it in a browser on
this machine), two staff logins, and the registration page with an inmate number to book with
(the room takes requests every day from today on). The data directory is demo-only and wiped at
every start. The server runs in this process, built by the composition root; the terminal is
``tatap terminal`` in a child process, as in a visit room, stopped with the demo.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import fcntl
import logging
import secrets
import shlex
import shutil
import signal
import socket
import struct
import sys
from pathlib import Path
from typing import Any

import orjson

from services.admin.provision import Admin
from services.booking.calendar import CalendarService
from services.booking.scheduling import GuestSpec, VisitService
from services.booking.slots import BookingWindow, hhmm
from services.clock import SystemClock
from services.domain.model import FacilityRules, Role, VisitKind
from services.ids import Actor
from services.settings import Settings
from services.store.protocols import Store

# The demo's inmates: the first has the visit that starts now (a week's quota is one visit), the
# others are free to be booked through /register.
DEMO_INMATES = (
    "number,name,block\n"
    "B-0001,Budi Santoso,A\n"
    "B-0002,Agus Setiawan,A\n"
    "B-0003,Rudi Hartono,B\n"
    "B-0004,Dewi Lestari,C\n"
)
BOOKABLE_INMATE = ("B-0002", "Agus Setiawan")  # printed for a newcomer to book with
BOOKING_HOURS = (8 * 60, 20 * 60)  # local minutes after midnight: 08:00-20:00
SLOT_MINUTES = 15
# The terminal's log lines the demo passes on: as for its own, warnings and worse.
SHOWN_LEVELS = frozenset({"warning", "error", "critical", "exception"})


def register(sub: Any) -> None:
    """The ``demo`` command (entry point ``tatap.commands``)."""
    p: argparse.ArgumentParser = sub.add_parser("demo", help="a whole visit on this machine")
    p.add_argument("--host", default="0.0.0.0", help="listen address (default: all addresses)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--data-dir", default="var/demo", help="wiped and refilled at every start")
    p.add_argument("--minutes", type=int, default=15, help="length of the demo visit")
    p.add_argument("--education", action="store_true", help="a three-party visit with a teacher")
    # Passed on to `tatap terminal`; repeated here because signaling does not import media.
    p.add_argument(
        "--source", default="testpattern", help="testpattern, v4l2:/dev/video0, or a media file"
    )
    p.add_argument("--mic", default="", help="with a camera: alsa:default or pulse:default")
    p.add_argument(
        "--display",
        default="none",
        choices=["window", "none"],
        help="window: the family full screen; none: headless (default)",
    )
    p.add_argument("--size", default="640x360", help="test pattern / camera size, WxH")
    p.add_argument("--fps", type=int, default=15)
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    if data_dir.exists():  # demo data only: every demo starts from scratch
        shutil.rmtree(data_dir)
    return asyncio.run(run_demo(args))


async def run_demo(args: argparse.Namespace) -> int:
    """Serve, fill, start the terminal, print the banner; stop on a signal or the terminal's end."""
    # Imported here, not above: every `tatap` command registers this verb, and aiohttp alone
    # would double the time `tatap --help` takes.
    from aiohttp import web

    from services.logs import configure
    from signaling.app import STORE, VISITS, create_app

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
    terminal = TerminalProcess(terminal_argv(args, local, data_dir / "terminal.json"))
    try:
        links, logins = await _fill(app[STORE], app[VISITS], data_dir, args)
        await terminal.start()
        _banner(args, local, links, logins)
        return await terminal.until_signalled()
    finally:
        await terminal.stop()
        await runner.cleanup()


def terminal_argv(args: argparse.Namespace, server: str, credentials: Path) -> list[str]:
    """``tatap terminal`` with the demo's media options, run as a visit room runs it."""
    return [
        sys.executable,
        "-m",
        "services.cli.main",
        "terminal",
        "--credentials",
        str(credentials),
        "--server",
        server,
        "--source",
        args.source,
        "--mic",
        args.mic,
        "--display",
        args.display,
        "--size",
        args.size,
        "--fps",
        str(args.fps),
    ]


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends it SIGTERM when the demo dies, even by
    SIGKILL, so no orphaned terminal keeps reconnecting to a server that is gone."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class TerminalProcess:
    """The demo's terminal agent as a child process, its warnings relayed with a prefix."""

    def __init__(self, argv: list[str]) -> None:
        self._argv = argv
        self._child: asyncio.subprocess.Process | None = None
        self._relay: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._child = await asyncio.create_subprocess_exec(
            *self._argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        assert self._child.stdout is not None
        self._relay = asyncio.create_task(_relay(self._child.stdout), name="terminal-output")

    async def until_signalled(self) -> int:
        """Wait for SIGINT or SIGTERM (0), or for the terminal to stop by itself (1)."""
        assert self._child is not None
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        signalled = asyncio.ensure_future(stop.wait())
        exited = asyncio.ensure_future(self._child.wait())
        try:
            await asyncio.wait({signalled, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # A second signal is not caught: a stuck shutdown can still be killed.
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            signalled.cancel()
        # Exit 0 is the terminal's own answer to a Ctrl-C, which reaches the whole process group.
        if stop.is_set() or exited.result() == 0:
            return 0
        print(f"demo: the terminal stopped (exit {exited.result()})", file=sys.stderr)
        return 1

    async def stop(self) -> None:
        """SIGTERM, as systemd stops a terminal; killed if it has not ended within 10 s."""
        child = self._child
        if child is not None and child.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it may have just ended
                child.terminate()
            try:
                await asyncio.wait_for(child.wait(), timeout=10)
            except TimeoutError:
                child.kill()
                await child.wait()
        if self._relay is not None:
            await self._relay  # ends at the pipe's end, once the child has gone


async def _relay(stream: asyncio.StreamReader) -> None:
    """Pass the terminal's warnings and errors (and any line that is not a log event) to stderr."""
    async for raw in stream:
        line = raw.decode(errors="replace").rstrip()
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            event = None
        if isinstance(event, dict) and event.get("level") not in SHOWN_LEVELS:
            continue
        print(f"terminal | {line}", file=sys.stderr, flush=True)


async def _fill(
    store: Store, visits: VisitService, data_dir: Path, args: argparse.Namespace
) -> tuple[dict[str, str], dict[str, str]]:
    """A facility, room, terminal, inmate, two staff logins, and a visit starting now."""
    admin = Admin(store)
    facility = await admin.facility("Lapas Demo", rules=FacilityRules(warnings_s=(300, 60)))
    room = await admin.room(facility.id, "Ruang Kunjungan 1")
    terminal, creds = await admin.terminal(room.id, "PC Ruang 1", f"http://127.0.0.1:{args.port}")
    creds.write(data_dir / "terminal.json")
    await admin.import_inmates(facility.id, DEMO_INMATES)
    inmate = await store.find_inmate(facility.id, "B-0001")
    assert inmate is not None
    await _open_booking(store, room.id)
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


async def _open_booking(store: Store, room_id: str) -> None:
    """The room takes requests every day, 08:00-20:00 local in 15-minute slots of every kind,
    from today on (a newcomer can book at once) up to 14 days ahead."""
    calendar = CalendarService(store)
    room = await store.get_room(room_id)
    assert room is not None
    every_day, every_kind = frozenset(range(7)), frozenset(VisitKind)
    await calendar.add_template(room.id, every_day, BOOKING_HOURS, SLOT_MINUTES, every_kind)
    await calendar.set_window(room.facility_id, BookingWindow(min_days=0, max_days=14))


SIOCGIFADDR = 0x8915  # ioctl: an interface's IPv4 address


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
    number, name = BOOKABLE_INMATE
    print(f"\n  registration:    {local}/register")
    print(f"  inmate to visit: {number} {name}")
    print(
        f"    (slots every {SLOT_MINUTES} minutes, {hhmm(BOOKING_HOURS[0])}-"
        f"{hhmm(BOOKING_HOURS[1])} local time, bookable from today; an officer approves)"
    )
    print("\n  staff logins (username / password):")
    for username, password in logins.items():
        print(f"    {username:8} {password}")
    print(f"  consoles: {local}/officer (officer), {local}/auditor (auditor)")
    print(
        f"\n  terminal: test pattern, display {args.display}; "
        f"credentials in {Path(args.data_dir) / 'terminal.json'}"
    )
    data = shlex.quote(str(args.data_dir))
    print("\n  this demo's audit log (--live while the demo runs; without it once stopped):")
    print(f"    tatap audit verify --live --data-dir {data}")
    print(f"    tatap audit export --format csv --data-dir {data}")
    print("  Ctrl-C stops everything.\n", flush=True)
