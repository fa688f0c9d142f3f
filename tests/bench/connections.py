"""Concurrent authenticated websockets on one node: 5,000 visits, both seats joined (10,000
sockets), then the server's RSS and CPU while they sit at rest (server pings every 20 s, `time`
to everyone every 30 s, the sweeper every 2 s)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tests.bench.held import held_visits
from tests.bench.report import Result, Verdict

TARGET_RSS_MB = 300.0


@dataclass(frozen=True)
class Params:
    visits: int = 5_000
    procs: int = 4
    settle_s: float = 5.0
    rest_s: float = 30.0

    @classmethod
    def smoke(cls) -> Params:
        return cls(visits=20, procs=2, settle_s=0.5, rest_s=1.0)


def run(p: Params) -> Result:
    result = Result("connections", "Concurrent connections on one node")
    with held_visits("connections", p.visits, p.procs, length_s=3600) as held:
        server = held.server
        time.sleep(p.settle_s)
        rss_settled, cpu0, t0 = server.rss(), server.cpu(), time.monotonic()
        time.sleep(p.rest_s)
        rss, cpu1, elapsed = server.rss(), server.cpu(), time.monotonic() - t0
        alive = server.alive()
        held.fleet.send("go", time.time())
        held.fleet.gather("done", timeout=60)
    sockets = held.connected
    per_kb = (rss - held.baseline_rss_mb) * 1024 / sockets if sockets else float("nan")
    rest_pct = (cpu1 - cpu0) / elapsed * 100
    result.add("visits scheduled / sockets joined", f"{p.visits:,} / {sockets:,}")
    result.add("time to schedule the visits (CLI path, group commit)", f"{held.provision_s:.1f} s")
    result.add(
        "time to join every socket (hello, token, seat, audit)",
        f"{held.connect_s:.1f} s from {p.procs} client processes",
    )
    result.add("server RSS, rooms loaded, no socket", f"{held.baseline_rss_mb:.0f} MB")
    result.add(
        f"server RSS, {sockets:,} sockets at rest",
        f"**{rss:.0f} MB** ({rss_settled:.0f} MB right after joining; {per_kb:.1f} KB per socket)",
    )
    result.add("server CPU at rest", f"{rest_pct:.1f}% of one core over {elapsed:.0f} s")
    result.verdicts.append(
        Verdict(
            f"{p.visits * 2:,} connections, RSS ≤ {TARGET_RSS_MB:.0f} MB",
            rss <= TARGET_RSS_MB and sockets == p.visits * 2 and alive,
            f"{rss:.0f} MB with {sockets:,} sockets, {rest_pct:.1f}% CPU at rest",
        )
    )
    return result
