"""Join to first frame: the family link opened in real Chromium → first remote video frame decoded,
against a real terminal agent (aiortc, test pattern) on this machine.

Reuses the browser-test stack (``tests/e2e/stack.py``: a node, a terminal agent, Chromium with fake
camera and microphone) and its measurement (``tests/e2e/measure_join.py``): each run schedules a
fresh visit, opens the link in a new browser context (fresh page load, camera started anew) and
reads the page's own milestones, in ms since navigation start.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import statistics
from dataclasses import dataclass

from tests.bench.report import Result, Verdict, percentile

TARGET_MS = 1000.0
CHROMIUM = "/usr/bin/chromium"
STEPS = ["camera", "socket", "welcome", "offer", "connected", "first_frame"]


@dataclass(frozen=True)
class Params:
    runs: int = 15
    size: tuple[int, int] = (640, 480)

    @classmethod
    def smoke(cls) -> Params:
        return cls(runs=1, size=(320, 240))


def unavailable() -> str:
    """Why the benchmark cannot run here, or '' when it can."""
    if not shutil.which(CHROMIUM) and not shutil.which("chromium"):
        return f"Chromium not installed ({CHROMIUM})"
    for module, what in (
        ("playwright", "playwright"),
        ("media.agent", "terminal agent"),
        ("tests.e2e.measure_join", "join measurement of the browser tests"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"{what} not available ({module})"
    return ""


def run(p: Params) -> Result:
    result = Result("join", "Join to first frame (Chromium + terminal agent)")
    target = f"join to first frame ≤ {TARGET_MS / 1000:.1f} s median"
    why = unavailable()
    if why:
        result.verdicts.append(Verdict(target, None, f"not run: {why}"))
        result.notes.append(f"Not run: {why}.")
        return result
    from tests.e2e.measure_join import measure

    runs = asyncio.run(measure(p.runs, p.size))
    first = [float(r["first_frame"]) for r in runs if "first_frame" in r]
    if len(first) != len(runs):
        raise RuntimeError(f"{len(runs) - len(first)} of {len(runs)} runs showed no remote frame")
    median, p90 = statistics.median(first), percentile(first, 90)
    result.latencies["link opened → first remote frame"] = first
    result.add(
        "runs",
        f"{len(runs)} (a fresh visit and browser context each; terminal test "
        f"pattern {p.size[0]}×{p.size[1]} at 15 fps)",
    )
    result.add(
        "link opened → first remote frame: median / p90 / max",
        f"**{median:.0f} ms** / {p90:.0f} ms / {max(first):.0f} ms",
    )
    for step in STEPS:
        values = [r[step] for r in runs if step in r]
        if values:
            result.add(
                f"milestone `{step}` (median, ms since the link was opened)",
                f"{statistics.median(values):.0f}",
            )
    result.notes.append(
        "Milestones come from the page (window.tatap.marks, performance.now() since navigation "
        "start); `first_frame` is the first of requestVideoFrameCallback / loadeddata / resize "
        "on the remote video. The node and the agent share one process here (the browser-test "
        "stack); media flows over this machine's own interface address."
    )
    result.verdicts.append(
        Verdict(
            target,
            median <= TARGET_MS,
            f"median {median:.0f} ms, p90 {p90:.0f} ms over {len(first)} runs",
        )
    )
    return result
