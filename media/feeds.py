"""What the terminal sends to whom in one visit, and what it plays (PROTOCOL.md §4 `muted`, §7).

- A guest (family, teacher) gets the terminal's own camera and microphone; while an officer has
  the ``inmate`` side muted the microphone is replaced by silence.
- An officer's monitor offers four ``recvonly`` m-lines and gets, in that order, the terminal's
  own video and audio and the guest's video and audio as the terminal receives them, forwarded:
  the family's phone sends one stream, to the terminal, whoever watches. The monitors' video is
  reduced (``MONITOR_WIDTH`` wide, every ``MONITOR_EVERY``-th frame) once, before the relay that
  hands each monitor its copy; each monitor still costs one encode per video sender.
- The guest's audio goes to the speaker unless the ``family`` side is muted. Officers hear both
  sides whatever is muted (they monitor).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from media.sources import Restamp, Source
from media.speaker import Speaker

MONITOR_WIDTH = 320  # pixels: a wall tile is smaller still
MONITOR_EVERY = 2  # a monitor gets every second video frame
MONITOR_KINDS = ("video", "audio", "video", "audio")  # the officer's m-lines, in order
FAMILY, INMATE = "family", "inmate"


def reduced(frame: VideoFrame, width: int = MONITOR_WIDTH) -> VideoFrame:
    """A frame at most ``width`` pixels wide (even sizes, the aspect ratio kept)."""
    if frame.width <= width:
        return frame
    height = max(2, round(frame.height * width / frame.width) // 2 * 2)
    small = frame.reformat(width=width, height=height, format="yuv420p")
    small.pts, small.time_base = frame.pts, frame.time_base
    return small


def silence(frame: AudioFrame) -> AudioFrame:
    """A frame of the same shape and time as ``frame``, all zeros."""
    quiet = AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=frame.samples)
    for plane in quiet.planes:
        plane.update(bytes(plane.buffer_size))
    quiet.pts, quiet.time_base, quiet.sample_rate = frame.pts, frame.time_base, frame.sample_rate
    return quiet


class Silenceable(MediaStreamTrack):
    """The terminal's microphone for a guest: silence while ``feeds`` has the inmate muted."""

    kind = "audio"

    def __init__(self, track: MediaStreamTrack, feeds: Feeds) -> None:
        super().__init__()
        self._track, self._feeds = track, feeds

    async def recv(self) -> Any:
        frame = await self._track.recv()
        if INMATE in self._feeds.muted and isinstance(frame, AudioFrame):
            return silence(frame)
        return frame

    def stop(self) -> None:
        super().stop()
        self._track.stop()


