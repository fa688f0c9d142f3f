"""Audit log on PostgreSQL: durable appends per second through the real store, and the time to
verify what they wrote.

A real PostgreSQL 15 is started for the run (``tests.helpers.postgres``: initdb and pg_ctl on a
free loopback port, ``fsync=on``, ``synchronous_commit=on``, on this machine's disk). Appends go
through ``PgStore``'s group-commit writer: an append returns only once its batch's COMMIT has
returned, i.e. its WAL is flushed, so every counted event is durable. Many visits write at
once, so many appenders run concurrently; then two processes (two nodes on one database)
append together, serialised on the audit lock; one appender alone shows a commit per event.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from services.audit.chain import AuditEvent
from services.audit.signing import Ed25519Signer
from services.clock import SystemClock
from services.store.postgres.audit import verify_db
from services.store.postgres.store import PgStore
from tests.bench.common import fresh_dir
from tests.bench.report import Result, Verdict, percentile
from tests.helpers.postgres import PgCluster, running_cluster

TARGET_APPENDS = 5_000
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Params:
    appenders: int = 256
    seconds: float = 10.0
    node_events: int = 20_000  # per process, in the two-process run

    @classmethod
    def smoke(cls) -> Params:
        return cls(appenders=16, seconds=1.0, node_events=500)


def _event(i: int) -> AuditEvent:
    return AuditEvent(
        "warned",
        "admin",
        "system:bench",
        "f_bench",
        f"v_{i % 5000:05d}",
        {"remaining_s": 60, "node": "node-bench"},
    )


async def _appends(
    url: str, data_dir: Path, appenders: int, seconds: float
) -> tuple[int, float, list[float]]:
    signer = Ed25519Signer.from_data_dir(data_dir)
    store = await PgStore.open(url, signer, SystemClock().now)
    latencies: list[float] = []
    count = 0
    try:
        await store.append([_event(0)])  # the writer is up before the clock starts
        stop = time.perf_counter() + seconds

        async def appender(n: int) -> None:
            nonlocal count
            i = n
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                await store.append([_event(i)])
                latencies.append((time.perf_counter() - t0) * 1000)
                count += 1
                i += appenders

        t0 = time.perf_counter()
        await asyncio.gather(*(appender(n) for n in range(appenders)))
        elapsed = time.perf_counter() - t0
    finally:
        await store.aclose()
    return count, elapsed, latencies


def _two_nodes(url: str, data_dir: Path, events: int, appenders: int) -> float:
    """Two processes appending ``events`` each at once; the rate of both together."""
    Ed25519Signer.from_data_dir(data_dir)
    argv = [sys.executable, "-m", "tests.helpers.pg_append", url, str(data_dir), str(events)]
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen([*argv, str(appenders), tag], cwd=ROOT, stdout=subprocess.DEVNULL)
        for tag in ("node-a", "node-b")
    ]
    for proc in procs:
        if proc.wait(timeout=600) != 0:
            raise RuntimeError(f"appending process failed ({proc.returncode})")
    return 2 * events / (time.perf_counter() - t0)


def _measure(cluster: PgCluster, p: Params, result: Result) -> float:
    url = cluster.create_database()
    count, elapsed, lat = asyncio.run(_appends(url, fresh_dir("pg-audit"), p.appenders, p.seconds))
    rate = count / elapsed
    result.add(
        f"durable appends/s, {p.appenders} concurrent appenders, one node",
        f"**{rate:,.0f}/s** ({count:,} events in {elapsed:.1f} s)",
    )
    result.add(
        "ack latency p50 / p99 (concurrent)",
        f"{percentile(lat, 50):.1f} ms / {percentile(lat, 99):.1f} ms",
    )
    result.latencies[f"PostgreSQL append ack, {p.appenders} appenders"] = lat
    t0 = time.perf_counter()
    verdict = verify_db(url)
    verify_s = time.perf_counter() - t0
    if not verdict.ok:
        raise RuntimeError(f"verify failed on an untouched log: {verdict}")
    result.add(f"verify {verdict.events:,} events", f"{verify_s:.2f} s")
    one = asyncio.run(_appends(cluster.create_database(), fresh_dir("pg-one"), 1, 3.0))
    result.add(
        "durable appends/s, one appender (a commit each)",
        f"{one[0] / one[1]:,.0f}/s (p50 {percentile(one[2], 50):.2f} ms)",
    )
    both = _two_nodes(
        cluster.create_database(), fresh_dir("pg-nodes"), p.node_events, p.appenders // 2
    )
    result.add(
        f"durable appends/s, two processes x {p.appenders // 2} appenders, one chain",
        f"{both:,.0f}/s ({2 * p.node_events:,} events, start to last acknowledgement,"
        " process start included)",
    )
    return rate


def run(p: Params) -> Result:
    result = Result("pg_audit", "Audit log on PostgreSQL")
    with running_cluster() as cluster:
        rate = _measure(cluster, p, result)
    result.notes.append(
        "PostgreSQL 15 started for the run on this machine's disk (fsync=on,"
        " synchronous_commit=on); each counted event was acknowledged only after its batch's"
        " COMMIT returned. The writer takes the audit advisory lock per batch, so two nodes"
        " share one chain."
    )
    result.verdicts.append(
        Verdict(
            f"PostgreSQL audit ≥ {TARGET_APPENDS:,} durable appends/s",
            rate >= TARGET_APPENDS,
            f"{rate:,.0f}/s",
        )
    )
    return result
