"""Link opened → first remote video frame decoded, family page (Chromium) + terminal agent (aiortc).

    .venv/bin/python -m tests.e2e.measure_join --runs 5

Each run schedules a fresh visit on one running node and terminal, opens the family link in a new
browser context (a fresh page load, camera started anew) and reads the page's own milestones
(``window.tatap.marks``, ms since navigation start). Prints every run and the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
from pathlib import Path

from playwright.async_api import Browser

from services.domain.model import Role
from services.logs import configure
from tests.e2e.stack import Stack, chromium, open_page, running_stack, until

STEPS = ["joined", "camera", "socket", "welcome", "offer", "connected", "first_frame"]


async def measure(runs: int, size: tuple[int, int]) -> list[dict[str, int]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        async with running_stack(Path(tmp), size=size) as stack, chromium() as browser:
            for _ in range(runs):
                results.append(await one_run(stack, browser))
    return results


async def one_run(stack: Stack, browser: Browser) -> dict[str, int]:
    visit = await stack.schedule(length_s=120)

    async def seated() -> bool:
        session = stack.agent.session
        return session is not None and session.visit_id == visit.visit.id

    await until(seated, 10, "the terminal seated")
    context, page = await open_page(browser, stack.link(visit, Role.FAMILY))
    await until(lambda: page.evaluate("window.tatap.firstFrameMs !== null"), 20, "a remote frame")
    marks: dict[str, int] = await page.evaluate("window.tatap.marks")
    print("  ".join(f"{k}={marks.get(k, '-')}" for k in STEPS), flush=True)
    await page.evaluate("window.tatap.ws.send(JSON.stringify({type: 'leave'}))")

    async def idle() -> bool:
        return stack.agent.session is None

    await until(idle, 10, "the visit to end")
    await context.close()
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="320x240", help="terminal test pattern size")
    args = parser.parse_args()
    configure(json=False, level=logging.WARNING)
    w, h = (int(x) for x in args.size.split("x"))
    results = asyncio.run(measure(args.runs, (w, h)))
    print(f"\nmedian of {len(results)} runs (ms since the link was opened):")
    for step in STEPS:
        values = [r[step] for r in results if step in r]
        if values:
            median = statistics.median(values)
            print(f"  {step:12} {median:7.0f}   (min {min(values)}, max {max(values)})")


if __name__ == "__main__":
    main()
