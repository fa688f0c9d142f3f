"""One WebRTC connection between the terminal and one other participant of a visit.

aiortc does not trickle: ``setLocalDescription`` returns once every candidate is gathered, so the
SDP this class hands out already holds them. Candidates trickled by a browser are still accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp
from av import AudioFrame, VideoFrame

from media.display import Display
from media.feeds import Feeds

log = structlog.get_logger("tatap.peer")


def ice_servers(raw: list[dict[str, Any]] | None) -> list[RTCIceServer]:
    """``welcome.ice_servers`` as aiortc objects. Empty means host candidates only: never let
    aiortc fall back to its built-in public STUN server."""
    servers = []
    for item in raw or []:
        urls = item.get("urls")
        if urls:
            servers.append(
                RTCIceServer(
                    urls=urls, username=item.get("username"), credential=item.get("credential")
                )
            )
    return servers


class MonitorOfferRefused(ValueError):
    """An officer's offer the terminal does not answer (or an offer to an officer)."""


@dataclass
class FrameCount:
    video: int = 0
    audio: int = 0


class Peer:
    """The terminal's side of a connection to ``peer_id`` (a family, teacher or officer seat).
    An officer's monitor only receives, and gets what ``Feeds.attach_monitor`` gives it."""

    def __init__(
        self,
        peer_id: str,
        role: str,
        servers: list[RTCIceServer],
        feeds: Feeds,
        display: Display,
        on_media: Callable[[Peer], None],
        on_failed: Callable[[Peer], None] = lambda peer: None,
    ) -> None:
        self.peer_id = peer_id
        self.role = role
        # A monitor's two m-lines of each kind: aiortc's default (balanced) bundling leaves the
        # second audio m-line on a transport that never connects; max-bundle puts all on one.
        policy = RTCBundlePolicy.MAX_BUNDLE if role == "officer" else RTCBundlePolicy.BALANCED
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, bundlePolicy=policy))
        self.frames = FrameCount()
        self.media_up = asyncio.Event()
        self._feeds = feeds
        self._display = display
        self._on_media = on_media
        self._on_failed = on_failed
        self.offered = False  # we sent the offer (so we also restart a failed connection)
        self._readers: set[asyncio.Task[None]] = set()
        self._closed = False
        self._close_task: asyncio.Task[None] | None = None
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    @property
    def state(self) -> str:
        return str(self.pc.connectionState)

    @property
    def monitor(self) -> bool:
        return self.role == "officer"

    async def answer(self, offer_sdp: str) -> dict[str, str]:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        if not self.monitor:
            self._add_tracks()
        elif not self._feeds.attach_monitor(self.pc):
            raise MonitorOfferRefused("a monitor's offer must be video, audio, video, audio")
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self._local()

    async def offer(self) -> dict[str, str]:
        if self.monitor:
            raise MonitorOfferRefused("the terminal never offers to an officer")
        self.offered = True
        self._add_tracks()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self._local()

    async def accept_answer(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))

    async def add_candidate(self, data: dict[str, Any] | None) -> None:
        """A trickled browser candidate (``None`` or an empty one: end of candidates)."""
        if not data or not data.get("candidate"):
            await self.pc.addIceCandidate(None)
            return
        text = str(data["candidate"]).removeprefix("candidate:")
        candidate = candidate_from_sdp(text)
        candidate.sdpMid = data.get("sdpMid")
        candidate.sdpMLineIndex = data.get("sdpMLineIndex")
        await self.pc.addIceCandidate(candidate)

    def _add_tracks(self) -> None:
        if self.pc.getSenders() and any(s.track for s in self.pc.getSenders()):
            return
        for track in self._feeds.for_guest():
            self.pc.addTrack(track)

    def _local(self) -> dict[str, str]:
        desc = self.pc.localDescription
        return {"type": desc.type, "sdp": desc.sdp}

    def _on_track(self, track: MediaStreamTrack) -> None:
        if not self.monitor:  # the server refuses a monitor's sending offer: never shown
            track = self._feeds.guest_track(track)
        task = asyncio.get_running_loop().create_task(self._read(track), name=f"read-{track.kind}")
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(self, track: MediaStreamTrack) -> None:
        """Read every frame: aiortc buffers an unread track without bound."""
        key = f"{self.peer_id}:{track.id}"
        try:
            while True:
                frame = await track.recv()
                if self.monitor:
                    continue
                if isinstance(frame, VideoFrame):
                    self.frames.video += 1
                    self._display.show(key, frame)
                    if not self.media_up.is_set():
                        self.media_up.set()
                        self._on_media(self)
                elif isinstance(frame, AudioFrame):
                    self.frames.audio += 1
                    self._feeds.play(key, frame)
        except MediaStreamError:
            pass
        finally:
            track.stop()
            self._display.remove(key)
            self._feeds.remove(key)

    async def _on_state(self) -> None:
        log.info("peer.state", peer=self.peer_id, state=self.pc.connectionState)
        if self.pc.connectionState == "failed" and not self._closed:
            self._on_failed(self)

    async def aclose(self) -> None:
        """Stop our tracks, close the connection and the readers. Idempotent, and it completes
        even when the caller is cancelled (a visit's end cancels its negotiation tasks)."""
        if self._close_task is None:
            loop = asyncio.get_running_loop()
            self._close_task = loop.create_task(self._close(), name="peer-close")
        await asyncio.shield(self._close_task)

    async def _close(self) -> None:
        self._closed = True
        self._feeds.forget(self.pc)
        for sender in self.pc.getSenders():
            if sender.track is not None:
                sender.track.stop()  # a relayed copy: stops this peer's copy only
        try:
            await self.pc.close()
        finally:
            for task in list(self._readers):
                task.cancel()
            for task in list(self._readers):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
