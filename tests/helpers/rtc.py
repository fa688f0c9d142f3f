"""Participants of a visit in Python with aiortc, over a real /ws: a family page (it offers its
camera and microphone to the terminal, answers the terminal's offers) and an officer's monitor
(four ``recvonly`` m-lines offered to the terminal, PROTOCOL.md §7). Each keeps what it receives
per m-line: frames counted, audio peaks, video sizes. Shared by the wall tests and the bench."""

from __future__ import annotations

import asyncio
import contextlib
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp
import orjson
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from media.sources import Source

MONITOR_KINDS = ("video", "audio", "video", "audio")


def peak(frame: AudioFrame) -> int:
    """The loudest sample of a 16-bit frame (0 for silence)."""
    samples = array("h", bytes(frame.planes[0])[: frame.samples * len(frame.layout.channels) * 2])
    return max((abs(s) for s in samples), default=0)


@dataclass
class Received:
    """What one received track brought: frames with when they came, and audio peaks."""

    kind: str
    frames: int = 0
    width: int = 0
    peaks: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, peak)

    def loudest_since(self, since: float) -> int:
        return max((p for t, p in self.peaks if t >= since), default=-1)

    def note(self, frame: Any) -> None:
        self.frames += 1
        if isinstance(frame, VideoFrame):
            self.width = frame.width
        elif isinstance(frame, AudioFrame):
            self.peaks.append((time.monotonic(), peak(frame)))
            del self.peaks[:-500]  # ten seconds


async def drain(track: MediaStreamTrack, into: Received) -> None:
    with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
        while True:
            into.note(await track.recv())


class HeardSpeaker:
    """The terminal's speaker seam, recording what it is given to play."""

    def __init__(self) -> None:
        self.heard = Received("audio")

    def play(self, key: str, frame: AudioFrame) -> None:
        self.heard.note(frame)

    def remove(self, key: str) -> None:
        pass

    async def aclose(self) -> None:
        pass


class WsPeer:
    """A participant's socket: messages read in the background; ``until`` waits for a type."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession) -> None:
        self.ws, self._session = ws, session
        self.messages: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self.welcome: dict[str, Any] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, base_url: str, token: str) -> Self:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(base_url.rstrip("/") + "/ws")
        await ws.send_str(orjson.dumps({"type": "hello", "token": token}).decode())
        peer = cls(ws, session)
        peer.welcome = await peer.until(lambda m: m["type"] == "welcome")
        return peer

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send_str(orjson.dumps(msg).decode())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                data = orjson.loads(msg.data)
                self.messages.append(data)
                self._arrived.set()
                self.on_message(data)

    def on_message(self, msg: dict[str, Any]) -> None:
        pass

    def spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def until(
        self, check: Callable[[dict[str, Any]], bool], within: float = 15, start: int = 0
    ) -> Any:
        """The first message from the ``start``-th on (read so far or to come) that ``check``
        accepts."""
        async with asyncio.timeout(within):
            seen = start
            while True:
                for msg in self.messages[seen:]:
                    if check(msg):
                        return msg
                seen = len(self.messages)
                self._arrived.clear()
                await self._arrived.wait()

    def peer_id(self, role: str) -> str:
        return str(next(p["id"] for p in self.welcome["peers"] if p["role"] == role))

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._session.close()


class FamilyPeer(WsPeer):
    """A family page: one RTCPeerConnection at a time, to the terminal only; it sends the
    source's camera and microphone and keeps what it receives by kind."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession) -> None:
        self.source: Source | None = None  # set before ``call``
        self.pcs: list[RTCPeerConnection] = []
        self.received: dict[str, Received] = {}
        super().__init__(ws, session)

    def _new_pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection()
        assert self.source is not None, "a family peer needs its source"
        for track in self.source.tracks():
            pc.addTrack(track)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            got = self.received[track.kind] = Received(track.kind)
            self.spawn(drain(track, got))
            if track.kind == "video":
                self.spawn(self._media_up(got))

        self.pcs.append(pc)
        return pc

    async def _media_up(self, got: Received) -> None:
        """Say `connected` at the first frame, as the page does (media counts as up once both
        sides have said so)."""
        while got.frames == 0:
            await asyncio.sleep(0.05)
        await self.send({"type": "connected"})

    @property
    def pc(self) -> RTCPeerConnection:
        return self.pcs[-1]

    async def call(self) -> None:
        """Offer to the terminal (the family joined later): a new connection each time."""
        if self.pcs:
            await self.pc.close()
        pc = self._new_pc()
        await pc.setLocalDescription(await pc.createOffer())
        sdp = {"type": "offer", "sdp": pc.localDescription.sdp}
        await self.send({"type": "signal", "to": self.peer_id("terminal"), "data": {"sdp": sdp}})

    def on_message(self, msg: dict[str, Any]) -> None:
        sdp = msg.get("data", {}).get("sdp") if msg["type"] == "signal" else None
        if sdp and sdp["type"] == "answer" and self.pcs:
            self.spawn(self.pc.setRemoteDescription(RTCSessionDescription(sdp["sdp"], "answer")))
        elif sdp and sdp["type"] == "offer":  # the terminal joined later: it offers
            self.spawn(self._answer(msg["from"], sdp["sdp"]))

    async def _answer(self, sender: str, sdp: str) -> None:
        if self.pcs:
            await self.pc.close()
        pc = self._new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer = {"type": "answer", "sdp": pc.localDescription.sdp}
        await self.send({"type": "signal", "to": sender, "data": {"sdp": answer}})

    def sending_video(self) -> int:
        """Video senders with a track, over every connection still open."""
        return sum(
            1
            for pc in self.pcs
            if pc.connectionState != "closed"
            for s in pc.getSenders()
            if s.track is not None and s.track.kind == "video"
        )

    async def close(self) -> None:
        for pc in self.pcs:
            await pc.close()
        await super().close()


class MonitorPeer(WsPeer):
    """An officer's monitor: four recvonly m-lines offered to the terminal; ``lines[i]`` is what
    m-line ``i`` brought."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession) -> None:
        self.pc: RTCPeerConnection | None = None
        self.lines = [Received(kind) for kind in MONITOR_KINDS]
        super().__init__(ws, session)

    async def watch(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        # max-bundle: aiortc's balanced bundling loses the second audio m-line (see media.peer)
        pc = self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.lines = [Received(kind) for kind in MONITOR_KINDS]
        for kind in MONITOR_KINDS:
            pc.addTransceiver(kind, direction="recvonly")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            line = next(i for i, t in enumerate(pc.getTransceivers()) if t.receiver.track is track)
            self.spawn(drain(track, self.lines[line]))

        await pc.setLocalDescription(await pc.createOffer())
        sdp = {"type": "offer", "sdp": pc.localDescription.sdp}
        await self.send({"type": "signal", "to": self.peer_id("terminal"), "data": {"sdp": sdp}})

    def on_message(self, msg: dict[str, Any]) -> None:
        sdp = msg.get("data", {}).get("sdp") if msg["type"] == "signal" else None
        if sdp and sdp["type"] == "answer" and self.pc is not None:
            self.spawn(self.pc.setRemoteDescription(RTCSessionDescription(sdp["sdp"], "answer")))

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        await super().close()


async def rising(count: Callable[[], int], within: float = 20, by: int = 3) -> int:
    """Wait until ``count()`` has grown by ``by``; returns the value then."""
    start = count()
    async with asyncio.timeout(within):
        while count() < start + by:
            await asyncio.sleep(0.05)
    return count()
