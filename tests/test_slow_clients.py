"""Slow and greedy clients at the socket level: dripped request heads and bodies are cut within
seconds, and one address cannot hold more than its share of connections.

Raw sockets against a real server; each source address is a loopback address of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.helpers.served import tatap_serve
from tests.helpers.world import World, build_world

DRIP_EVERY_S = 0.3


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for w in build_world(
        tmp_path, header_timeout_s=1.0, body_timeout_s=1.0, max_conns_per_address=3
    ):
        yield w


def server_address(world: World) -> tuple[str, int]:
    url = world.client.make_url("/")
    assert url.host is not None and url.port is not None
    return url.host, url.port


async def open_from(
    address: str, server: tuple[str, int]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(*server, local_addr=(address, 0))


async def drip_until_cut(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit_s: float
) -> tuple[float, bytes]:
    """Send one byte every DRIP_EVERY_S until the server closes; the time it took and what the
    server said before closing."""
    started = time.monotonic()
    said = b""
    while time.monotonic() - started < limit_s:
        try:
            chunk = await asyncio.wait_for(reader.read(4096), DRIP_EVERY_S)
        except TimeoutError:
            writer.write(b"a")
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        said += chunk
    return time.monotonic() - started, said


async def test_dripped_request_head_is_cut(world: World) -> None:
    """A client that sends its request head a byte at a time is disconnected after the header
    timeout, not after aiohttp's keep-alive of 75 s."""
    reader, writer = await open_from("127.0.0.2", server_address(world))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Drip: ")
    took, said = await drip_until_cut(reader, writer, limit_s=10)
    writer.close()
    assert took < 3.0
    assert said == b""


async def test_dripped_websocket_upgrade_is_cut(world: World) -> None:
    """The /ws upgrade request dripped a byte at a time is cut the same way."""
    reader, writer = await open_from("127.0.0.2", server_address(world))
    writer.write(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
    )
    took, said = await drip_until_cut(reader, writer, limit_s=10)
    writer.close()
    assert took < 3.0
    assert said == b""


async def test_idle_kept_alive_connection_is_closed(world: World) -> None:
    """After a response, a kept-alive connection that sends nothing more is closed after the
    header timeout."""
    reader, writer = await open_from("127.0.0.2", server_address(world))
    started = time.monotonic()
    assert (await healthz_on(reader, writer)).startswith(b"HTTP/1.1 200")
    await asyncio.wait_for(reader.read(), 3)  # the rest of the response, then the close
    writer.close()
    assert time.monotonic() - started < 3.0


async def test_kept_alive_connection_dripping_its_next_head_is_cut(world: World) -> None:
    """After a response, a kept-alive connection that drips its next request head is cut after
    the header timeout as well."""
    reader, writer = await open_from("127.0.0.2", server_address(world))
    assert (await healthz_on(reader, writer)).startswith(b"HTTP/1.1 200")
    await reader.readuntil(b"\r\n\r\n")
    await reader.read(4096)  # the small JSON body
    writer.write(b"GET /healthz HTTP/1.1\r\nX-Drip: ")
    took, said = await drip_until_cut(reader, writer, limit_s=10)
    writer.close()
    assert took < 3.0
    assert said == b""


async def test_dripped_request_body_is_cut(world: World) -> None:
    """A request body dripped a byte at a time gets 408 and the connection is closed within a
    few seconds, instead of being held for ever."""
    reader, writer = await open_from("127.0.0.2", server_address(world))
    writer.write(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    took, said = await drip_until_cut(reader, writer, limit_s=15)
    writer.close()
    assert said.startswith(b"HTTP/1.1 408 ")
    assert b'"request_timeout"' in said
    assert took < 5.0


async def test_dripped_body_nobody_reads_is_dropped(world: World) -> None:
    """A body dripped to a route that never reads it is answered, read and dropped for a
    moment, then the connection is closed: it is not held for ever either."""
    reader, writer = await open_from("127.0.0.2", server_address(world))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
    took, said = await drip_until_cut(reader, writer, limit_s=15)
    writer.close()
    assert said.startswith(b"HTTP/1.1 200 ")
    assert took < 4.0


async def answer_of(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """Everything a connection answers to one request before it closes (b"" for a reset)."""
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        return await asyncio.wait_for(reader.read(), 5)
    except ConnectionResetError:
        return b""


async def healthz_on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One keep-alive request on an open connection; the status line of its answer."""
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    return await asyncio.wait_for(reader.readline(), 5)


async def test_connection_cap_refuses_one_more_from_the_same_address(world: World) -> None:
    """With a cap of 3, an address holding a websocket and two HTTP connections has its fourth
    connection closed at once, while another address still connects."""
    server = server_address(world)
    connector = aiohttp.TCPConnector(limit=0, local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        ws = await session.ws_connect(world.client.make_url("/ws"))
        held = [await open_from("127.0.0.2", server) for _ in range(2)]
        for reader, writer in held:
            assert (await healthz_on(reader, writer)).startswith(b"HTTP/1.1 200")
        reader, writer = await open_from("127.0.0.2", server)
        assert await answer_of(reader, writer) == b""  # closed at once, nothing said
        other = await open_from("127.0.0.3", server)
        assert (await healthz_on(*other)).startswith(b"HTTP/1.1 200")
        await ws.close()
        for _, w in [*held, other, (reader, writer)]:
            w.close()


async def test_closed_connections_free_their_place(world: World) -> None:
    """Connections an address closed no longer count against its cap."""
    server = server_address(world)
    for _ in range(3):
        first = [await open_from("127.0.0.2", server) for _ in range(3)]
        for reader, writer in first:
            assert (await healthz_on(reader, writer)).startswith(b"HTTP/1.1 200")
        for reader, writer in first:
            writer.close()
            await writer.wait_closed()
            await asyncio.wait_for(reader.read(), 5)  # the server saw the close too
    reader, writer = await open_from("127.0.0.2", server)
    assert (await healthz_on(reader, writer)).startswith(b"HTTP/1.1 200")
    writer.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, int]]:
    """`tatap serve` (aiohttp's run_app, uvloop when installed) with a header timeout of 1 s and
    a cap of 3 connections per address."""
    async with tatap_serve(tmp_path, header_timeout="1", max_conns_per_address="3") as node:
        yield node.address


async def test_served_node_cuts_a_dripped_head(served: tuple[str, int]) -> None:
    """`tatap serve` itself (whose run_app keeps idle connections 75 s by default) cuts a dripped
    request head after TATAP_HEADER_TIMEOUT."""
    reader, writer = await open_from("127.0.0.2", served)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Drip: ")
    took, said = await drip_until_cut(reader, writer, limit_s=10)
    writer.close()
    assert said == b""
    assert took < 3.0


async def test_served_node_caps_connections_per_address(served: tuple[str, int]) -> None:
    """`tatap serve` closes an address's connection beyond TATAP_MAX_CONNS_PER_ADDRESS at once,
    and counts it in /metrics."""
    held = [await open_from("127.0.0.2", served) for _ in range(3)]
    for reader, writer in held:
        assert (await healthz_on(reader, writer)).startswith(b"HTTP/1.1 200")
    reader, writer = await open_from("127.0.0.2", served)
    assert await answer_of(reader, writer) == b""  # closed at once, nothing said
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{served[1]}/metrics") as resp:
            assert 'tatap_connections_refused_total{node="' in await resp.text()
            assert (await resp.text()).rstrip().endswith(" 1")
    for _, w in [*held, (reader, writer)]:
        w.close()
