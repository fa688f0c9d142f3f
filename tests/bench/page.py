"""The visit page on a throttled phone connection: the family link opened in real Chromium with
its network emulation at 400 ms RTT and 400 kbit/s down and up → first remote video frame decoded,
against a real terminal agent (aiortc, test pattern) on this machine.

Reuses the browser-test stack (``tests/e2e/stack.py``) and the throttled measurement
(``tests/e2e/measure_page.py``): each run schedules a fresh visit and opens the link in a new,
throttled browser context; the milestones are the page's own, in ms since navigation start.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass

from tests.bench.join import STEPS, unavailable
from tests.bench.report import Result, Verdict, percentile

TARGET_MS = 4000.0


@dataclass(frozen=True)
class Params:
    runs: int = 7
    size: tuple[int, int] = (320, 240)

    @classmethod
    def smoke(cls) -> Params:
        return cls(runs=1)


def run(p: Params) -> Result:
    result = Result("page", "Visit page on a throttled phone link (400 ms RTT, 400 kbit/s)")
    target = f"throttled link opened → first remote frame ≤ {TARGET_MS / 1000:.1f} s median"
    why = unavailable()
    if why:
        result.verdicts.append(Verdict(target, None, f"not run: {why}"))
        result.notes.append(f"Not run: {why}.")
        return result
    from tests.e2e.measure_page import KBIT_S, RTT_MS, measure

    runs = asyncio.run(measure(p.runs, p.size))
    first = [float(r["first_frame"]) for r in runs if "first_frame" in r]
    if len(first) != len(runs):
        raise RuntimeError(f"{len(runs) - len(first)} of {len(runs)} runs showed no remote frame")
    median, p90 = statistics.median(first), percentile(first, 90)
    result.latencies["throttled link opened → first remote frame"] = first
    result.add(
        "runs",
        f"{len(runs)} (a fresh visit and throttled browser context each: {RTT_MS} ms RTT, "
        f"{KBIT_S} kbit/s down and up; terminal test pattern {p.size[0]}×{p.size[1]} at 15 fps)",
    )
    result.add(
        "link opened → first remote frame: median / p90 / max",
        f"**{median:.0f} ms** / {p90:.0f} ms / {max(first):.0f} ms",
    )
    result.add(
        "HTTP requests / bytes transferred (median)",
        f"{statistics.median(r['requests'] for r in runs):.0f} / "
        f"{statistics.median(r['bytes'] for r in runs):.0f} B",
    )
    for step in ["joined", *STEPS]:
        values = [r[step] for r in runs if step in r]
        if values:
            result.add(
                f"milestone `{step}` (median, ms since the link was opened)",
                f"{statistics.median(values):.0f}",
            )
    result.notes.append(
        "Chromium's network emulation (DevTools Network.emulateNetworkConditions) delays every "
        "HTTP request, the socket's upgrade and the media packets alike; before the page was "
        "served in one response (inline scripts, style, protocol facts and the link's answer; "
        "the socket opened from its head) this was 5.7 s, 39.4 KB in 7 requests."
    )
    result.verdicts.append(
        Verdict(
            target,
            median <= TARGET_MS,
            f"median {median:.0f} ms, p90 {p90:.0f} ms over {len(first)} runs",
        )
    )
    return result
