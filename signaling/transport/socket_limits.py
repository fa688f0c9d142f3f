"""The HTTP edge's socket limits: how many TCP connections one address may hold, and how long a
connection may take to send a request head.

- **Connection cap.** Each TCP connection, websockets included, counts against its peer address
  from accept to close; one beyond ``max_conns_per_address`` is closed at accept time, before
  aiohttp reads a byte or starts a task for it. Trusted proxies are exempt: behind nginx every
  connection comes from the proxy, and nginx's ``limit_conn`` counts clients (deploy/nginx/).
- **Header timeout.** aiohttp's keep-alive timer, started when a connection opens and again after
  each response, closes a connection whose next request head is still incomplete when it fires.
  Set to ``header_timeout_s``, it cuts a client that drips its headers (on ``/ws`` too), and ends
  idle keep-alive connections as soon.
- **Body timeout** is services.http.plumbing.json_body's; after a response, aiohttp reads what
  is left of an unread body for at most ``LINGER_S`` and then closes.

aiohttp has no public hook on its protocol factory, so this is the one module of Tatap that
touches aiohttp's private API (``Application._make_handler``, ``Server._kwargs``/``_loop``,
``RequestHandler.connection_made``/``connection_lost``); checked against aiohttp 3.9–3.14.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import structlog
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from services.addresses import Network, is_trusted, limit_key
from services.settings import Settings

log = structlog.get_logger("tatap.edge")
LINGER_S = 2.0  # after a response, how long an unread request body is read and dropped


def warn_untrusted_proxy(settings: Settings) -> bool:
    """Log ``node.proxy_not_trusted`` when a proxy is evident but not trusted; True if so.

    Tatap speaks plain http, so an https public URL means a proxy (nginx) terminates TLS in front
    of it. With no TATAP_TRUSTED_PROXIES every client then has the proxy's address: one
    connection cap (256) and one login throttle for all of them."""
    https = settings.public_url.strip().lower().startswith("https://")
    if not https or settings.trusted_proxies:
        return False
    log.warning(
        "node.proxy_not_trusted",
        public_url=settings.base_url,
        fix="set TATAP_TRUSTED_PROXIES to the proxy's address (127.0.0.1 for nginx on "
        "this host); until then every client counts as the proxy",
    )
    return True


def handler_args(settings: Settings) -> dict[str, Any]:
    """Arguments for aiohttp's per-connection protocol; they win over ``run_app``'s defaults."""
    return {"keepalive_timeout": settings.header_timeout_s, "lingering_time": LINGER_S}


class ConnectionCap:
    """Open TCP connections per peer address (IPv6 per /64), refused beyond ``limit``.

    Holds an entry only for addresses with a connection open, so its size is bounded by the
    number of open sockets.
    """

    def __init__(self, limit: int, exempt: tuple[Network, ...] = ()) -> None:
        self.limit = limit
        self._exempt = exempt
        self._open: dict[str, int] = {}
        self.refused = 0

    def acquire(self, peer: str) -> str | None:
        """The key the connection counts under, or None when it is refused."""
        key = limit_key(peer)
        held = self._open.get(key, 0)
        if held >= self.limit and not is_trusted(peer, self._exempt):
            self.refused += 1
            return None
        self._open[key] = held + 1
        return key

    def release(self, key: str) -> None:
        left = self._open.get(key, 0) - 1
        if left > 0:
            self._open[key] = left
        else:
            self._open.pop(key, None)


class _CappedHandler(RequestHandler):
    """aiohttp's protocol for one connection, admitted by the cap before aiohttp sees it."""

    __slots__ = ("_cap", "_address")

    def __init__(self, manager: Server, cap: ConnectionCap, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._cap = cap
        self._address: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = self._cap.acquire(str(peer[0]) if isinstance(peer, tuple) and peer else "")
        if address is None:
            # Abort, not close: nothing is owed to a client over its cap, and no task was started.
            cast(asyncio.Transport, transport).abort()
            return
        self._address = address
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._address is None:
            return  # refused at accept: aiohttp never took it on
        self._cap.release(self._address)
        self._address = None
        super().connection_lost(exc)


class _CappedServer(Server):
    """aiohttp's protocol factory, making capped handlers."""

    def __init__(self, cap: ConnectionCap, plain: Server) -> None:
        super().__init__(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            **plain._kwargs,
        )
        self._cap = cap

    def __call__(self) -> RequestHandler:
        return _CappedHandler(self, self._cap, loop=self._loop, **self._kwargs)


def install_cap(app: web.Application, cap: ConnectionCap) -> None:
    """Every server built for ``app`` (``run_app``, ``AppRunner``, the test server) is capped."""
    make = app._make_handler

    def make_capped(**kwargs: Any) -> Server:
        return _CappedServer(cap, make(**kwargs))

    app._make_handler = make_capped  # type: ignore[method-assign]
