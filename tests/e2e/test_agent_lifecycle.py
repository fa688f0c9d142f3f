"""The terminal agent on a PC that runs for months: no hang on a mute server, bounded memory, and
connections that close completely even when their closing is cancelled."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import AsyncIterator

import pytest
from aiortc.mediastreams import MediaStreamError, VideoStreamTrack
from av import VideoFrame

from media.agent import KEEP, Credentials, TerminalAgent
from media.backoff import Backoff
from media.display import NullDisplay
from media.feeds import Feeds
from media.peer import Peer
from media.session import HISTORY, VisitSession
from media.sources import LiveTrack, open_source
from media.speaker import NullSpeaker
from signaling import protocol
from tests.e2e.stack import until


@pytest.fixture
async def mute_server() -> AsyncIterator[int]:
    """Accepts TCP connections, reads what comes, and never answers (a hung proxy or node)."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in held:
            writer.close()


def _agent(server: str, **kwargs: object) -> TerminalAgent:
    creds = Credentials(server, "t_test", "secret")
    source = open_source("testpattern", size=(160, 120), fps=5)
    return TerminalAgent(creds, source, NullDisplay(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.timeout(20)
async def test_agent_gives_up_on_an_upgrade_that_never_comes(mute_server: int) -> None:
    """A server that accepts TCP and never answers the websocket upgrade is a failed attempt:
    the agent times the handshake out and keeps trying, instead of hanging for ever."""
    agent = _agent(f"http://127.0.0.1:{mute_server}", handshake_s=0.3, backoff=Backoff(0.05, 0.1))
    agent.start()
    try:
        await until(lambda: _async(agent.attempts >= 3), 8, "three connection attempts")
        assert agent.connects == 0
    finally:
        await agent.aclose()


def _welcome(n: int) -> protocol.Welcome:
    now_ms = int(time.time() * 1000)
    return protocol.Welcome(
        protocol=1,
        resumed=False,
        ice_servers=[],
        visit=protocol.VisitInfo(f"v_{n}", "regular", now_ms, now_ms + 60_000),
        you=protocol.PeerRef("p_term", "terminal"),
        peers=[],
    )


@pytest.mark.timeout(20)
async def test_agent_keeps_only_recent_visits() -> None:
    """Visit after visit, the agent keeps a few recent sessions and welcomes, not all of them,
    while its counters still cover every visit."""
    agent = _agent("http://127.0.0.1:9")
    try:
        for n in range(3 * KEEP):
            await agent._handle(_welcome(n))
            session = agent.session
            assert session is not None
            await agent._handle(protocol.Ended("completed"))
            assert session.closed.is_set()
        assert len(agent.sessions) == KEEP and len(agent.welcomes) == KEEP
        assert agent.visits_served == 3 * KEEP
        assert agent.session is None
    finally:
        await agent.aclose()


@pytest.mark.timeout(20)
async def test_session_keeps_only_recent_connections() -> None:
    """A visit whose connection is replaced again and again keeps the latest few; the frame
    count still covers them all."""
    source = open_source("testpattern", size=(160, 120), fps=5)
    session = VisitSession(_welcome(1), [], source, NullDisplay(), lambda msg: True)
    try:
        for _ in range(HISTORY + 4):
            peer = session._new_peer("p_fam")
            peer.frames.video = 10
            await session._drop("p_fam")
        assert len(session.history) == HISTORY
        assert session.frames_decoded == 10 * (HISTORY + 4)
    finally:
        await session.aclose()
        await source.aclose()


@pytest.mark.timeout(20)
async def test_peer_close_completes_when_cancelled() -> None:
    """Cancelling a peer's close (a visit's end cancels its negotiation tasks) does not leave it
    half closed: the connection still closes, and a later close returns once it has."""
    source = open_source("testpattern", size=(160, 120), fps=5)
    peer = Peer("p_fam", "family", [], Feeds(source, NullSpeaker()), NullDisplay(), lambda p: None)
    try:
        await peer.offer()
        closing = asyncio.create_task(peer.aclose())
        for _ in range(2):  # into the middle of the close
            await asyncio.sleep(0)
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        await asyncio.wait_for(peer.aclose(), 5)
        assert peer.pc.connectionState == "closed"
        # Every ICE transport stopped: none left holding its UDP sockets.
        ice = [t.sender.transport.transport for t in peer.pc.getTransceivers()]
        assert ice and all(t.state == "closed" for t in ice)
    finally:
        await source.aclose()


async def _async(value: object) -> object:
    return value


class FlakyCamera(VideoStreamTrack):
    """A camera that breaks after a few frames, as a USB camera that resets does."""

    def __init__(self, frames: int, opened: list[FlakyCamera]) -> None:
        super().__init__()
        self._left = frames
        opened.append(self)

    async def recv(self) -> VideoFrame:
        if self._left == 0 or self.readyState != "live":
            raise MediaStreamError
        self._left -= 1
        frame = VideoFrame(width=32, height=24, format="yuv420p")
        frame.pts, frame.time_base = 3000 * (3 - self._left), fractions.Fraction(1, 90_000)
        return frame


@pytest.mark.timeout(20)
async def test_live_track_reopens_a_failing_camera() -> None:
    """A camera that errors is reopened (with backoff) instead of ending for good, and the
    timestamps go on rising across the reopenings."""
    opened: list[FlakyCamera] = []
    track = LiveTrack("video", lambda: FlakyCamera(3, opened), Backoff(0.01, 0.02))
    try:
        stamps = [(await asyncio.wait_for(track.recv(), 2)).pts for _ in range(10)]
        assert track.reopened == 3 and len(opened) == 4
        assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False)), stamps
        assert all(c.readyState == "ended" for c in opened[:-1])  # each bad one released
    finally:
        track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


@pytest.mark.timeout(20)
async def test_source_is_released_between_visits() -> None:
    """After a visit ends the agent's source stops producing (a camera is let go); the next
    visit's welcome starts it again."""
    agent = _agent("http://127.0.0.1:9")
    video = agent.source.video
    assert isinstance(video, LiveTrack)
    try:
        await agent._handle(_welcome(1))
        assert (await asyncio.wait_for(video.recv(), 2)) is not None
        await agent._handle(protocol.Ended("completed"))
        assert video.paused
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(video.recv(), 0.3)
        await agent._handle(_welcome(2))
        assert not video.paused
        assert (await asyncio.wait_for(video.recv(), 2)) is not None
    finally:
        await agent.aclose()
