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

aiohttp has no public hook on its protocol factory: the cap is installed by
signaling.transport.upgrade, the one module that touches aiohttp's private API.
"""

from __future__ import annotations

from typing import Any

import structlog

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
