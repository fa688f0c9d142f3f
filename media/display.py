"""Where the terminal shows what it receives: full screen in a window, or nowhere (headless).

Either way every received track is read to the end by the peer (see ``media.peer``); a display only
gets the video frames. The window is plain Tk (in the standard library): no extra dependency, and
it runs on the asyncio thread by pumping Tk's event loop from a task.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

import structlog
from av import VideoFrame

log = structlog.get_logger("tatap.display")


class DisplayUnavailable(RuntimeError):
    """No screen to open a window on (no X server, no $DISPLAY)."""


class Display(Protocol):
    def show(self, key: str, frame: VideoFrame) -> None: ...
    def remove(self, key: str) -> None: ...
    async def aclose(self) -> None: ...


class NullDisplay:
    """Headless: frames are dropped (the peers still decode and count them)."""

    def show(self, key: str, frame: VideoFrame) -> None:
        pass

    def remove(self, key: str) -> None:
        pass

    async def aclose(self) -> None:
        pass


def ppm(frame: VideoFrame, width: int, height: int) -> bytes:
    """A frame scaled to ``width``×``height`` as binary PPM, the format Tk reads without Pillow."""
    rgb = frame.reformat(width=width, height=height, format="rgb24")
    plane = rgb.planes[0]
    data = bytes(plane)
    row = width * 3
    if plane.line_size != row:  # drop the alignment padding at the end of each line
        stride = plane.line_size
        data = b"".join(data[y * stride : y * stride + row] for y in range(height))
    return b"P6 %d %d 255\n" % (width, height) + data


def fit(src_w: int, src_h: int, box_w: int, box_h: int) -> tuple[int, int]:
    """The largest even size with the source's aspect ratio inside the box."""
    scale = min(box_w / max(1, src_w), box_h / max(1, src_h))
    return max(2, int(src_w * scale) // 2 * 2), max(2, int(src_h * scale) // 2 * 2)


class WindowDisplay:
    """Remote video full screen; with two remote parties (an education visit) side by side."""

    def __init__(self, fullscreen: bool = True, fps: int = 25, screen: str | None = None) -> None:
        try:
            import tkinter
        except ImportError as exc:
            raise DisplayUnavailable("Tk is missing (Debian: apt-get install python3-tk)") from exc
        try:
            self._root: Any = tkinter.Tk(screenName=screen, className="tatap")
        except tkinter.TclError as exc:
            raise DisplayUnavailable(
                f"cannot open a window ({exc}); run inside a desktop session or use --display none"
            ) from exc
        self._tk = tkinter
        self._root.title("Tatap")
        self._root.configure(background="black", cursor="none")
        if fullscreen:
            # The size too, not only the attribute: a kiosk PC may run without a window manager.
            width, height = self._root.winfo_screenwidth(), self._root.winfo_screenheight()
            self._root.geometry(f"{width}x{height}+0+0")
            self._root.attributes("-fullscreen", True)
        self._root.protocol("WM_DELETE_WINDOW", lambda: None)  # unattended: no accidental close
        self._latest: dict[str, VideoFrame] = {}
        self._fresh: set[str] = set()  # keys with a frame not drawn yet
        self.rendered = 0  # frames drawn (an unchanged picture is not drawn again)
        self.lost = False  # the window or its X server went away: frames are dropped
        self._labels: dict[str, Any] = {}
        self._images: dict[str, Any] = {}
        self._period = 1 / fps
        self._task: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(self._pump())

    def show(self, key: str, frame: VideoFrame) -> None:
        if not self.lost:
            self._latest[key] = frame
            self._fresh.add(key)

    def remove(self, key: str) -> None:
        self._latest.pop(key, None)
        self._images.pop(key, None)
        self._fresh.update(self._latest)  # the others move: draw them again
        label = self._labels.pop(key, None)
        if label is not None and not self.lost:
            with contextlib.suppress(self._tk.TclError):
                label.destroy()

    async def _pump(self) -> None:
        """Draw what is new and let Tk handle its events. A TclError (the window destroyed, the
        X server gone) must not end the visit: log it once and go on headless."""
        try:
            while True:
                self._render()
                self._root.update()
                await asyncio.sleep(self._period)
        except self._tk.TclError as exc:
            self.lost = True
            self._latest.clear()
            log.error("display.lost", error=str(exc))

    def _render(self) -> None:
        keys = sorted(self._latest)
        if not keys or not self._fresh:
            return
        if len(keys) != len(self._labels):
            self._fresh.update(keys)  # one more or one fewer: a new layout for all
        screen_w, screen_h = self._root.winfo_width(), self._root.winfo_height()
        cell_w = max(2, screen_w // len(keys))
        for column, key in enumerate(keys):
            if key not in self._fresh:
                continue
            frame = self._latest[key]
            w, h = fit(frame.width, frame.height, cell_w, max(2, screen_h))
            image = self._tk.PhotoImage(data=ppm(frame, w, h), format="PPM")
            label = self._labels.get(key)
            if label is None:
                label = self._tk.Label(self._root, background="black", borderwidth=0)
                self._labels[key] = label
            label.configure(image=image)
            label.place(x=column * cell_w + (cell_w - w) // 2, y=(screen_h - h) // 2)
            self._images[key] = image  # Tk forgets an image Python no longer references
            self.rendered += 1
        self._fresh.clear()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(self._tk.TclError):  # already gone with its X server
            self._root.destroy()


def create_display(kind: str, screen: str | None = None) -> Display:
    """``none`` or ``window`` (on ``screen``, default $DISPLAY); raises DisplayUnavailable when a
    window cannot be opened."""
    if kind == "none":
        return NullDisplay()
    if kind == "window":
        return WindowDisplay(screen=screen)
    raise ValueError(f"unknown display {kind!r} (window or none)")
