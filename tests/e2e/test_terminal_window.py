"""The terminal's `window` display shows the family full screen on a real X server (Xvfb)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator

import av
import pytest
from playwright.async_api import Browser

from media.agent import TerminalAgent
from media.display import create_display
from media.sources import open_source
from services.model import Role
from tests.e2e.stack import Stack, frames_flowing, open_page, until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
]
SCREEN = (640, 480)


@pytest.fixture
async def xserver() -> AsyncIterator[str]:
    """A private X server; its display name (``:N``) is read back from Xvfb itself."""
    read, write = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        "Xvfb", "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
        "-nolisten", "tcp", pass_fds=(write,),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
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
    stack: Stack, browser: Browser, xserver: str
) -> None:
    """The screen is black before the call and shows Chromium's fake camera (green) during it."""
    await stack.agent.aclose()
    display = create_display("window", screen=xserver)
    stack.agent = TerminalAgent(stack.creds, open_source("testpattern", size=(320, 240)), display)
    stack.agent.start()
    visit = await stack.schedule(length_s=60)
    assert await asyncio.to_thread(centre_pixel, xserver) == (0, 0, 0)

    context, page = await open_page(browser, stack.link(visit, Role.FAMILY))
    await frames_flowing(page, peers=1)

    async def green() -> bool:
        r, g, b = await asyncio.to_thread(centre_pixel, xserver)
        return g > 80 and g > 2 * r and g > 2 * b

    await until(green, 10, "the family's video in the middle of the screen")
    await context.close()
