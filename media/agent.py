"""The visit-room terminal agent: one authenticated device session, kept open for ever.

It connects with the terminal's credentials, reconnects with capped, jittered backoff after any
drop, and on each ``welcome`` serves that visit (``media.session``). After ``ended`` it stays on the
same socket and gets ``idle`` or the next ``welcome`` (PROTOCOL.md §4).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass
from importlib.metadata import version as _version
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import structlog

from media.backoff import Backoff
from media.display import Display
from media.feeds import MONITOR_WIDTH
from media.peer import ice_servers
from media.session import VisitSession
from media.sources import Source
from media.speaker import NullSpeaker, Speaker
from signaling import protocol

# What this agent tells the server it is (officers see it on the terminals list).
AGENT = f"tatap-terminal/{_version('tatap')}"

log = structlog.get_logger("tatap.terminal")

# Close codes after which reconnecting cannot help: another agent holds this terminal's seat, or
# we sent something the server calls a bug.
FATAL_CLOSES: dict[int, str] = {
    protocol.Close.REPLACED: "another agent connected with these credentials",
    protocol.Close.TOO_MANY_ERRORS: "the server refused too many of our messages",
}


OUTBOX = 64  # messages waiting for the socket; a terminal sends a handful per visit
HANDSHAKE_S = 15.0  # TCP connect plus the upgrade response: a server that never answers is a drop
KEEP = 4  # recent visits and welcomes kept for status and tests; the agent runs for months


class AgentStopped(RuntimeError):
    """The agent cannot go on (see FATAL_CLOSES)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    server: str
    terminal_id: str
    secret: str

    @classmethod
    def read(cls, path: Path) -> Credentials:
        """The file ``tatap admin terminal --credentials FILE`` writes."""
        data = json.loads(path.read_text())
        return cls(str(data.get("server", "")), str(data["terminal_id"]), str(data["secret"]))


def ws_url(server: str) -> str:
    base = server.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/ws"
    if base.startswith("http://"):
        return "ws://" + base.removeprefix("http://") + "/ws"
    return base if base.endswith("/ws") else base + "/ws"


