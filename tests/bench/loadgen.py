"""Load-generator processes, driven by the benchmark through a pipe.

Two kinds of worker, each one OS process with its own event loop (uvloop when installed):

- ``relay_worker``: pairs of sockets on one server (Tatap or PeerJS). In each pair the initiator
  sends an offer, then candidates, on a fixed schedule; the responder answers each one at once (an
  answer to the offer, a candidate to a candidate). The initiator times request → reply: one round
  trip is two relayed messages. Frames are encoded once up front so the generator spends its CPU on
  sockets.
- ``hold_worker``: many visits (terminal + family sockets, minimal clients from ``rawws``) held open
  at rest; every ``ended`` is stamped with the wall clock as the socket is read, so the benchmark
  can compare it with the visit's deadline.

Protocol on the pipe: the worker sends ``("ready", info)`` once connected; the benchmark sends
``("go", wall_time)``, the worker answers ``("done", results)``; ``("close",)`` ends the worker.
"""

from __future__ import annotations

import asyncio
import os
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import orjson

from tests.bench import rawws
from tests.bench.common import _die_with_parent
from tests.bench.payloads import ANSWER, CANDIDATES, OFFER

# ---- dialects: how a client talks to each server -------------------------------------------


@dataclass(frozen=True, slots=True)
class PairSpec:
    """Credentials of one pair: a token per seat for Tatap, a peer id per side for PeerJS."""

    initiator: str
    responder: str


def _tatap_url(port: int, cred: str) -> tuple[str, str | None]:
    return f"ws://127.0.0.1:{port}/ws", orjson.dumps({"type": "hello", "token": cred}).decode()


def _peerjs_url(port: int, cred: str) -> tuple[str, str | None]:
    return f"ws://127.0.0.1:{port}/peerjs?key=peerjs&id={cred}&token=bench-{cred}", None


def _tatap_frame(kind: str, dst: str, data: dict[str, Any]) -> str:
    return orjson.dumps({"type": "signal", "to": dst, "data": data}).decode()


def _peerjs_frame(kind: str, dst: str, data: dict[str, Any]) -> str:
    return orjson.dumps({"type": kind.upper(), "dst": dst, "payload": data}).decode()


def _relayed_data(dialect: str, msg: dict[str, Any]) -> dict[str, Any] | None:
    """The signal payload of a server frame, or None for anything else (time, welcome, ...)."""
    if dialect == "tatap":
        if msg.get("type") == "signal":
            data: dict[str, Any] = msg["data"]
            return data
        if msg.get("type") == "error":
            raise RuntimeError(f"server refused a message: {msg}")
        return None
    if msg.get("type") in ("OFFER", "ANSWER", "CANDIDATE"):
        payload: dict[str, Any] = msg["payload"]
        return payload
    if msg.get("type") in ("ERROR", "ID-TAKEN", "EXPIRE"):
        raise RuntimeError(f"server refused a message: {msg}")
    return None


def _kind(data: dict[str, Any]) -> str:
    sdp = data.get("sdp")
    return str(sdp["type"]) if isinstance(sdp, dict) else "candidate"


KEEPALIVE = {"tatap": '{"type":"ping"}', "peerjs": '{"type":"HEARTBEAT"}'}


def _run(main: Callable[[], Any]) -> None:
    _die_with_parent()  # a benchmark killed from outside takes its load workers with it
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


# ---- relay ----------------------------------------------------------------------------------


@dataclass
class RelayJob:
    dialect: str  # "tatap" or "peerjs"
    port: int
    pairs: list[PairSpec]
    rounds: int  # request/reply exchanges per pair
    interval_s: float  # between exchanges of one pair
    candidates_per_offer: int = 3


