"""The composition root chooses backends once and refuses what it cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.errors import ConfigError
from signaling.app import create_app
from signaling.cluster.bus import LocalBus
from tests.helpers.world import make_settings


def test_redis_url_is_refused_clearly(tmp_path: Path) -> None:
    """Asking for the several-node shape gets a clear error, not a half-working node."""
    with pytest.raises(ConfigError, match="one node only"):
        create_app(make_settings(tmp_path, redis_url="redis://127.0.0.1:1"))


def test_unknown_database_scheme_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported database"):
        create_app(make_settings(tmp_path, db_url="mysql://x"))


def test_local_bus_delivers_to_the_subscribed_visit_only() -> None:
    """A frame published for one visit reaches that visit's subscriber and no other."""
    bus = LocalBus()
    got: list[tuple[str, str, str, str]] = []
    bus.subscribe("v1", lambda f, to, skip: got.append(("v1", f, to, skip)))
    bus.subscribe("v2", lambda f, to, skip: got.append(("v2", f, to, skip)))
    bus.publish("v1", "hello", to="p1")
    bus.publish("v3", "lost")
    bus.unsubscribe("v2")
    bus.publish("v2", "gone")
    assert got == [("v1", "hello", "p1", "")]


async def test_shutdown_closes_websockets_with_1012_at_once(tmp_path: Path) -> None:
    """A node stopping with live visits tells clients to reconnect and does not hang."""
    import asyncio
    import time

    import aiohttp
    from aiohttp import web

    from services.admin.provision import Admin
    from services.booking.scheduling import GuestSpec
    from services.domain.model import Role, VisitKind
    from services.ids import Actor
    from signaling.app import LINKS, STORE, VISITS

    app = create_app(make_settings(tmp_path))
    runner = web.AppRunner(app, shutdown_timeout=10)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    admin = Admin(app[STORE])
    facility = await admin.facility("F")
    room = await admin.room(facility.id, "R")
    terminal, _ = await admin.terminal(room.id, "T", "http://x")
    await admin.import_inmates(facility.id, "number,name\n1,A\n")
    inmate = await app[STORE].find_inmate(facility.id, "1")
    assert inmate is not None
    visit = await app[VISITS].schedule(
        terminal_id=terminal.id,
        inmate_id=inmate.id,
        kind=VisitKind.REGULAR,
        start=time.time(),
        guests=[GuestSpec(Role.FAMILY, "S")],
        actor=Actor(Role.ADMIN, "t"),
    )
    seat = next(p for p in visit.visit.participants if p.role is Role.FAMILY)
    token = await app[LINKS].participant_token(visit.visit, seat)
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws?token={token}")
        assert (await ws.receive_json())["type"] == "welcome"
        started = time.monotonic()
        cleanup = asyncio.create_task(runner.cleanup())
        while (msg := await ws.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
            pass
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1012
        await cleanup
        assert time.monotonic() - started < 5
