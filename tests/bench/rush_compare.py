"""Booking rush before/after: ``python -m tests.bench.rush_compare BEFORE_DIR [--passes 3]``.

BEFORE_DIR holds an older copy of the ``services`` and ``signaling`` packages (for example
``git archive <commit> services signaling | tar -x -C BEFORE_DIR``). Each pass runs the rush
(``tests.bench.rush``) once against an old and once against a current ``tatap serve``, each on a
fresh data directory, alternating, with the same families and the same load generator, so one
run shows what a change did under the same conditions on a shared machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from pathlib import Path

from tests.bench import common, rush
from tests.bench.report import percentile


@dataclasses.dataclass
class Figures:
    p50: float
    p99: float
    rate: float
    cpu_ms: float  # server CPU per request
    booked: int


def one(name: str, env: dict[str, str], p: rush.Params) -> Figures:
    data_dir = common.fresh_dir(f"rush-compare-{name}")
    plan = rush.prepare(data_dir, p)
    families = rush.rush_families(plan, p)
    log = f"rush-compare-{name}.log"
    with common.tatap_server(data_dir, log, env={**rush.PROXY_ENV, **env}) as server:
        done = rush.run_pass(server, families, p)
    lat = [a.latency_ms for a in done.answers]
    return Figures(
        percentile(lat, 50),
        percentile(lat, 99),
        len(lat) / done.wall_s,
        done.server_cpu_s / len(lat) * 1000,
        sum(1 for a in done.answers if a.status == 201),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--rate", type=float, default=rush.Params.rate)
    args = parser.parse_args()
    common.raise_nofile()
    p = rush.Params(rate=args.rate)
    env = {"before": {"PYTHONPATH": str(args.before.resolve())}, "after": {}}
    seen: dict[str, list[Figures]] = {"before": [], "after": []}
    for n in range(args.passes):
        for name in ("before", "after"):
            f = one(name, env[name], p)
            seen[name].append(f)
            print(
                f"pass {n + 1} {name:6}  p50 {f.p50:7.1f} ms  p99 {f.p99:7.1f} ms  "
                f"{f.rate:4.0f} requests/s  {f.cpu_ms:.2f} ms CPU per request  {f.booked} booked",
                flush=True,
            )
    print(f"median of {args.passes} passes, {p.families:,} families at {p.rate:.0f}/s offered:")
    for name, figs in seen.items():
        print(
            f"  {name:6}  p50 {statistics.median(f.p50 for f in figs):7.1f} ms  "
            f"p99 {statistics.median(f.p99 for f in figs):7.1f} ms  "
            f"{statistics.median(f.rate for f in figs):4.0f} requests/s  "
            f"{statistics.median(f.cpu_ms for f in figs):.2f} ms CPU per request"
        )


if __name__ == "__main__":
    main()