@dataclass
class RelayOutcome:
    rtt_ms: bytes = b""  # array('d') of round-trip times
    sent: int = 0  # messages the server had to relay
    cpu_s: float = 0.0  # this worker's own CPU during the exchange
    wall_s: float = 0.0
    late_starts: int = 0  # exchanges that began behind schedule (the generator fell behind)
    errors: list[str] = field(default_factory=list)


def relay_worker(job: RelayJob, pipe: Connection) -> None:
    _run(lambda: _relay_main(job, pipe))


async def _relay_main(job: RelayJob, pipe: Connection) -> None:
    url_of = _tatap_url if job.dialect == "tatap" else _peerjs_url
    frame_of = _tatap_frame if job.dialect == "tatap" else _peerjs_frame
    loop = asyncio.get_running_loop()
    out = RelayOutcome()
    rtts = array("d")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def open_ws(cred: str) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
            url, hello = url_of(job.port, cred)
            ws = await session.ws_connect(url, max_msg_size=0, autoping=True)
            if hello:
                await ws.send_str(hello)
            while True:  # until the server says we are in
                first = orjson.loads((await ws.receive(timeout=30)).data)
                if first.get("type") in ("welcome", "OPEN"):
                    return ws, first
                if first.get("type") in ("error", "ERROR", "ID-TAKEN"):
                    raise RuntimeError(f"refused: {first}")

        sockets: list[aiohttp.ClientWebSocketResponse] = []
        setups = []
        for spec in job.pairs:
            rws, rwelcome = await open_ws(spec.responder)
            iws, iwelcome = await open_ws(spec.initiator)
            sockets += [rws, iws]
            if job.dialect == "tatap":
                r_id, i_id = rwelcome["you"]["id"], iwelcome["you"]["id"]
                await iws.send_str('{"type":"connected"}')
                await rws.send_str('{"type":"connected"}')
            else:
                r_id, i_id = spec.responder, spec.initiator
            setups.append((iws, rws, i_id, r_id))
        pipe.send(("ready", len(sockets)))
        command = await loop.run_in_executor(None, pipe.recv)
        if command[0] != "go":  # the benchmark gave up (another worker failed)
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            return
        start_wall = command[1]
        start = loop.time() + (start_wall - time.time())
        cpu0, wall0 = _cpu(), time.perf_counter()

        async def responder(ws: aiohttp.ClientWebSocketResponse, i_id: str) -> None:
            replies = {
                "offer": frame_of("answer", i_id, ANSWER),
                "candidate": frame_of("candidate", i_id, CANDIDATES[0]),
            }
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = _relayed_data(job.dialect, orjson.loads(msg.data))
                if data is not None:
                    await ws.send_str(replies[_kind(data)])

        async def initiator(n: int, ws: aiohttp.ClientWebSocketResponse, r_id: str) -> None:
            cycle = [frame_of("offer", r_id, OFFER)] + [
                frame_of("candidate", r_id, CANDIDATES[i % len(CANDIDATES)])
                for i in range(job.candidates_per_offer)
            ]
            offset = (n / max(1, len(setups))) * job.interval_s  # spread pairs over an interval
            last_keepalive = loop.time()
            for k in range(job.rounds):
                due = start + offset + k * job.interval_s
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -job.interval_s:
                    out.late_starts += 1
                if loop.time() - last_keepalive > 15:
                    await ws.send_str(KEEPALIVE[job.dialect])
                    last_keepalive = loop.time()
                t0 = time.perf_counter()
                await ws.send_str(cycle[k % len(cycle)])
                while True:
                    msg = await ws.receive(timeout=30)
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        raise RuntimeError(f"socket closed: {msg.type.name}")
                    if _relayed_data(job.dialect, orjson.loads(msg.data)) is not None:
                        break
                rtts.append((time.perf_counter() - t0) * 1000)
                out.sent += 2

        readers = [asyncio.ensure_future(responder(rws, i_id)) for _, rws, i_id, _ in setups]
        try:
            await asyncio.gather(
                *(initiator(n, iws, r_id) for n, (iws, _, _, r_id) in enumerate(setups))
            )
        except Exception as exc:  # reported, so the benchmark fails loudly rather than hangs
            out.errors.append(f"{type(exc).__name__}: {exc}")
        out.cpu_s, out.wall_s = _cpu() - cpu0, time.perf_counter() - wall0
        out.rtt_ms = rtts.tobytes()
        pipe.send(("done", out))
        await loop.run_in_executor(None, pipe.recv)  # ("close",)
        for r in readers:
            r.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