class TerminalAgent:
    def __init__(
        self,
        creds: Credentials,
        source: Source,
        display: Display,
        *,
        grace_s: float = 2.0,
        backoff: Backoff | None = None,
        handshake_s: float = HANDSHAKE_S,
        speaker: Speaker | None = None,
        monitor_width: int = MONITOR_WIDTH,
    ) -> None:
        self.creds = creds
        self.source = source
        self.display = display
        self.speaker = speaker or NullSpeaker()
        self.monitor_width = monitor_width  # officers' video: at most this wide (0: as it is)
        self.session: VisitSession | None = None
        self.sessions: deque[VisitSession] = deque(maxlen=KEEP)  # the latest visits served
        self.visits_served = 0
        self.attempts = 0  # connection attempts, failed ones included
        self.connects = 0  # sockets opened
        self.welcomes: deque[protocol.Welcome] = deque(maxlen=KEEP)
        self._frames_past = 0  # video frames decoded in visits that are over
        self._handshake = handshake_s
        self._grace = grace_s
        self._backoff = backoff or Backoff(0.5, 10.0)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._outbox: asyncio.Queue[str] | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="terminal-agent")
        return self._task

    async def run(self) -> None:
        """Connect, serve, reconnect; returns when closed, raises AgentStopped when it must stop."""
        url = ws_url(self.creds.server)
        timeout = aiohttp.ClientTimeout(total=None, connect=10.0)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not self._stop.is_set():
                code: int | None = None
                try:
                    code = await self._connection(http, url)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.info("terminal.connect_failed", error=type(exc).__name__)
                except Exception:  # unattended: a bug in one connection must not stop the agent
                    log.exception("terminal.connection_failed")
                if code in FATAL_CLOSES:
                    raise AgentStopped(FATAL_CLOSES[code])
                if not self._stop.is_set():
                    await self._backoff.wait(self._stop)

    async def aclose(self) -> None:
        """Stop reconnecting, hang up, release the camera and the window. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, AgentStopped):
                await self._task
        if self.session is not None:
            await self.session.aclose("shutdown")
        await self.source.aclose()
        await self.display.aclose()
        await self.speaker.aclose()

    # ---- one connection -----------------------------------------------------------------

    async def _connection(self, http: aiohttp.ClientSession, url: str) -> int | None:
        """One socket: a reader (here) and a writer task fed by a bounded queue."""
        timeout = aiohttp.ClientWSTimeout(ws_close=5.0)
        self.attempts += 1
        async with asyncio.timeout(self._handshake):
            handshake = await http.ws_connect(url, heartbeat=10.0, timeout=timeout)
        async with handshake as ws:
            self.connects += 1
            outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX)
            hello = {
                "type": "hello",
                "device": {
                    "id": self.creds.terminal_id,
                    "secret": self.creds.secret,
                    "agent": AGENT,
                },
            }
            outbox.put_nowait(protocol.dumps(hello))
            writer = asyncio.create_task(_write_loop(ws, outbox), name="terminal-writer")
            self._ws, self._outbox = ws, outbox
            try:
                async for msg in ws:
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        await self._receive(msg.data)
                    elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                        break
            finally:
                self._ws, self._outbox = None, None
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            log.info("terminal.disconnected", code=ws.close_code)
            return ws.close_code

    def _send(self, message: dict[str, Any]) -> bool:
        """Queue a message for the live socket; False when there is none or it is backed up (the
        message is dropped: signalling is retried by renegotiation, not by resending)."""
        outbox = self._outbox
        if outbox is None:
            return False
        try:
            outbox.put_nowait(protocol.dumps(message))
        except asyncio.QueueFull:
            log.warning("terminal.outbox_full")
            return False
        return True

    async def _receive(self, raw: str) -> None:
        try:
            await self._handle(protocol.parse_server(raw))
        except (ValueError, KeyError, TypeError, protocol.ProtocolError):
            log.warning("terminal.bad_message", exc_info=True)

    async def _handle(self, msg: protocol.ServerMessage) -> None:
        session = self.session
        match msg:
            case protocol.Welcome():
                self._backoff.reset()
                self.welcomes.append(msg)
                await self._welcome(msg)
            case protocol.Idle(next=upcoming):
                self._backoff.reset()
                if session is not None:  # the visit ended while we were away
                    await self._end(session, "idle")
                log.info("terminal.idle", next=msgspec.to_builtins(upcoming))
            case protocol.Error(code=code, message=message) if session is None:
                log.warning("terminal.error", code=code, message=message)
            case _ if session is None:
                return
            case protocol.TimeLeft(remaining_ms=remaining_ms):
                session.time_left(remaining_ms)
            case protocol.SignalFrom(sender=sender, data=data):
                session.signal(sender, data)
            case protocol.PeerJoined(peer=peer):
                session.peer_joined(peer)
            case protocol.PeerLeft(peer=peer, reason=reason):
                session.peer_left(peer, reason)
            case protocol.Ended(reason=reason):
                await self._end(session, reason)
            case protocol.Muted(side=side, muted=muted):
                session.muted(side, muted)
            case (
                protocol.Warning()
                | protocol.NoticeFrom()
                | protocol.InmateReady()
                | protocol.Error()
            ):
                fields = msgspec.structs.asdict(msg)
                log.info(f"terminal.{type(msg).__struct_config__.tag}", **fields)

    async def _welcome(self, msg: protocol.Welcome) -> None:
        visit_id = msg.visit.id
        session = self.session
        if session is not None and (session.visit_id != visit_id or session.end_reason):
            await self._end(session, "replaced", release=False)
            session = None
        if session is None:
            self.source.resume()
            session = VisitSession(
                msg,
                ice_servers(msg.ice_servers),
                self.source,
                self.display,
                self._send,
                self._grace,
                self.speaker,
                self.monitor_width,
            )
            self.session = session
            self.sessions.append(session)
            self.visits_served += 1
        log.info("terminal.welcome", visit_id=visit_id, resumed=msg.resumed)
        session.welcomed(msg)

    async def _end(self, session: VisitSession, reason: str, release: bool = True) -> None:
        if self.session is not session:
            return
        self.session = None
        await session.aclose(reason)
        self._frames_past += session.frames_decoded
        if release and self.session is None:
            self.source.pause()  # no visit needs the camera until the next welcome

    @property
    def frames_decoded(self) -> int:
        """Video frames decoded from every visit served since the agent started."""
        live = self.session.frames_decoded if self.session is not None else 0
        return self._frames_past + live


async def _write_loop(ws: aiohttp.ClientWebSocketResponse, outbox: asyncio.Queue[str]) -> None:
    while True:
        text = await outbox.get()
        try:
            await ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return  # the socket is closing; the reader sees it and reconnects
