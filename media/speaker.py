"""Where the terminal plays what it hears: the guest's audio frames, once an officer's `muted`
has had its say (``media.feeds`` drops a muted family's audio before it gets here).

Every received audio track is read to the end by its peer (``media.peer``) whatever the speaker
does with the frames; ``NullSpeaker`` (headless) drops them.
"""

from __future__ import annotations

from typing import Protocol

from av import AudioFrame


class Speaker(Protocol):
    def play(self, key: str, frame: AudioFrame) -> None: ...
    def remove(self, key: str) -> None: ...
    async def aclose(self) -> None: ...


class NullSpeaker:
    """Headless: audio frames are dropped (the peers still decode and count them)."""

    def play(self, key: str, frame: AudioFrame) -> None:
        pass

    def remove(self, key: str) -> None:
        pass

    async def aclose(self) -> None:
        pass
