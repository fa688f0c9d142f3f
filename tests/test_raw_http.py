"""Hostile bytes in what we read from a request (headers, the token in the query string) get a
typed 4xx, never a 500: raw HTTP over a real socket, as an attacker would send it."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest
from yarl import URL

from tests.helpers.world import World

UPGRADE = {
    "Connection": b"Upgrade",
    "Upgrade": b"websocket",
    "Sec-WebSocket-Version": b"13",
    "Sec-WebSocket-Key": b"dGhlIHNhbXBsZSBub25jZQ==",
}


async def raw(world: World, request: bytes) -> tuple[int, bytes]:
    """Send one request as bytes; returns the status and the body of the response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", world.client.port)
    try:
        writer.write(request)
        async with asyncio.timeout(5):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            body = await reader.readexactly(length)
    finally:
        writer.close()
    return int(head.split(b" ", 2)[1]), body


def request(path: str, headers: dict[str, bytes]) -> bytes:
    lines = [f"GET {path} HTTP/1.1".encode(), b"Host: localhost"]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@pytest.mark.parametrize("byte", [b"\xe9", b"\xff", b"\x80"])
@pytest.mark.parametrize("path", ["/api/v1/audit/events", "/api/v1/visits/v_1"])
async def test_non_utf8_authorization_header_is_401(world: World, byte: bytes, path: str) -> None:
    """A latin-1 (not UTF-8) byte in a bearer token: 401 `unauthorized`, not a 500."""
    status, body = await raw(world, request(path, {"Authorization": b"Bearer ey" + byte + b"J9"}))
    assert status == 401, body
    assert orjson.loads(body)["error"]["code"] == "unauthorized"


async def test_non_utf8_token_in_the_query_string_closes_4401(world: World) -> None:
    """`/ws?token=` with bytes that are not UTF-8 is refused like any bad token: 4401."""
    url = URL(str(world.client.make_url("/ws")) + "?token=ey%FF%E9J9", encoded=True)
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        msg = await ws.receive(timeout=5)
        assert orjson.loads(msg.data)["code"] == "unauthorized"
        await ws.receive(timeout=5)
        assert ws.close_code == 4401


@pytest.mark.parametrize("header", sorted(UPGRADE))
async def test_non_ascii_websocket_handshake_header_is_400(world: World, header: str) -> None:
    """A byte beyond ASCII in a header of the websocket handshake: 400 `bad_request`."""
    headers = dict(UPGRADE)
    headers[header] = headers[header][:3] + b"\xe9" + headers[header][3:]
    status, body = await raw(world, request("/ws", headers))
    assert status == 400, body
    assert orjson.loads(body)["error"]["code"] == "bad_request"


@pytest.mark.parametrize(
    "value", [b"a.1.\xc3\xa9\xc3\xa9", b"\xff.1.00", b"a.\xc2\xb2.0", b"a.\xd9\xa1.0"]
)
async def test_a_hostile_device_cookie_is_ignored_at_login(world: World, value: bytes) -> None:
    """A `tatap_device` cookie with non-ASCII bytes or non-ASCII digits is ignored: the login
    answers as it would without it (a wrong password is a 401), never a 500."""
    body = orjson.dumps({"username": "nobody", "password": "wrong"})
    head = [
        b"POST /api/v1/auth/login HTTP/1.1",
        b"Host: localhost",
        b"Content-Type: application/json",
        b"Content-Length: " + str(len(body)).encode(),
        b"Cookie: tatap_device=" + value,
    ]
    status, answer = await raw(world, b"\r\n".join(head) + b"\r\n\r\n" + body)
    assert status == 401, answer
