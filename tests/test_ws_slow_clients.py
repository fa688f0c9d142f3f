"""Clients that never read, against a real server on real sockets: what the server buffers for
them stays bounded, and a socket dropped for slowness or abuse is gone at once."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from services.domain.model import Role
from signaling.endpoint import Endpoint
from signaling.transport import connection
from signaling.transport.connection import Connection
from signaling.transport.frames import OP_PING, OP_TEXT
from tests.helpers.raw_ws import RawSocket, client_frame
from tests.helpers.world import World, build_world

PING = client_frame(OP_PING, b"p" * 125)  # the biggest ping: each pong is 127 bytes


def live_sockets(app: web.Application) -> set[Connection]:
    """The server's open /ws sockets, as its keepalive sees them."""
    for route in app.router.routes():
        endpoint = getattr(route.handler, "__self__", None)
        if isinstance(endpoint, Endpoint):
            return endpoint._live
    raise LookupError("no /ws endpoint")


async def settled(app: web.Application, count: int) -> set[Connection]:
    """The live sockets once there are ``count`` of them (the server registers a socket just
    after its handshake answer, which the client may read first)."""
    async with asyncio.timeout(2.0):
        while len(live_sockets(app)) != count:
            await asyncio.sleep(0)
    return live_sockets(app)


def buffered(app: web.Application) -> int:
    return sum(c.transport.get_write_buffer_size() for c in live_sockets(app))


async def test_sockets_that_ping_and_never_read_are_aborted(world: World) -> None:
    """Two unauthenticated sockets send pings without pause and read nothing: both are cut off
    long before their hello timeout, and what the server buffers for them stays under the limit."""
    sockets = [await RawSocket.open(world, rcvbuf=1024) for _ in range(2)]
    for raw in sockets:
        raw.stop_reading()
    started, most = time.monotonic(), 0
    while live_sockets(world.app) and time.monotonic() - started < 1.5:
        for raw in sockets:
            if not raw.writer.is_closing():
                raw.send(PING * 50)
        await asyncio.sleep(0.01)  # the server reads what was sent
        most = max(most, buffered(world.app))
    assert not live_sockets(world.app)
    assert time.monotonic() - started < world.settings.hello_timeout_s
    assert most <= 2 * (connection.MAX_BUFFERED + 127)
    for raw in sockets:
        await raw.gone(timeout=1.0)
        raw.close()


async def test_pongs_count_against_the_write_buffer_limit(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pongs to a client that does not read fill its write buffer like any other frame: past the
    limit the socket is dropped as too slow, though its pings stayed within the rate limit."""
    monkeypatch.setattr(connection, "MAX_BUFFERED", 1024)
    raw = await RawSocket.open(world, rcvbuf=1024)
    # Small kernel buffers on both ends, so that the server's own buffer starts to fill after a
    # few KiB instead of megabytes.
    (conn,) = await settled(world.app, 1)
    conn.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    raw.stop_reading()
    raw.send(PING * 150)  # fewer than the burst of 200 messages the rate limit allows
    await raw.gone(timeout=1.0)
    assert not live_sockets(world.app)
    raw.close()


async def test_abuse_close_does_not_wait_for_the_client(world: World) -> None:
    """After ten refused messages the server sends its 4002 close and ends the connection at once,
    without waiting for the client's closing handshake."""
    visit = await world.schedule()
    raw = await RawSocket.open(world)
    hello = {"type": "hello", "token": await world.token(visit, Role.FAMILY)}
    raw.send(client_frame(OP_TEXT, orjson.dumps(hello)))
    raw.send(client_frame(OP_TEXT, b"garbage") * 10)
    assert await raw.close_code() == 4002
    started = time.monotonic()
    await raw.gone(timeout=1.0)  # the old server waited 2 s for the client's close frame
    assert time.monotonic() - started < 0.5
    raw.close()


async def test_too_many_messages_before_hello_close_1008(world: World) -> None:
    """An unauthenticated socket may have at most 16 messages waiting to be read; the 17th
    closes it with 1008 (policy violation)."""
    raw = await RawSocket.open(world)
    raw.send(client_frame(OP_TEXT, b'{"type":"ping"}') * 17)
    assert await raw.close_code() == 1008
    raw.close()


async def test_ping_flood_closes_1008(world: World) -> None:
    """Pings share the message rate limit (bursts of 200): a flood of them closes 1008."""
    raw = await RawSocket.open(world)
    raw.send(client_frame(OP_PING, b"") * 1000)
    assert await raw.close_code() == 1008
    raw.close()


@pytest.fixture
async def quick_hello(tmp_path: Path) -> AsyncIterator[World]:
    async for w in build_world(tmp_path, hello_timeout_s=0.5):
        yield w


async def test_socket_that_cannot_be_flushed_is_gone_after_its_close_wait(
    quick_hello: World,
) -> None:
    """A socket that sends no hello and reads nothing, with pongs still waiting in the server's
    buffer, is closed at its hello timeout and aborted after the close wait: the server does not
    hold it while it waits for a flush that never comes."""
    world = quick_hello
    raw = await RawSocket.open(world, rcvbuf=1024)
    (conn,) = await settled(world.app, 1)
    server_side = conn.transport.get_extra_info("socket")
    server_side.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    raw.stop_reading()
    raw.send(PING * 150)
    limit = world.settings.hello_timeout_s + connection.CLOSE_WAIT_S + 0.5
    started = time.monotonic()
    # Watched from the server's side: the client must not read, or the buffer would drain.
    async with asyncio.timeout(limit):
        while server_side.fileno() != -1:
            await asyncio.sleep(0.05)
    assert time.monotonic() - started < limit
    raw.close()
