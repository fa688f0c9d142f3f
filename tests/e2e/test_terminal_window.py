"""The terminal's `window` display shows the family full screen on a real X server (Xvfb)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest
from playwright.async_api import Browser

from media.display import WindowDisplay
from services.domain.model import Role
from tests.e2e.stack import Stack, frames_flowing, open_page, until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
    pytest.mark.skipif(
        importlib.util.find_spec("tkinter") is None, reason="Tk is not installed (python3-tk)"
    ),
]
SCREEN = (640, 480)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def xserver() -> AsyncIterator[str]:
    """A private X server; its display name (``:N``) is read back from Xvfb itself."""
    read, write = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        "Xvfb",
        "-displayfd",
        str(write),
        "-screen",
        "0",
        f"{SCREEN[0]}x{SCREEN[1]}x24",
        "-nolisten",
        "tcp",
        pass_fds=(write,),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    os.close(write)
    try:
        number = await asyncio.wait_for(asyncio.to_thread(os.read, read, 16), timeout=10)
        yield f":{number.decode().strip()}"
    finally:
        os.close(read)
        proc.terminate()
        await proc.wait()


def centre_pixel(display: str) -> tuple[int, int, int]:
    with av.open(
        display, format="x11grab", options={"video_size": f"{SCREEN[0]}x{SCREEN[1]}"}
    ) as c:
        frame = next(c.decode(video=0)).reformat(format="rgb24")
    plane = frame.planes[0]
    data = bytes(plane)
    x, y = SCREEN[0] // 2, SCREEN[1] // 2
    r, g, b = data[y * plane.line_size + 3 * x : y * plane.line_size + 3 * x + 3]
    return r, g, b


@pytest.mark.timeout(60)
async def test_window_shows_the_family_full_screen(
    xserver: str, stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    """`tatap terminal --display window` paints the screen black before the call, shows the
    family's camera (Chromium's fake one: green) during it, and exits cleanly on SIGTERM."""
    await stack.agent.aclose()  # this test's terminal is the command below
    creds = tmp_path / "terminal.json"
    creds.write_text(
        json.dumps(
            {
                "server": stack.base_url,
                "terminal_id": stack.creds.terminal_id,
                "secret": stack.creds.secret,
            }
        )
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        "terminal",
        "--credentials",
        str(creds),
        "--display",
        "window",
        "--size",
        "320x240",
        env={**os.environ, "DISPLAY": xserver},
        cwd=ROOT,
    )
    try:
        visit = await stack.schedule(length_s=60)

        async def black() -> bool:
            return await asyncio.to_thread(centre_pixel, xserver) == (0, 0, 0)

        await until(black, 10, "the terminal's black full-screen window")
        context, page = await open_page(browser, stack.link(visit, Role.FAMILY))
        await frames_flowing(page, peers=1)

        async def green() -> bool:
            r, g, b = await asyncio.to_thread(centre_pixel, xserver)
            return g > 80 and g > 2 * r and g > 2 * b

        await until(green, 10, "the family's video in the middle of the screen")
        await context.close()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), timeout=10)
    assert code == 0


@pytest.mark.timeout(30)
async def test_window_draws_only_new_frames_and_outlives_its_window(xserver: str) -> None:
    """An unchanged picture is not drawn again at every tick; when the window goes away (its X
    server gone, or destroyed) the display notes it and drops frames, and closes without error."""
    display = WindowDisplay(fullscreen=False, screen=xserver)
    frame = av.VideoFrame(width=64, height=48, format="yuv420p")
    try:
        display.show("p_fam:v", frame)
        await until(lambda: _async(display.rendered == 1), 5, "the first frame drawn")
        await asyncio.sleep(0.3)  # several ticks of the 25 fps pump, nothing new to draw
        assert display.rendered == 1
        display.show("p_fam:v", frame)
        await until(lambda: _async(display.rendered == 2), 5, "the next frame drawn")

        display._root.destroy()
        display.show("p_fam:v", frame)
        await until(lambda: _async(display.lost), 5, "the display to notice its window is gone")
        display.show("p_fam:v", frame)
        display.remove("p_fam:v")
        assert display.rendered == 2
    finally:
        await display.aclose()


async def _async(value: object) -> object:
    return value
