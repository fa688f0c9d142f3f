"""A world to test in: a real server on a real socket (aiohttp test server), a hand-driven clock,
a facility with a room, a terminal and an inmate ready for visits, and websocket peers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.access.links import VisitLinks
from services.access.rates import Rate
from services.access.staff import StaffLogin
from services.access.terminals import TerminalCredentials
from services.admin.provision import Admin
from services.booking.scheduling import GuestSpec, ScheduledVisit, VisitService
from services.clock import FakeClock
from services.domain.model import FacilityRules, Role, Terminal, VisitKind
from services.ids import Actor
from services.settings import Settings
from services.store.protocols import Store
from signaling.app import HUB, LINKS, STAFF, STORE, VISITS, create_app

KEYS = {"k1": b"test-signing-key-0123456789abcdef"}
LINK_KEY = b"test-family-link-key-0123456789"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a node keeping its data under ``tmp_path``, with test keys and timings."""
    base: dict[str, Any] = dict(
        data_dir=tmp_path,
        db_url=f"sqlite:///{tmp_path / 'tatap.db'}",
        token_keys=KEYS,
        link_key=LINK_KEY,
        node_id="node-test",
        time_interval_s=30.0,
        sweep_interval_s=1.0,
        hello_timeout_s=2.0,
        max_conns_per_address=10_000,  # tests play hundreds of clients from 127.0.0.1
        # and book hundreds of visits from it; tests of the booking limit set their own.
        booking_rate=Rate(per_s=1000.0, burst=10_000),
        slot_rate=Rate(per_s=1000.0, burst=10_000),
    )
    base.update(overrides)
    return Settings(**base)


@dataclass
class World:
    """A running node and a facility to schedule visits in."""

    app: web.Application
    client: TestClient
    clock: FakeClock
    settings: Settings
    terminal: Terminal
    creds: TerminalCredentials
    inmate_id: str
    facility_id: str
    session: aiohttp.ClientSession | None = None

    @property
    def store(self) -> Store:
        return self.app[STORE]

    @property
    def visits(self) -> VisitService:
        return self.app[VISITS]

    @property
    def links(self) -> VisitLinks:
        return self.app[LINKS]

    @property
    def staff(self) -> StaffLogin:
        return self.app[STAFF]

    @property
    def hub(self) -> Any:
        return self.app[HUB]

    async def schedule(
        self, kind: VisitKind = VisitKind.REGULAR, start_in: float = 0.0, length_s: int = 900
    ) -> ScheduledVisit:
        """A visit at the world's terminal for its inmate, with a family guest (and a teacher for
        an education visit), starting ``start_in`` seconds from now."""
        guests = [GuestSpec(Role.FAMILY, "Siti")]
        if kind is VisitKind.EDUCATION:
            guests.append(GuestSpec(Role.TEACHER, "Bu Guru"))
        return await self.visits.schedule(
            terminal_id=self.terminal.id,
            inmate_id=self.inmate_id,
            kind=kind,
            start=self.clock.now() + start_in,
            guests=guests,
            actor=Actor(Role.OFFICER, "s_test"),
            length_s=length_s,
        )

    async def token(self, scheduled: ScheduledVisit, role: Role) -> str:
        """The join token of the visit's seat for ``role``."""
        seat = next(p for p in scheduled.visit.participants if p.role is role)
        return await self.links.participant_token(scheduled.visit, seat)

    async def connect(self, token: str | None = None, **hello: Any) -> Peer:
        """A peer that has said hello with ``token`` (or, without one, with ``hello``'s fields)."""
        ws = await self.session_ws()
        msg = {"type": "hello", "token": token} if token else {"type": "hello", **hello}
        await ws.send_str(orjson.dumps(msg).decode())
        return Peer(ws)

    async def session_ws(self) -> aiohttp.ClientWebSocketResponse:
        """A raw websocket that has sent nothing yet."""
        if self.session is None:
            # The test client's own session caps at 100 connections; visits need more.
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return await self.session.ws_connect(self.client.make_url("/ws"))

    async def advance(self, seconds: float) -> None:
        """Move the hand-driven clock on, firing whatever falls due."""
        await self.clock.advance(seconds)


class Peer:
    """A websocket client that reads server messages by type."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, msg: dict[str, Any] | str) -> None:
        """Send a message as JSON (a string as it is, e.g. to send something malformed)."""
        await self.ws.send_str(msg if isinstance(msg, str) else orjson.dumps(msg).decode())

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message, whatever its type; a closed socket raises ``ConnectionError``."""
        msg = await self.ws.receive(timeout=timeout)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket closed: {msg.type.name} {self.ws.close_code}")
        data: dict[str, Any] = orjson.loads(msg.data)
        self.seen.append(data)
        return data

    async def expect(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of this type, skipping the clock's `time` and `warning` messages."""
        while True:
            data = await self.recv(timeout)
            if data["type"] == kind:
                return data
            if data["type"] not in ("time", "warning"):
                raise AssertionError(f"expected {kind}, got {data}")

    async def until(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of this type, skipping any other."""
        async with asyncio.timeout(timeout):
            while True:
                data = await self.recv()
                if data["type"] == kind:
                    return data

    async def closed(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes; returns the close code."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive()
                if msg.type is aiohttp.WSMsgType.CLOSE:
                    return int(msg.data)  # the code the server sent in its close frame
                if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    return self.ws.close_code
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self.seen.append(orjson.loads(msg.data))

    async def close(self) -> None:
        """Close the socket from the client side."""
        await self.ws.close()


async def build_world(
    tmp_path: Path,
    rules: FacilityRules | None = None,
    clock: FakeClock | None = None,
    **overrides: Any,
) -> AsyncIterator[World]:
    """Start a node (``overrides`` go to its settings) with a facility ready for visits, yield
    it as a ``World``, then close its sockets and server."""
    clock = clock or FakeClock()
    settings = make_settings(tmp_path, **overrides)
    app = create_app(settings, clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    store = app[STORE]
    admin = Admin(store)
    facility = await admin.facility(
        "Lapas Cilegon",
        rules=rules
        or FacilityRules(
            warnings_s=(300, 60), join_grace_s=600, reconnect_grace_s=60, connect_timeout_s=120
        ),
    )
    room = await admin.room(facility.id, "Ruang 1")
    terminal, creds = await admin.terminal(room.id, "PC Ruang 1", "http://test")
    await admin.import_inmates(facility.id, "number,name,block\nB-1234,Budi,A\n")
    inmate = await store.find_inmate(facility.id, "B-1234")
    assert inmate is not None
    world = World(app, client, clock, settings, terminal, creds, inmate.id, facility.id)
    try:
        yield world
    finally:
        if world.session is not None:
            await world.session.close()
        await client.close()
