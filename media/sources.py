"""What the terminal sends: a generated test pattern and tone, a camera and microphone, or a file.

One source per agent; every peer gets its own relayed copy of each track (a camera can be opened
only once, and a track read by two senders would split its frames between them). Each track is a
``LiveTrack``: it opens its device when a visit needs it, reopens it with backoff after a read or
decode error (aiortc ends a player's track for good on one), and lets it go between visits.
"""

from __future__ import annotations

import asyncio
import fractions
import functools
import math
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer, MediaRelay
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from av import AudioFrame, VideoFrame

from media.backoff import Backoff

log = structlog.get_logger("tatap.source")

VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020

# BT.601 studio-range Y, U, V of the classic eight colour bars.
BARS = [
    (235, 128, 128),
    (210, 16, 146),
    (170, 166, 16),
    (145, 54, 34),
    (106, 202, 222),
    (81, 90, 240),
    (41, 240, 110),
    (16, 128, 128),
]


@functools.lru_cache(maxsize=16)
def _row(width: int, stride: int, channel: int, scale: int = 1) -> bytes:
    """One line of colour bars for one plane (``scale`` 2 for the half-width chroma planes)."""
    out = bytearray(stride)
    for x in range(width):
        out[x] = BARS[min(7, x * 8 * scale // (width * scale))][channel]
    return bytes(out)


class TestPatternTrack(VideoStreamTrack):
    """Colour bars scrolling sideways with a white block bouncing under them: motion makes a frozen
    picture obvious, and the encoder has real work to do."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 360, fps: int = 15) -> None:
        super().__init__()
        self.width, self.height, self.fps = width - width % 2, height - height % 2, fps
        self._n = 0
        self._t0 = 0.0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._n == 0:
            self._t0 = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._t0 + self._n / self.fps - time.monotonic()))
        frame = self._draw(self._n)
        frame.pts = int(self._n * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._n += 1
        return frame

    def _draw(self, n: int) -> VideoFrame:
        w, h = self.width, self.height
        frame = VideoFrame(width=w, height=h, format="yuv420p")
        band = h * 3 // 4 // 2 * 2
        for index, plane in enumerate(frame.planes):
            sub = 1 if index == 0 else 2
            pw, ph, stride = w // sub, h // sub, plane.line_size
            row = _row(pw, stride, index, sub)
            shift = (n * 4 // sub) % pw
            moved = row[shift:pw] + row[:shift] + row[pw:]
            floor = bytes([16 if index == 0 else 128]) * stride
            box_w = max(2, pw // 10)
            x = int((pw - box_w) * (0.5 + 0.5 * math.sin(n / (self.fps * 1.5))))
            lit = bytearray(floor)
            lit[x : x + box_w] = bytes([235 if index == 0 else 128]) * box_w
            top, bottom = band // sub, ph - band // sub
            box_rows = bottom // 2
            plane.update(moved * top + floor * (bottom - box_rows) + bytes(lit) * box_rows)
        return frame


class ToneTrack(AudioStreamTrack):
    """A 400 Hz beep, a fifth of every second, at 48 kHz mono."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        samples = int(AUDIO_RATE * AUDIO_PTIME)
        # 400 Hz fits 48 kHz exactly (120 samples a period), so one 20 ms frame repeats seamlessly.
        tone = [int(6000 * math.sin(2 * math.pi * 400 * i / AUDIO_RATE)) for i in range(samples)]
        self._beep = struct.pack(f"<{samples}h", *tone)
        self._quiet = bytes(2 * samples)
        self._samples = samples
        self._n = 0
        self._t0 = 0.0

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._n == 0:
            self._t0 = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._t0 + self._n * AUDIO_PTIME - time.monotonic()))
        frame = AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(self._beep if self._n % 50 < 10 else self._quiet)
        frame.pts = self._n * self._samples
        frame.sample_rate = AUDIO_RATE
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._n += 1
        return frame


class Restamp:
    """Timestamps that stay monotonic across a track's sources (a device reopened, another
    guest's track forwarded): a new source's first frame follows the last one sent by the time
    that passed since."""

    def __init__(self) -> None:
        self._base: int | None = None  # output pts of the current source's first frame
        self._first = 0  # that frame's own pts
        self._last: tuple[int, float] | None = None  # last output pts and when

    def new_source(self) -> None:
        self._base = None

    def __call__(self, frame: Any) -> Any:
        if frame.pts is None or frame.time_base is None:
            return frame
        now = time.monotonic()
        if self._base is None:
            self._first = frame.pts
            gap = (
                0
                if self._last is None
                else self._last[0] + max(1, round((now - self._last[1]) / frame.time_base))
            )
            self._base = gap
        frame.pts = self._base + frame.pts - self._first
        self._last = (frame.pts, now)
        return frame


