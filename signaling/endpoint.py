"""``/ws``: authenticate first, take a seat, then read until the socket or the visit ends."""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import WSMsgType, web

from services.clock import Clock
from services.errors import TatapError, TokenRevoked, Unauthorized
from services.model import Role
from services.settings import Settings
from services.store import Store
from services.tokens import TokenService
from services.visits import VisitService
from signaling import protocol
from signaling.connection import Connection
from signaling.hub import Hub

log = structlog.get_logger("tatap.ws")

JOINABLE = frozenset({Role.FAMILY, Role.TEACHER, Role.TERMINAL, Role.OFFICER})


class Endpoint:
    def __init__(
        self,
        settings: Settings,
        hub: Hub,
        tokens: TokenService,
        visits: VisitService,
        store: Store,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._hub = hub
        self._tokens = tokens
        self._visits = visits
        self._store = store
        self._clock = clock

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(
            # Frames up to 4× our limit are read and answered with `too_large`; beyond that
            # aiohttp closes with 1009 without reading them into memory.
            max_msg_size=self._settings.max_frame_bytes * 4,
            # Pings find dead phones (no FIN on a lost network) well within the reconnect grace.
            heartbeat=30.0,
            # Signaling frames are small and mostly SDP: compressing them costs more CPU than it
            # saves bytes, and an uncompressed socket can take frames straight from the relay.
            compress=False,
        )
        await ws.prepare(request)
        conn = Connection(ws, self._settings.send_queue, request.remote or "")
        writer = asyncio.create_task(conn.write_loop(), name="ws-writer")
        structlog.contextvars.bind_contextvars(node_id=self._settings.node_id)
        try:
            if await self._authenticate(conn, request.query.get("token", "")):
                await self._read_loop(conn)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ws.handler_failed")
        finally:
            self._hub.disconnected(conn)
            conn.close(1000, "")
            try:
                await asyncio.wait_for(writer, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                writer.cancel()
            if not ws.closed:
                await ws.close()
            structlog.contextvars.clear_contextvars()
        return ws

    async def _authenticate(self, conn: Connection, query_token: str) -> bool:
        """Token from the query string or a `hello` within the time limit; else close 4401."""
        hello: protocol.Hello | None = protocol.Hello(token=query_token) if query_token else None
        if hello is None:
            try:
                msg = await conn.ws.receive(timeout=self._settings.hello_timeout_s)
            except TimeoutError:
                conn.send(protocol.error("unauthorized", "no hello in time"))
                conn.close(protocol.CLOSE_UNAUTHORIZED, "no hello")
                return False
            if msg.type is not WSMsgType.TEXT:
                if msg.type is WSMsgType.BINARY:
                    conn.send(protocol.error(protocol.E_BAD_MESSAGE, "text frames only"))
                conn.close(protocol.CLOSE_UNAUTHORIZED, "no hello")
                return False
            try:
                parsed = self._parse(msg.data)
            except protocol.ProtocolError as exc:
                conn.send(protocol.error(exc.code, exc.message))
                conn.close(protocol.CLOSE_UNAUTHORIZED, "hello expected")
                return False
            if not isinstance(parsed, protocol.Hello):
                conn.send(protocol.error(protocol.E_NOT_JOINED, "the first message must be hello"))
                conn.close(protocol.CLOSE_UNAUTHORIZED, "hello expected")
                return False
            hello = parsed
        try:
            await self._admit(conn, hello)
        except TatapError as exc:
            log.info("ws.refused", code=exc.code)
            conn.send(
                protocol.dumps(
                    {
                        "type": "error",
                        "code": exc.code,
                        "message": exc.message,
                        **({"details": exc.details} if exc.details else {}),
                    }
                )
            )
            conn.close(exc.close_code, exc.code)
            return False
        return True

    async def _admit(self, conn: Connection, hello: protocol.Hello) -> None:
        if hello.device_id:
            terminal = await self._visits.authenticate_terminal(
                hello.device_id, hello.device_secret
            )
            structlog.contextvars.bind_contextvars(role="terminal", terminal_id=terminal.id)
            await self._hub.devices.connect(conn, terminal)
            return
        claims = self._tokens.decode(hello.token, self._clock.now())
        if claims.role not in JOINABLE or not claims.visit:
            raise Unauthorized("this token does not open a visit")
        if await self._store.is_revoked(claims.jti):
            raise TokenRevoked("token revoked")
        structlog.contextvars.bind_contextvars(visit_id=claims.visit, role=claims.role.value)
        await self._hub.join(conn, claims.visit, claims.sub, claims.role)
        log.info("ws.joined")

    def _parse(self, data: str) -> protocol.Inbound:
        if len(data) > self._settings.max_frame_bytes:
            raise protocol.ProtocolError(protocol.E_TOO_LARGE, "frame too large")
        return protocol.parse(data)

    async def _read_loop(self, conn: Connection) -> None:
        hub = self._hub
        async for msg in conn.ws:
            if msg.type is WSMsgType.TEXT:
                try:
                    if not conn.allow():
                        raise protocol.ProtocolError(protocol.E_RATE_LIMITED, "slow down")
                    self._dispatch(conn, self._parse(msg.data))
                except protocol.ProtocolError as exc:
                    self._reject(conn, exc.code, exc.message)
            elif msg.type is WSMsgType.BINARY:
                self._reject(conn, protocol.E_BAD_MESSAGE, "text frames only")
            else:  # CLOSE, CLOSING, ERROR
                break
            if conn.closing:
                break
        del hub

    def _dispatch(self, conn: Connection, message: protocol.Inbound) -> None:
        hub = self._hub
        match message:
            case protocol.Signal(to=to, data=data):
                hub.relay(conn, to, data)
            case protocol.Ping(id=ref):
                conn.send(protocol.dumps({"type": "pong", "id": ref}))
            case protocol.MediaUp():
                hub.media_up(conn)
            case protocol.Leave():
                hub.leave(conn)
            case protocol.Terminate(reason=reason):
                hub.terminate_from(conn, reason)
            case protocol.Notice(code=code):
                hub.notice(conn, code)
            case protocol.Hello():
                raise protocol.ProtocolError(protocol.E_BAD_MESSAGE, "already joined")

    def _reject(self, conn: Connection, code: str, message: str) -> None:
        conn.errors += 1
        conn.send(protocol.error(code, message))
        if conn.errors >= self._settings.max_errors:
            log.warning("ws.abuse", errors=conn.errors)
            conn.close(protocol.CLOSE_ABUSE, "too many errors")
