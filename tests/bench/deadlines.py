"""Deadlines: 5,000 visits scheduled to end at the same instant, every seat joined; each client
stamps the wall-clock time its `ended` arrives, and the spread is measured against the scheduled
end (server and clients share this machine's clock)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tests.bench.held import held_visits
from tests.bench.report import Result, Verdict, percentile

TARGET_MS = 500.0


@dataclass(frozen=True)
class Params:
    visits: int = 5_000
    procs: int = 4
    # From scheduling to the common end: room for the server to start and every seat to join.
    lead_s: int = 90

    @classmethod
    def smoke(cls) -> Params:
        return cls(visits=20, procs=2, lead_s=12)  # margin for joins on a loaded 2-core machine


def run(p: Params) -> Result:
    result = Result("deadlines", "Deadlines: visits ending in the same second")
    with held_visits("deadlines", p.visits, p.procs, length_s=p.lead_s) as held:
        end_s = held.seats[0].end_ms / 1000
        if time.time() >= end_s - 1:
            raise RuntimeError(
                f"joining took too long: the visits ended {time.time() - end_s:.1f}"
                " s before every seat was in; raise lead_s"
            )
        slack = end_s - time.time()
        held.fleet.send("go", end_s + 15)
        outcomes = held.fleet.gather("done", timeout=p.lead_s + 120)
        cpu_end = held.server.cpu()
    ends = {s.end_ms for s in held.seats}
    late_ms = [(got - end_ms / 1000) * 1000 for o in outcomes for end_ms, got in o.ended if got]
    missing = sum(1 for o in outcomes for _, got in o.ended if not got)
    sockets = sum(len(o.ended) for o in outcomes)
    worst = max(late_ms) if late_ms else float("nan")
    within = sum(1 for x in late_ms if 0 <= x <= TARGET_MS)
    early = sum(1 for x in late_ms if x < 0)
    result.latencies["deadline → ended received"] = late_ms
    result.add(
        "visits / sockets", f"{p.visits:,} / {sockets:,} (distinct end instants: {len(ends)})"
    )
    result.add("all seats joined with this much time to spare", f"{slack:.0f} s")
    result.add(
        "`ended` received after the deadline: p50 / p99 / max",
        f"{percentile(late_ms, 50):.0f} / {percentile(late_ms, 99):.0f} / **{worst:.0f} ms**",
    )
    result.add("within 500 ms / early / never received", f"{within:,} / {early:,} / {missing:,}")
    result.add("server CPU from start to the last end", f"{cpu_end:.1f} s")
    result.verdicts.append(
        Verdict(
            f"{p.visits:,} visits ending together all get `ended` within {TARGET_MS:.0f} ms",
            within == sockets and missing == 0,
            f"slowest {worst:.0f} ms after the deadline (p50 {percentile(late_ms, 50):.0f} ms, "
            f"p99 {percentile(late_ms, 99):.0f} ms), {within:,}/{sockets:,} within, "
            f"{missing} missing",
        )
    )
    return result
