"""The terminal's part in one visit: a peer connection per participant, and the visit's end.

Negotiation follows PROTOCOL.md §7: the participant that joins later offers to those present. A new
offer from a participant we already have a connection with (a page that reconnected and restarts
ICE) replaces that connection. The terminal enforces the end itself too: ``grace_s`` after the end
the server announced, every connection is closed even if the server is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import structlog
from aiortc import RTCIceServer

from media.display import Display
from media.feeds import MONITOR_WIDTH, Feeds
from media.peer import Peer
from media.sources import Source
from media.speaker import NullSpeaker, Speaker
from signaling import protocol

log = structlog.get_logger("tatap.session")

Send = Callable[[dict[str, Any]], bool]

HISTORY = 16  # closed connections kept for status and tests; a long visit may restart ICE often


class VisitSession:
    def __init__(
        self,
        welcome: protocol.Welcome,
        servers: list[RTCIceServer],
        source: Source,
        display: Display,
        send: Send,
        grace_s: float = 2.0,
        speaker: Speaker | None = None,
        monitor_width: int = MONITOR_WIDTH,
    ) -> None:
        self.visit_id = welcome.visit.id
        self.me = welcome.you.id
        self.end_ms = welcome.visit.end_ms
        self.roles: dict[str, str] = {p.id: p.role for p in welcome.peers}
        self.peers: dict[str, Peer] = {}
        # The latest connections of this visit, closed ones included (bounded; counts survive).
        self.history: deque[Peer] = deque(maxlen=HISTORY)
        self._frames_gone = 0  # video frames of connections no longer in ``history``
        self.end_reason: str | None = None
        self.closed = asyncio.Event()
        self._servers, self._display = servers, display
        # What goes to whom (guests, officers' monitors, the speaker), and what is muted.
        self.feeds = Feeds(source, speaker or NullSpeaker(), monitor_width)
        self._send = send
        self._grace = grace_s
        # Until the first `time` message: the end by our own wall clock (possibly skewed).
        self._deadline = time.monotonic() + self.end_ms / 1000 - time.time() + grace_s
        self._deadline_moved = asyncio.Event()
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsent: set[str] = set()  # our offer to these could not be sent: offer again
        self._spawn(self._enforce_end(), "enforce-end")

    # ---- from the server ----------------------------------------------------------------

    def welcomed(self, welcome: protocol.Welcome) -> None:
        """A (re)welcome for this visit. We joined later than everyone present, so we offer to
        each (PROTOCOL.md §7); after a reconnect (``resumed``) to each whose connection is not up,
        since an offer or answer may have been lost while our socket was down. A fresh connection
        each time, as the page does: aiortc cannot restart ICE on a live one."""
        resumed = welcome.resumed
        for p in welcome.peers:
            pid = p.id
            self.roles[pid] = p.role
            if p.role == "officer":
                continue  # an officer always offers to the terminal (PROTOCOL.md §7)
            peer = self.peers.get(pid)
            stale = peer is None or peer.state in ("failed", "closed") or pid in self._unsent
            if p.present and (
                stale or (resumed and peer is not None and peer.state != "connected")
            ):
                self._spawn(self._locked(pid, partial(self._offer, pid)), "offer")
        # The server counts `connected` only while both sides are present, and our last one may
        # have been sent into a dead socket: say it again on every welcome (recorded once).
        if any(p.media_up.is_set() and p.state == "connected" for p in self.peers.values()):
            self._send({"type": "connected"})

    def time_left(self, remaining_ms: int) -> None:
        """The server's count is the truth (our wall clock may be skewed); keep the grace on top."""
        self._deadline = time.monotonic() + remaining_ms / 1000 + self._grace
        self._deadline_moved.set()

    def muted(self, side: str, muted: bool) -> None:
        """An officer's `muted`: obeyed from the next audio frame on (``media.feeds``)."""
        log.info("visit.muted", visit_id=self.visit_id, side=side, muted=muted)
        self.feeds.set_muted(side, muted)

    def peer_joined(self, peer: protocol.PeerRef) -> None:
        self.roles[peer.id] = peer.role  # it joined later: it will send the offer
        self._unsent.discard(peer.id)

    def peer_left(self, peer: protocol.PeerRef, reason: str) -> None:
        if reason == "left":
            pid = peer.id
            self._spawn(self._locked(pid, partial(self._drop, pid)), "drop")
        # "dropped": keep the connection; media may still flow, and a returning page re-offers.

    def signal(self, sender: str, data: dict[str, Any]) -> None:
        sdp = data.get("sdp")
        if isinstance(sdp, dict) and sdp.get("type") == "offer":
            text = str(sdp["sdp"])
            self._spawn(self._locked(sender, lambda: self._answer(sender, text)), "answer")
        elif isinstance(sdp, dict) and sdp.get("type") == "answer":
            text = str(sdp["sdp"])
            self._spawn(self._locked(sender, lambda: self._accept(sender, text)), "accept")
        elif "candidate" in data:
            candidate = data["candidate"]
            self._spawn(self._locked(sender, lambda: self._candidate(sender, candidate)), "ice")

    # ---- negotiation --------------------------------------------------------------------

    def _new_peer(self, pid: str) -> Peer:
        peer = Peer(
            pid,
            self.roles.get(pid, ""),
            self._servers,
            self.feeds,
            self._display,
            self._media_up,
            self._failed,
        )
        self.peers[pid] = peer
        if len(self.history) == self.history.maxlen:
            self._frames_gone += self.history[0].frames.video
        self.history.append(peer)
        return peer

    async def _offer(self, pid: str) -> None:
        await self._drop(pid)
        offer = await self._new_peer(pid).offer()
        if self._send({"type": "signal", "to": pid, "data": {"sdp": offer}}):
            self._unsent.discard(pid)
        else:  # no socket now: the next welcome offers again
            self._unsent.add(pid)

    async def _answer(self, pid: str, sdp: str) -> None:
        # A re-offer (a page that came back), or glare: the page offered while our own offer was
        # pending. We always yield to the page's offer and start afresh; the page ignores ours.
        await self._drop(pid)
        answer = await self._new_peer(pid).answer(sdp)
        self._send({"type": "signal", "to": pid, "data": {"sdp": answer}})

    async def _accept(self, pid: str, sdp: str) -> None:
        peer = self.peers.get(pid)
        if peer is not None and peer.pc.signalingState == "have-local-offer":
            await peer.accept_answer(sdp)

    async def _candidate(self, pid: str, candidate: dict[str, Any] | None) -> None:
        peer = self.peers.get(pid)
        if peer is not None:
            await peer.add_candidate(candidate)

    async def _drop(self, pid: str) -> None:
        peer = self.peers.pop(pid, None)
        if peer is not None:
            await peer.aclose()

    def _failed(self, peer: Peer) -> None:
        """ICE failed (a network change, a NAT timeout). The side that offered starts again; the
        other side waits for that offer."""
        if peer.offered and self.peers.get(peer.peer_id) is peer and self.end_reason is None:
            log.info("peer.restart", visit_id=self.visit_id, peer=peer.peer_id)
            self._spawn(self._locked(peer.peer_id, partial(self._offer, peer.peer_id)), "restart")

    def _media_up(self, peer: Peer) -> None:
        log.info("visit.media_up", visit_id=self.visit_id, peer=peer.peer_id)
        self._send({"type": "connected"})

    async def _locked(self, pid: str, work: Callable[[], Awaitable[None]]) -> None:
        """One negotiation step at a time per participant, in arrival order (asyncio locks are
        fair, and the peer a candidate belongs to is looked up only when its turn comes)."""
        lock = self._locks.setdefault(pid, asyncio.Lock())
        async with lock:
            if self.end_reason is not None:
                return
            try:
                await work()
            except Exception:
                log.exception("peer.negotiation_failed", visit_id=self.visit_id, peer=pid)

    async def _enforce_end(self) -> None:
        while (left := self._deadline - time.monotonic()) > 0:
            self._deadline_moved.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._deadline_moved.wait(), timeout=left)
        log.warning("visit.local_end", visit_id=self.visit_id)
        self._spawn(self.aclose("deadline"), "local-end")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"visit-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- the end ------------------------------------------------------------------------

    @property
    def frames_decoded(self) -> int:
        return self._frames_gone + sum(p.frames.video for p in self.history)

    async def aclose(self, reason: str = "closed") -> None:
        """Close every connection of this visit (idempotent; the first reason sticks)."""
        if self.end_reason is not None:
            return
        self.end_reason = reason
        me = asyncio.current_task()
        for task in list(self._tasks):
            if task is not me:
                task.cancel()
        for task in list(self._tasks):
            if task is not me:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for pid in list(self.peers):
            await self._drop(pid)
        self.feeds.aclose()
        self.closed.set()
        log.info("visit.closed", visit_id=self.visit_id, reason=reason)
