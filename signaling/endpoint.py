"""``/ws``: authenticate first, take a seat, then read until the socket or the visit ends."""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import cast

import structlog
from aiohttp import web

from services.access.guard import Guard
from services.access.terminals import authenticate_terminal
from services.errors import BadRequest, TatapError
from services.ids import ParticipantId, VisitId
from services.settings import Settings
from services.store.protocols import Store
from signaling import protocol
from signaling.transport.connection import Connection
from signaling.transport.socket_index import SocketIndex
from signaling.transport.upgrade import Upgrade
from signaling.visits.hub import Hub

log = structlog.get_logger("tatap.ws")


class Endpoint:
    def __init__(
        self,
        settings: Settings,
        hub: Hub,
        guard: Guard,
        store: Store,
        sockets: SocketIndex,
    ) -> None:
        self._settings = settings
        self._hub = hub
        self._guard = guard
        self._store = store  # for terminals' credentials
        self._sockets = sockets  # sockets by token, participant and staff account, for revoking
        self._live: set[Connection] = set()  # every open socket, for the keepalive

    async def handle(self, request: web.Request) -> web.StreamResponse:
        _check_handshake(request)
        ws = Upgrade(compress=False)  # see Upgrade: frames are read and written by us
        await ws.prepare(request)
        # An asyncio or uvloop transport (uvloop's do not subclass asyncio.Transport).
        transport = cast(asyncio.Transport, request.transport)
        if transport is None:
            return ws
        # Frames up to 4× our limit are read and answered with `too_large`; bigger ones close
        # the socket with 1009 before they are buffered (until hello is answered: 8 KiB).
        conn = Connection(transport, self._settings.max_frame_bytes * 4)
        ws.attach(conn.reader, conn)
        self._live.add(conn)
        structlog.contextvars.bind_contextvars(node_id=self._settings.node_id)
        try:
            if await self._authenticate(conn, request.query.get("token", "")):
                # Messages are handled as they arrive, in this socket's logging context.
                context = contextvars.copy_context()
                conn.serve(lambda is_text, data: context.run(self._on_message, conn, is_text, data))
                await conn.closed()
            else:
                await conn.closed()
        except asyncio.CancelledError:
            conn.abort()
            raise
        except Exception:
            log.exception("ws.handler_failed")
            conn.close(protocol.Close.INTERNAL, "internal error")
        finally:
            self._live.discard(conn)
            self._sockets.discard(conn)
            self._hub.disconnected(conn)
            conn.close(protocol.Close.NORMAL, "")
            structlog.contextvars.clear_contextvars()
        return ws

    async def keepalive(self, interval: float = 10.0, idle: float = 30.0) -> None:
        """One task for every socket: ping the quiet ones, drop those that do not answer.

        A phone that loses its network sends no FIN; without this its seat would look taken
        until the visit ends instead of starting the reconnect grace.
        """
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for conn in list(self._live):
                quiet = now - conn.last_seen
                if conn.pinged and quiet > idle + interval:
                    log.info("ws.unresponsive", role=conn.role_name)
                    conn.abort()
                elif quiet > idle and not conn.pinged:
                    conn.ping()

    async def _authenticate(self, conn: Connection, query_token: str) -> bool:
        """Token from the query string or a `hello` within the time limit; else close 4401."""
        hello: protocol.Hello | None = protocol.Hello(token=query_token) if query_token else None
        if hello is None:
            first = await conn.first_message(self._settings.hello_timeout_s)
            if first is None:
                if not conn.closing:
                    conn.send(protocol.error(protocol.E_UNAUTHORIZED, "no hello in time"))
                conn.close(protocol.Close.UNAUTHORIZED, "no hello")
                return False
            is_text, data = first
            try:
                if not is_text:
                    raise protocol.ProtocolError(protocol.E_BAD_MESSAGE, "text frames only")
                parsed = self._parse(data)
            except protocol.ProtocolError as exc:
                conn.send(protocol.error(exc.code, exc.message))
                conn.close(protocol.Close.UNAUTHORIZED, "hello expected")
                return False
            if not isinstance(parsed, protocol.Hello):
                conn.send(protocol.error(protocol.E_NOT_JOINED, "the first message must be hello"))
                conn.close(protocol.Close.UNAUTHORIZED, "hello expected")
                return False
            hello = parsed
        try:
            await self._admit(conn, hello)
        except TatapError as exc:
            log.info("ws.refused", code=exc.code)
            conn.send(protocol.error(exc.code, exc.message, exc.details))
            conn.close(protocol.close_for(exc.code), exc.code)
            return False
        return True

    async def _admit(self, conn: Connection, hello: protocol.Hello) -> None:
        if hello.device_id:
            terminal = await authenticate_terminal(
                self._store, hello.device_id, hello.device_secret
            )
            structlog.contextvars.bind_contextvars(role="terminal", terminal_id=terminal.id)
            await self._hub.devices.connect(conn, terminal, hello.agent)
            return
        # Indexed before the revocation check, so a revocation written meanwhile finds it.
        claims = await self._guard.seat(hello.token, lambda c: self._sockets.add(conn, c))
        structlog.contextvars.bind_contextvars(visit_id=claims.visit, role=claims.role.value)
        await self._hub.join(conn, VisitId(claims.visit), claims.sub, claims.role)
        log.info("ws.joined")

    def _parse(self, data: bytes) -> protocol.Inbound:
        if len(data) > self._settings.max_frame_bytes:
            raise protocol.ProtocolError(protocol.E_TOO_LARGE, "frame too large")
        return protocol.parse(data)

    def _on_message(self, conn: Connection, is_text: bool, data: bytes) -> None:
        """One client message, handled as it arrives (called from the socket's read callback)."""
        try:
            if not is_text:
                raise protocol.ProtocolError(protocol.E_BAD_MESSAGE, "text frames only")
            if not conn.allow():
                raise protocol.ProtocolError(protocol.E_RATE_LIMITED, "slow down")
            self._dispatch(conn, self._parse(data))
        except protocol.ProtocolError as exc:
            self._reject(conn, exc.code, exc.message)
        except Exception:  # a bug must cost this socket, never the read loop of the node
            log.exception("ws.message_failed")
            conn.close(protocol.Close.INTERNAL, "internal error")

    def _dispatch(self, conn: Connection, message: protocol.Inbound) -> None:
        hub = self._hub
        match message:
            case protocol.Signal(to=to, data=data):
                hub.relay(conn, ParticipantId(to), data)
            case protocol.Ping(id=ref):
                conn.send(protocol.pong(ref))
            case protocol.MediaUp():
                hub.media_up(conn)
            case protocol.Leave():
                hub.leave(conn)
            case protocol.Terminate(reason=reason):
                hub.terminate_from(conn, reason)
            case protocol.Notice(code=code):
                hub.notice(conn, code)
            case protocol.Mute(side=side, muted=muted):
                hub.mute(conn, side, muted)
            case protocol.Hello():
                raise protocol.ProtocolError(protocol.E_BAD_MESSAGE, "already joined")

    def _reject(self, conn: Connection, code: str, message: str) -> None:
        conn.errors += 1
        conn.send(protocol.error(code, message))
        if conn.errors >= self._settings.max_errors:
            log.warning("ws.abuse", errors=conn.errors)
            conn.drop(protocol.Close.TOO_MANY_ERRORS, "too many errors")


# The headers aiohttp reads (and may quote in its own error text) during the opening handshake.
HANDSHAKE_HEADERS = (
    "Connection",
    "Upgrade",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
)


def _check_handshake(request: web.Request) -> None:
    """Every handshake header we or aiohttp read is ASCII. A byte beyond it reaches us as a
    surrogate escape, on which aiohttp's handshake fails with a 500 instead of a 400."""
    for name in HANDSHAKE_HEADERS:
        if not request.headers.get(name, "").isascii():
            raise BadRequest("malformed websocket handshake")