class LiveTrack(MediaStreamTrack):
    """One outgoing track over a device that may fail: ``open()`` gives a fresh inner track
    (stopping it releases the device). Read or decode errors reopen it with capped backoff; the
    timestamps stay monotonic across reopenings. ``pause()`` releases the device and makes
    ``recv()`` wait (the relay's reader then costs nothing) until ``resume()``."""

    def __init__(
        self, kind: str, open_track: Callable[[], MediaStreamTrack], backoff: Backoff | None = None
    ) -> None:
        super().__init__()
        self.kind = kind
        self.reopened = 0  # device reopenings after an error
        self._open = open_track
        self._inner: MediaStreamTrack | None = None
        self._backoff = backoff or Backoff(0.5, 10.0)
        self._wanted = asyncio.Event()
        self._wanted.set()
        self._stopped = asyncio.Event()
        self._restamp = Restamp()

    async def recv(self) -> Any:
        while True:
            await self._wanted.wait()
            if self.readyState != "live":
                raise MediaStreamError
            inner = self._inner
            try:
                if inner is None:
                    inner = self._inner = self._open()
                    self._restamp.new_source()
                frame = await inner.recv()
            except Exception as exc:  # MediaStreamError, or the device's own (av, OS) errors
                self._release(inner)
                if self._wanted.is_set() and self.readyState == "live":
                    log.warning("source.lost", kind=self.kind, error=type(exc).__name__)
                    self.reopened += 1
                    await self._pause_for_backoff()
                continue
            self._backoff.reset()
            return self._restamp(frame)

    async def _pause_for_backoff(self) -> None:
        await self._backoff.wait(self._stopped)

    def _release(self, inner: MediaStreamTrack | None) -> None:
        if inner is not None:
            inner.stop()
        if self._inner is inner:
            self._inner = None

    @property
    def paused(self) -> bool:
        return not self._wanted.is_set()

    def pause(self) -> None:
        """No visit needs the device now: release it; ``recv()`` waits for ``resume()``."""
        self._wanted.clear()
        self._release(self._inner)

    def resume(self) -> None:
        self._wanted.set()

    def stop(self) -> None:
        super().stop()
        self._release(self._inner)
        self._stopped.set()
        self._wanted.set()  # wake a waiting recv(): it ends now


class PlayerSlot:
    """One ``MediaPlayer`` shared by the tracks of one device or file, opened when a track is
    needed and again when the track asked for has ended (the player went bad)."""

    def __init__(self, open_player: Callable[[], MediaPlayer]) -> None:
        self._open = open_player
        self._player: MediaPlayer | None = None

    def track(self, kind: str) -> MediaStreamTrack:
        player = self._player
        inner: MediaStreamTrack | None = getattr(player, kind, None) if player else None
        if inner is None or inner.readyState != "live":
            player = self._player = self._open()
            inner = getattr(player, kind)
        if inner is None:
            raise MediaStreamError(f"no {kind} in this source")
        return inner

    def has(self, kind: str) -> bool:
        """Open it once (failing loudly at start-up, not at the first visit) and say whether it
        has this kind of track. The device is released again at once."""
        player = self._player = self._open()
        found = getattr(player, kind) is not None
        for inner in (player.audio, player.video):
            if inner is not None:
                inner.stop()
        return found


@dataclass
class Source:
    """The agent's outgoing media; ``tracks()`` hands each new peer its own copies."""

    video: MediaStreamTrack | None
    audio: MediaStreamTrack | None
    _relay: MediaRelay = field(default_factory=MediaRelay)
    _closed: bool = False

    def tracks(self) -> list[MediaStreamTrack]:
        return [self._relay.subscribe(t, buffered=False) for t in (self.audio, self.video) if t]

    def track(self, kind: str) -> MediaStreamTrack | None:
        """A new copy of the ``audio`` or ``video`` track (None if there is none)."""
        track = self.audio if kind == "audio" else self.video
        return self._relay.subscribe(track, buffered=False) if track is not None else None

    def pause(self) -> None:
        """Between visits: release the devices (and stop generating frames)."""
        for track in (self.video, self.audio):
            if isinstance(track, LiveTrack):
                track.pause()

    def resume(self) -> None:
        for track in (self.video, self.audio):
            if isinstance(track, LiveTrack):
                track.resume()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for track in (self.video, self.audio):
            if track is not None:
                track.stop()


def open_source(
    spec: str = "testpattern", mic: str = "", size: tuple[int, int] = (640, 360), fps: int = 15
) -> Source:
    """``testpattern``, ``v4l2:/dev/video0`` (camera; ``mic`` like ``alsa:default`` or
    ``pulse:default`` adds a microphone), or a media file path (played in a loop). A device that
    cannot be opened raises here."""
    if spec == "testpattern":
        return Source(
            LiveTrack("video", lambda: TestPatternTrack(*size, fps=fps)),
            LiveTrack("audio", ToneTrack),
        )
    if spec.startswith("v4l2:"):
        options = {"video_size": f"{size[0]}x{size[1]}", "framerate": str(fps)}
        device = spec.removeprefix("v4l2:")
        camera = PlayerSlot(lambda: MediaPlayer(device, format="v4l2", options=options))
        audio: MediaStreamTrack = AudioStreamTrack()
        if mic:
            fmt, _, name = mic.partition(":")
            microphone = PlayerSlot(lambda: MediaPlayer(name or "default", format=fmt))
            if microphone.has("audio"):
                audio = LiveTrack("audio", lambda: microphone.track("audio"))
        camera.has("video")
        return Source(LiveTrack("video", lambda: camera.track("video")), audio)
    player = PlayerSlot(lambda: MediaPlayer(spec, loop=True))
    has_audio = player.has("audio")
    video = LiveTrack("video", lambda: player.track("video")) if player.has("video") else None
    sound = LiveTrack("audio", lambda: player.track("audio")) if has_audio else None
    return Source(video, sound or AudioStreamTrack())