# ---- hold -----------------------------------------------------------------------------------


@dataclass
class HoldJob:
    port: int
    visits: list[tuple[str, str]]  # (terminal token, family token)
    concurrency: int = 64  # connection attempts in flight


@dataclass
class HoldOutcome:
    connected: int = 0
    failed: list[str] = field(default_factory=list)
    connect_s: float = 0.0
    # per socket: (end_ms from welcome, wall time `ended` arrived or 0.0)
    ended: list[tuple[int, float]] = field(default_factory=list)
    cpu_s: float = 0.0


def hold_worker(job: HoldJob, pipe: Connection) -> None:
    _run(lambda: _hold_main(job, pipe))


class _Seat:
    """One held socket: waits for `welcome`, then stamps the arrival of `ended`."""

    __slots__ = ("welcome", "end_ms", "ended_at")

    def __init__(self) -> None:
        self.welcome: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.end_ms = 0
        self.ended_at = 0.0

    def on_text(self, payload: bytes, arrived: float) -> None:
        if not self.welcome.done():
            msg = orjson.loads(payload)
            if msg.get("type") == "welcome":
                self.end_ms = int(msg["visit"]["end_ms"])
                self.welcome.set_result(msg)
            elif msg.get("type") == "error":
                self.welcome.set_exception(RuntimeError(str(msg.get("code"))))
        elif b'"ended"' in payload and not self.ended_at:
            self.ended_at = arrived


async def _hold_main(job: HoldJob, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    out = HoldOutcome()
    gate = asyncio.Semaphore(job.concurrency)
    seats: list[_Seat] = []
    sockets: list[rawws.RawWebSocket] = []

    async def join(token: str) -> rawws.RawWebSocket:
        seat = _Seat()
        async with gate:
            ws = await rawws.connect("127.0.0.1", job.port, "/ws", seat.on_text)
            sockets.append(ws)
            ws.send_text(orjson.dumps({"type": "hello", "token": token}))
            await asyncio.wait_for(seat.welcome, 60)
        seats.append(seat)
        return ws

    async def visit(terminal: str, family: str) -> None:
        try:
            term_ws = await join(terminal)
            family_ws = await join(family)
            # Media counts as up once both sides say so while both are present.
            for ws in (term_ws, family_ws):
                ws.send_text('{"type":"connected"}')
            out.connected += 2
        except Exception as exc:
            out.failed.append(f"{type(exc).__name__}: {exc}")

    t0 = time.perf_counter()
    await asyncio.gather(*(visit(t, f) for t, f in job.visits))
    out.connect_s = time.perf_counter() - t0
    pipe.send(("ready", (out.connected, out.failed[:5], out.connect_s)))
    command = await loop.run_in_executor(None, pipe.recv)  # ("go", wall time) or ("close",)
    if command[0] != "go":
        for ws in sockets:
            ws.close()
        return
    wait_until = command[1]
    cpu0 = _cpu()
    # Hold the sockets until the wall time given, or until every one has seen `ended`.
    while time.time() < wait_until and not all(s.ended_at for s in seats):  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    out.cpu_s = _cpu() - cpu0
    out.ended = [(s.end_ms, s.ended_at) for s in seats]
    pipe.send(("done", out))
    await loop.run_in_executor(None, pipe.recv)  # ("close",)
    for ws in sockets:
        ws.close()
    await asyncio.sleep(0.2)
