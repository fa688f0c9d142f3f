"""Link opened → first remote video frame on a throttled phone connection (Chromium's network
emulation: 400 ms RTT, 400 kbit/s down and up), family page against a real terminal agent.

    .venv/bin/python -m tests.e2e.measure_page --runs 5 [--trace]

Like ``measure_join`` but each browser context is throttled through the DevTools protocol before
the link is opened. ``--trace`` prints every request (its size on the wire and when it finished)
and every websocket frame, in ms since the link was opened: the round trips the page takes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, CDPSession, Page

from services.domain.model import Role
from services.logs import configure
from tests.e2e.stack import Stack, chromium, running_stack, until

STEPS = ["joined", "camera", "socket", "welcome", "offer", "connected", "first_frame"]
RTT_MS = 400
KBIT_S = 400
# Chromium's emulation counts throughput in bytes per second.
THROTTLE = {
    "offline": False,
    "latency": RTT_MS,
    "downloadThroughput": KBIT_S * 1000 / 8,
    "uploadThroughput": KBIT_S * 1000 / 8,
}


@dataclass
class Trace:
    """What crossed the throttled link during one page load."""

    started: float = field(default_factory=time.monotonic)
    requests: list[tuple[int, str, str, int]] = field(default_factory=list)
    frames: list[tuple[int, str, str]] = field(default_factory=list)

    def at(self) -> int:
        return round((time.monotonic() - self.started) * 1000)

    @property
    def transferred(self) -> int:
        return sum(size for _, _, _, size in self.requests)


async def throttled_page(
    browser: Browser, url: str, size: tuple[int, int] = (390, 760)
) -> tuple[BrowserContext, Page, Trace]:
    """A phone-sized page on the throttled connection, recording requests and socket frames."""
    width, height = size
    context = await browser.new_context(locale="id-ID", viewport={"width": width, "height": height})
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", THROTTLE)
    page.on("console", lambda m: m.type == "error" and print(f"[page] {m.text}"))
    trace = Trace()
    record(cdp, page, trace)
    await page.goto(url, wait_until="commit")
    return context, page, trace


def record(cdp: CDPSession, page: Page, trace: Trace) -> None:
    urls: dict[str, tuple[str, str]] = {}

    def sent(e: dict[str, Any]) -> None:
        urls[e["requestId"]] = (e["request"]["method"], e["request"]["url"])

    def finished(e: dict[str, Any]) -> None:
        method, url = urls.get(e["requestId"], ("?", "?"))
        trace.requests.append((trace.at(), method, url, int(e["encodedDataLength"])))

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.loadingFinished", finished)

    def socket(ws: Any) -> None:
        ws.on("framesent", lambda p: trace.frames.append((trace.at(), "→", kind(p))))
        ws.on("framereceived", lambda p: trace.frames.append((trace.at(), "←", kind(p))))

    page.on("websocket", socket)


def kind(payload: str | bytes) -> str:
    text = payload if isinstance(payload, str) else payload.decode(errors="replace")
    head = text[:80]
    return f"{head}… ({len(text)} B)" if len(text) > 80 else head


async def measure(runs: int, size: tuple[int, int], show: bool = False) -> list[dict[str, int]]:
    """``runs`` fresh throttled page loads; each returns the page's milestones plus ``bytes``
    (transferred over HTTP) and ``requests``."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        async with running_stack(Path(tmp), size=size) as stack, chromium() as browser:
            for _ in range(runs):
                results.append(await one_run(stack, browser, show))
    return results


async def one_run(stack: Stack, browser: Browser, show: bool) -> dict[str, int]:
    visit = await stack.schedule(length_s=120)

    async def seated() -> bool:
        session = stack.agent.session
        return session is not None and session.visit_id == visit.visit.id

    await until(seated, 10, "the terminal seated")
    context, page, trace = await throttled_page(browser, stack.link(visit, Role.FAMILY))
    check = "window.tatap && window.tatap.firstFrameMs !== null"
    await until(lambda: page.evaluate(check), 30, "a remote frame")
    marks: dict[str, int] = await page.evaluate("window.tatap.marks")
    marks["bytes"], marks["requests"] = trace.transferred, len(trace.requests)
    print("  ".join(f"{k}={marks.get(k, '-')}" for k in [*STEPS, "bytes", "requests"]), flush=True)
    if show:
        print_trace(trace)
    await page.evaluate("window.tatap.ws.send(JSON.stringify({type: 'leave'}))")

    async def idle() -> bool:
        return stack.agent.session is None

    await until(idle, 10, "the visit to end")
    await context.close()
    return marks


def print_trace(trace: Trace) -> None:
    for at, method, url, size in trace.requests:
        print(f"  {at:6} ms  {method:4} {url.split('/', 3)[-1][:60]:60} {size:7} B")
    for at, direction, what in trace.frames:
        print(f"  {at:6} ms  ws {direction} {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="320x240", help="terminal test pattern size")
    parser.add_argument("--trace", action="store_true", help="print requests and socket frames")
    args = parser.parse_args()
    configure(json=False, level=logging.WARNING)
    w, h = (int(x) for x in args.size.split("x"))
    results = asyncio.run(measure(args.runs, (w, h), args.trace))
    print(f"\nmedian of {len(results)} runs (ms since the link was opened):")
    for step in [*STEPS, "bytes", "requests"]:
        values = [r[step] for r in results if step in r]
        if values:
            median = statistics.median(values)
            print(f"  {step:12} {median:7.0f}   (min {min(values)}, max {max(values)})")


if __name__ == "__main__":
    main()
