"""The live wall's media, with real aiortc peers over a real node and the real terminal agent:
an officer's monitor sees and hears both sides through the terminal while the family's phone
sends one video, to the terminal; the terminal obeys `muted` (PROTOCOL.md §4, §7)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from media.sources import Source, open_source
from services.access.tokens import TokenService
from services.booking.scheduling import ScheduledVisit
from services.domain.model import Role
from signaling.app import LINKS
from tests.e2e.stack import Stack, make_agent, running_stack, until
from tests.helpers.rtc import FamilyPeer, HeardSpeaker, MonitorPeer, rising
from tests.helpers.world import KEYS

LOUD = 1000  # the test pattern's tone peaks at 6000; silence decodes to (nearly) 0
QUIET = 50


@dataclass
class Wall:
    stack: Stack
    speaker: HeardSpeaker
    family_source: Source
    visit: ScheduledVisit

    async def family(self) -> FamilyPeer:
        visit = self.visit.visit
        seat = next(p for p in visit.participants if p.role is Role.FAMILY)
        token = await self.stack.app[LINKS].participant_token(visit, seat)
        family = await FamilyPeer.open(self.stack.base_url, token)
        family.source = self.family_source
        await family.call()
        return family

    async def monitor(self, staff_id: str = "s_wall") -> MonitorPeer:
        _, claims = TokenService(KEYS).issue(
            sub=staff_id, role=Role.OFFICER, visit="", now=time.time(), ttl_s=3600
        )
        token = await self.stack.app[LINKS].monitor_token(claims, self.visit.visit.id)
        monitor = await MonitorPeer.open(self.stack.base_url, token)
        await monitor.watch()
        return monitor


@pytest.fixture
async def wall(tmp_path: Path) -> AsyncIterator[Wall]:
    """A node, a terminal agent (640×360 test pattern, a recording speaker) seated in a live
    visit, and a family's test-pattern camera (640×360) not yet calling."""
    speaker = HeardSpeaker()
    source = open_source("testpattern", size=(640, 360), fps=15)
    async with running_stack(tmp_path, size=(640, 360), speaker=speaker) as stack:
        visit = await stack.schedule(length_s=600)
        await _seated(stack, visit)
        try:
            yield Wall(stack, speaker, source, visit)
        finally:
            await source.aclose()


async def _seated(stack: Stack, visit: ScheduledVisit) -> None:
    async def seated() -> bool:
        session = stack.agent.session
        return session is not None and session.visit_id == visit.visit.id

    await until(seated, 20, "the terminal seated in the visit")


@pytest.mark.timeout(90)
async def test_officer_sees_both_sides_while_the_family_sends_one_video(wall: Wall) -> None:
    """The monitor gets the terminal's camera and microphone at once, nothing on the family's
    m-lines until the family calls, then the family's video (reduced to 320 wide) and audio,
    forwarded by the terminal; still after the family reconnects on a new connection. The family
    has one connection, sending one video, and no signal of an officer ever reaches it."""
    monitor = await wall.monitor()
    family: FamilyPeer | None = None
    try:
        inmate_video, inmate_audio, family_video, family_audio = monitor.lines
        await rising(lambda: inmate_video.frames, by=10)
        await rising(lambda: inmate_audio.frames, by=10)
        assert inmate_video.width == 320  # the terminal's 640 reduced for the wall
        assert (family_video.frames, family_audio.frames) == (0, 0)  # "menunggu keluarga"

        family = await wall.family()
        await rising(lambda: family.received["video"].frames if family.received else 0, by=5)
        await rising(lambda: family_video.frames, by=10)
        await rising(lambda: family_audio.frames, by=50)
        assert family_video.width == 320
        assert family_audio.loudest_since(time.monotonic() - 2) > LOUD
        assert len(family.pcs) == 1 and family.sending_video() == 1
        assert family.received["video"].width == 640  # the family sees the terminal in full

        await family.call()  # the page came back: a new connection, the old one closed
        await rising(lambda: family_video.frames, by=10, within=30)
        await rising(lambda: inmate_video.frames, by=5)
        assert family.sending_video() == 1
        terminal = family.peer_id("terminal")
        signals = [m for m in family.messages if m["type"] == "signal"]
        assert signals and all(m["from"] == terminal for m in signals)
        session = wall.stack.agent.session
        assert session is not None
        assert not any(p.offered for p in session.history if p.role == "officer")
    finally:
        await monitor.close()
        if family is not None:
            await family.close()


@pytest.mark.timeout(120)
async def test_terminal_obeys_muted(wall: Wall) -> None:
    """`family` muted: the terminal's speaker gets none of the family's audio while the officer
    still hears it; unmuted, it plays again. `inmate` muted: the family receives silence while the
    officer still hears the inmate; unmuted, the tone is back. A terminal agent started anew in
    the visit gets the muted side with its welcome."""
    family = await wall.family()
    monitor = await wall.monitor()
    heard = wall.speaker.heard
    try:
        await rising(lambda: heard.frames, by=50)
        await rising(lambda: monitor.lines[3].frames, by=50)

        await _mute(monitor, family, "family", True)
        await asyncio.sleep(0.3)  # a frame already past the check may still land
        before = heard.frames
        await rising(lambda: monitor.lines[3].frames, by=75)  # 1.5 s of the family, to the officer
        assert heard.frames == before
        assert monitor.lines[3].loudest_since(time.monotonic() - 1.4) > LOUD
        await _mute(monitor, family, "family", False)
        await rising(lambda: heard.frames, by=50)

        await _mute(monitor, family, "inmate", True)
        since = time.monotonic() + 0.5  # what was on the way, decoded
        await asyncio.sleep(2.5)
        assert 0 <= family.received["audio"].loudest_since(since) <= QUIET
        assert monitor.lines[1].loudest_since(since) > LOUD  # the officer still hears the inmate
        await _mute(monitor, family, "inmate", False)
        since = time.monotonic() + 0.5
        await asyncio.sleep(2.5)
        assert family.received["audio"].loudest_since(since) > LOUD

        await _mute(monitor, family, "family", True)
        await wall.stack.agent.aclose()
        wall.stack.agent = make_agent(wall.stack.creds, (640, 360), wall.speaker)
        wall.stack.agent.start()
        await _seated(wall.stack, wall.visit)
        session = wall.stack.agent.session
        assert session is not None
        await until(lambda: _now(session.feeds.muted == {"family"}), 10, "family muted again")
    finally:
        await monitor.close()
        await family.close()


async def _mute(monitor: MonitorPeer, family: FamilyPeer, side: str, muted: bool) -> None:
    """The officer mutes; both the officer and the family hear `muted` (the terminal too)."""
    marks = [len(monitor.messages), len(family.messages)]
    await monitor.send({"type": "mute", "side": side, "muted": muted})
    told = {"type": "muted", "side": side, "muted": muted}
    for peer, mark in zip((monitor, family), marks, strict=True):
        await peer.until(lambda m: m == told, start=mark)


async def _now(value: bool) -> bool:
    return value
