"""The aiohttp private API that signaling.transport.upgrade relies on is still there, with the
signatures it calls, and the upgrade and the connection cap still work on a real server: an
aiohttp release that breaks either fails here before it fails in production."""

from __future__ import annotations

import asyncio
import base64
import inspect
import os

from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from signaling.transport.upgrade import Upgrade, install_cap


def _params(func: object) -> list[str]:
    return list(inspect.signature(func).parameters)  # type: ignore[arg-type]


def test_private_methods_keep_their_signatures() -> None:
    assert _params(web.WebSocketResponse._post_start)[:4] == [
        "self",
        "request",
        "protocol",
        "writer",
    ]
    assert _params(RequestHandler.set_parser)[:2] == ["self", "parser"]
    assert _params(RequestHandler.keep_alive)[:2] == ["self", "val"]
    assert _params(RequestHandler.connection_made)[:2] == ["self", "transport"]
    assert _params(RequestHandler.connection_lost)[:2] == ["self", "exc"]
    assert _params(RequestHandler.__init__)[:2] == ["self", "manager"]
    make = inspect.signature(web.Application._make_handler).parameters
    assert make["loop"].kind is inspect.Parameter.KEYWORD_ONLY
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in make.values())
    server = inspect.signature(Server.__init__).parameters
    for name in ("handler", "request_factory", "handler_cancellation", "loop", "kwargs"):
        assert name in server, name


def test_private_attributes_exist() -> None:
    response = web.WebSocketResponse()
    for name in ("_req", "_ws_protocol", "_writer"):
        assert hasattr(response, name), name

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    async def build() -> Server:
        server = Server(handler, handler_cancellation=True, keepalive_timeout=3.0)
        for name in ("_loop", "_kwargs", "request_handler", "request_factory"):
            assert hasattr(server, name), name
        assert server._kwargs == {"keepalive_timeout": 3.0}
        assert server.handler_cancellation is True
        return server

    asyncio.run(build())


class _Admission:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.released = 0
        self.freed = asyncio.Event()

    def acquire(self, peer: str) -> str | None:
        if self.open >= self.limit:
            return None
        self.open += 1
        return peer

    def release(self, key: str) -> None:
        self.open -= 1
        self.released += 1
        self.freed.set()


class _Parser:
    """Collects what aiohttp feeds it; the test's closer records the close."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.got = asyncio.Event()
        self.eof = asyncio.Event()
        self.closes: list[tuple[int, str]] = []

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.data += data
        self.got.set()
        return False, b""

    def feed_eof(self) -> None:
        self.eof.set()

    def close(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))


async def _upgrade(server: TestServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return reader, writer


async def test_upgrade_and_cap_on_a_real_server() -> None:
    parser = _Parser()
    admission = _Admission(limit=1)

    async def ws(request: web.Request) -> web.StreamResponse:
        response = Upgrade(compress=False)
        await response.prepare(request)
        response.attach(parser, parser)
        await parser.eof.wait()
        return response

    app = web.Application()
    app.router.add_get("/ws", ws)
    install_cap(app, admission)
    async with TestServer(app) as server:
        reader, writer = await _upgrade(server)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        writer.write(b"frame bytes")
        await asyncio.wait_for(parser.got.wait(), 5)
        assert bytes(parser.data) == b"frame bytes"  # our parser, not aiohttp's reader
        assert admission.open == 1
        # A second connection is over the cap: closed at accept, without an answer.
        refused_reader, refused_writer = await _upgrade(server)
        assert await asyncio.wait_for(refused_reader.read(), 5) == b""
        refused_writer.close()
        writer.close()
        await asyncio.wait_for(parser.eof.wait(), 5)
        await asyncio.wait_for(admission.freed.wait(), 5)
        assert admission.released == 1 and admission.open == 0
