"""What the terminal sends: a generated test pattern and tone, a camera and microphone, or a file.

One source per agent; every peer gets its own relayed copy of each track (a camera can be opened
only once, and a track read by two senders would split its frames between them).
"""

from __future__ import annotations

import asyncio
import fractions
import functools
import math
import struct
import time
from dataclasses import dataclass, field

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer, MediaRelay
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from av import AudioFrame, VideoFrame

VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020

# BT.601 studio-range Y, U, V of the classic eight colour bars.
BARS = [(235, 128, 128), (210, 16, 146), (170, 166, 16), (145, 54, 34),
        (106, 202, 222), (81, 90, 240), (41, 240, 110), (16, 128, 128)]  # fmt: skip


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


@dataclass
class Source:
    """The agent's outgoing media; ``tracks()`` hands each new peer its own copies."""

    video: MediaStreamTrack | None
    audio: MediaStreamTrack | None
    players: list[MediaPlayer] = field(default_factory=list)
    _relay: MediaRelay = field(default_factory=MediaRelay)
    _closed: bool = False

    def tracks(self) -> list[MediaStreamTrack]:
        return [self._relay.subscribe(t, buffered=False) for t in (self.audio, self.video) if t]

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for track in (self.video, self.audio):
            if track is not None:
                track.stop()


def open_source(spec: str = "testpattern", mic: str = "", size: tuple[int, int] = (640, 360),
                fps: int = 15) -> Source:  # fmt: skip
    """``testpattern``, ``v4l2:/dev/video0`` (camera; ``mic`` like ``alsa:default`` or
    ``pulse:default`` adds a microphone), or a media file path (played in a loop)."""
    if spec == "testpattern":
        return Source(TestPatternTrack(*size, fps=fps), ToneTrack())
    players: list[MediaPlayer] = []
    if spec.startswith("v4l2:"):
        options = {"video_size": f"{size[0]}x{size[1]}", "framerate": str(fps)}
        camera = MediaPlayer(spec.removeprefix("v4l2:"), format="v4l2", options=options)
        players.append(camera)
        audio: MediaStreamTrack | None = None
        if mic:
            fmt, _, device = mic.partition(":")
            microphone = MediaPlayer(device or "default", format=fmt)
            players.append(microphone)
            audio = microphone.audio
        return Source(camera.video, audio or AudioStreamTrack(), players)
    player = MediaPlayer(spec, loop=True)
    return Source(player.video, player.audio or AudioStreamTrack(), [player])
