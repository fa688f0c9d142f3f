"""Every touch of aiohttp's private API, and nothing else: aiohttp offers no public hook for
either thing Tatap needs from it.

- **The websocket upgrade.** aiohttp does the opening handshake; the bytes that follow go to our
  own frame parser (``RequestHandler.set_parser``), installed where aiohttp would install its
  reader (``WebSocketResponse._post_start``, ``_req``, ``_ws_protocol``, ``_writer``,
  ``RequestHandler.keep_alive``). The parser is duck-typed by aiohttp: ``feed_data`` returning
  ``(eof, tail)`` and ``feed_eof``.
- **The connection cap.** Each accepted TCP connection is offered to an admission before
  aiohttp reads a byte (``Application._make_handler``, ``Server._kwargs``/``_loop``,
  ``RequestHandler.connection_made``/``connection_lost``).

Checked against aiohttp 3.9-3.14 (pyproject.toml pins below 3.15); tests/test_aiohttp_contract.py
fails on an aiohttp that changes any of it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server


class FeedParser(Protocol):
    """What aiohttp feeds a connection's bytes to once it is upgraded."""

    def feed_data(self, data: bytes) -> tuple[bool, bytes]: ...

    def feed_eof(self) -> None: ...


class Closer(Protocol):
    """Whatever owns the socket after the upgrade and closes it."""

    def close(self, code: int, reason: str) -> None: ...


class Admission(Protocol):
    """Admits a TCP connection by its peer address (a key to release later) or refuses it."""

    def acquire(self, peer: str) -> str | None: ...

    def release(self, key: str) -> None: ...


class Upgrade(web.WebSocketResponse):
    """aiohttp does the opening handshake; the bytes that follow go to ``attach``'s parser.

    ``_post_start`` is where aiohttp would install its own reader and queue; ``close`` is the
    closer's (it closes the socket), so aiohttp's end-of-response does nothing more.
    """

    _closer: Closer | None = None

    def attach(self, parser: FeedParser, closer: Closer) -> None:
        """From now on this socket's bytes go to ``parser``; closing it is ``closer``'s."""
        self._closer = closer
        request = self._req
        assert request is not None and request.protocol is not None
        request.protocol.set_parser(parser)  # type: ignore[arg-type]

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        self._ws_protocol = protocol
        self._writer = writer
        request.protocol.keep_alive(False)

    async def close(self, *, code: int = 1000, message: bytes = b"", drain: bool = True) -> bool:
        if self._closer is not None:
            self._closer.close(code, message.decode(errors="replace"))
        return False


class _CappedHandler(RequestHandler):
    """aiohttp's protocol for one connection, admitted before aiohttp sees it."""

    __slots__ = ("_admission", "_address")

    def __init__(self, manager: Server, admission: Admission, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._admission = admission
        self._address: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = self._admission.acquire(str(peer[0]) if isinstance(peer, tuple) and peer else "")
        if address is None:
            # Abort, not close: nothing is owed to a client over its cap, and no task was started.
            cast(asyncio.Transport, transport).abort()
            return
        self._address = address
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._address is None:
            return  # refused at accept: aiohttp never took it on
        self._admission.release(self._address)
        self._address = None
        super().connection_lost(exc)


class _CappedServer(Server):
    """aiohttp's protocol factory, making capped handlers."""

    def __init__(self, admission: Admission, plain: Server) -> None:
        super().__init__(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            **plain._kwargs,
        )
        self._admission = admission

    def __call__(self) -> RequestHandler:
        return _CappedHandler(self, self._admission, loop=self._loop, **self._kwargs)


def install_cap(app: web.Application, admission: Admission) -> None:
    """Every server built for ``app`` (``run_app``, ``AppRunner``, the test server) admits its
    connections through ``admission``."""
    make = app._make_handler

    def make_capped(**kwargs: Any) -> Server:
        return _CappedServer(admission, make(**kwargs))

    app._make_handler = make_capped  # type: ignore[method-assign]