class Forward(MediaStreamTrack):
    """Frames of whichever source is set, swapped without the sender knowing: aiortc ends a
    sender for good when its track ends, so a guest that leaves must not end this one. A pump
    task reads the source (the latest few frames wait here, older ones are dropped); a source
    that ends is waited out until the next ``switch``."""

    def __init__(self, kind: str, every: int = 1, width: int | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._every, self._width = every, width
        self._frames: deque[Any] = deque(maxlen=1 if kind == "video" else 4)
        self._ready = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._source: MediaStreamTrack | None = None
        self._restamp = Restamp()

    @property
    def has_source(self) -> bool:
        return self._source is not None

    def switch(self, source: MediaStreamTrack) -> None:
        old, self._source = self._source, source
        if self._pump is not None:
            self._pump.cancel()
        if old is not None:
            old.stop()
        self._restamp.new_source()
        loop = asyncio.get_running_loop()
        self._pump = loop.create_task(self._read(source), name=f"forward-{self.kind}")

    async def _read(self, source: MediaStreamTrack) -> None:
        count = 0
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await source.recv()
                count += 1
                if count % self._every:
                    continue
                if self._width is not None and isinstance(frame, VideoFrame):
                    frame = reduced(frame, self._width)
                self._frames.append(self._restamp(frame))
                self._ready.set()

    async def recv(self) -> Any:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    def stop(self) -> None:
        super().stop()
        if self._pump is not None:
            self._pump.cancel()
        if self._source is not None:
            self._source.stop()
        self._ready.set()  # a waiting recv() ends now


class Feeds:
    """One visit's tracks: the terminal's to guests and monitors, the guest's to monitors and the
    speaker, and the sides an officer has muted."""

    def __init__(
        self, source: Source, speaker: Speaker, monitor_width: int = MONITOR_WIDTH
    ) -> None:
        """``monitor_width`` 0: monitors get the video as it is (full size and rate)."""
        self.muted: set[str] = set()
        self._source, self._speaker = source, speaker
        self._relay = MediaRelay()
        self._width = monitor_width or None
        self._every = MONITOR_EVERY if monitor_width else 1
        self._own_video: Forward | None = None  # made for the first monitor
        self._guest = {
            "video": Forward("video", self._every, self._width),
            "audio": Forward("audio"),
        }
        # Monitors' family-side senders with nothing to send yet, by their connection.
        self._waiting: dict[RTCPeerConnection, list[RTCRtpSender]] = {}

    def set_muted(self, side: str, muted: bool) -> None:
        if muted:
            self.muted.add(side)
        else:
            self.muted.discard(side)

    def for_guest(self) -> list[MediaStreamTrack]:
        """The terminal's own tracks for a guest's connection (its microphone silenceable)."""
        tracks: list[MediaStreamTrack] = []
        audio, video = self._source.track("audio"), self._source.track("video")
        if audio is not None:
            tracks.append(Silenceable(audio, self))
        if video is not None:
            tracks.append(video)
        return tracks

    def attach_monitor(self, pc: RTCPeerConnection) -> bool:
        """Fill an officer's four m-lines (the remote offer is set); False for another shape."""
        transceivers = pc.getTransceivers()
        if tuple(t.kind for t in transceivers) != MONITOR_KINDS:
            return False
        own_video = self._own_video
        if own_video is None:
            own_video = self._own_video = Forward("video", self._every, self._width)
            camera = self._source.track("video")
            if camera is not None:
                own_video.switch(camera)
        tracks = [
            self._relay.subscribe(own_video, buffered=False),
            self._source.track("audio"),
            self._guest_copy("video"),
            self._guest_copy("audio"),
        ]
        for line, (transceiver, track) in enumerate(zip(transceivers, tracks, strict=True)):
            transceiver.direction = "sendonly"
            if track is not None:
                transceiver.sender.replaceTrack(track)
            elif line >= 2:  # the guest's, once it comes
                self._waiting.setdefault(pc, []).append(transceiver.sender)
        return True

    def _guest_copy(self, kind: str) -> MediaStreamTrack | None:
        forward = self._guest[kind]
        return self._relay.subscribe(forward, buffered=False) if forward.has_source else None

    def guest_track(self, track: MediaStreamTrack) -> MediaStreamTrack:
        """A guest's received track: the monitors get it from now on (a sender waiting for it
        gets it with ``replaceTrack``); the returned copy is the terminal's own to read."""
        forward = self._guest[track.kind]
        forward.switch(self._relay.subscribe(track, buffered=False))
        for senders in self._waiting.values():
            for sender in [s for s in senders if s.kind == track.kind]:
                sender.replaceTrack(self._relay.subscribe(forward, buffered=False))
                senders.remove(sender)
        return self._relay.subscribe(track)

    def forget(self, pc: RTCPeerConnection) -> None:
        """A monitor's connection closed."""
        self._waiting.pop(pc, None)

    def play(self, key: str, frame: AudioFrame) -> None:
        """A guest's audio frame to the speaker, unless an officer has muted the family."""
        if FAMILY not in self.muted:
            self._speaker.play(key, frame)

    def remove(self, key: str) -> None:
        self._speaker.remove(key)

    def aclose(self) -> None:
        """The visit is over: stop forwarding (the senders' copies end with their connections)."""
        for forward in (self._own_video, *self._guest.values()):
            if forward is not None:
                forward.stop()
        self._waiting.clear()
