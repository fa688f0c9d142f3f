"""Many visits held open on one ``tatap serve``: scheduled up front, both seats of every visit
joined with real tokens from client processes (the server keeps its own open-files budget)."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from tests.bench.common import Server, fresh_dir, tatap_server
from tests.bench.fleet import Fleet, split
from tests.bench.loadgen import HoldJob, hold_worker
from tests.bench.provision import VisitSeats, provision


@dataclass
class Held:
    server: Server
    fleet: Fleet
    seats: list[VisitSeats]
    connected: int
    connect_s: float
    baseline_rss_mb: float  # every room loaded, no socket open
    baseline_cpu_s: float
    provision_s: float


def rooms_loaded(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
        rooms: int = json.load(resp)["rooms"]
        return rooms


@contextlib.contextmanager
def held_visits(name: str, visits: int, procs: int, length_s: int) -> Iterator[Held]:
    data_dir = fresh_dir(f"{name}-data")
    t0 = time.monotonic()
    seats = provision(data_dir, visits, time.time(), length_s)
    provision_s = time.monotonic() - t0
    with tatap_server(data_dir, f"{name}-serve.log") as server:
        # The sweeper arms every visit whose window is open; wait until it holds them all, so
        # the baseline is "rooms, no sockets".
        deadline = time.monotonic() + 120
        while rooms_loaded(server.port) < visits and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1)
        baseline_rss, baseline_cpu = server.rss(), server.cpu()
        jobs = [
            HoldJob(server.port, [(s.terminal_token, s.family_token) for s in chunk])
            for chunk in split(seats, procs)
        ]
        with Fleet(hold_worker, jobs) as fleet:
            ready = fleet.gather("ready", timeout=600)
            failures = [f for _, failed, _ in ready for f in failed]
            if failures:
                raise RuntimeError(f"{len(failures)}+ visits failed to join: {failures[:3]}")
            yield Held(
                server,
                fleet,
                seats,
                sum(c for c, _, _ in ready),
                max(s for _, _, s in ready),
                baseline_rss,
                baseline_cpu,
                provision_s,
            )
