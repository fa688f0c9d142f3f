"""Relay before/after: ``python -m tests.bench.compare BEFORE_DIR [--passes 3]``.

BEFORE_DIR holds an older copy of the ``signaling`` and ``services`` packages (for example the tree
with one file reverted). Two ``tatap serve`` processes, old and current code, and the PeerJS server
run at once and the relay load generator drives them in turn, so one run gives the effect of a
change on server CPU per message under the same conditions.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from tests.bench import common, relay
from tests.bench.loadgen import PairSpec
from tests.bench.provision import provision
from tests.bench.report import percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    common.raise_nofile()
    p = relay.Params(passes=args.passes)
    dirs = {name: common.fresh_dir(f"compare-{name}") for name in ("before", "after")}
    seats = {k: provision(d, p.pairs * p.passes, time.time(), 3600) for k, d in dirs.items()}
    passes: dict[str, list[relay.Pass]] = {"before": [], "after": [], "peerjs": []}
    env = {"PYTHONPATH": str(args.before.resolve())}
    with (
        common.tatap_server(dirs["before"], "compare-before.log", env=env) as old,
        common.tatap_server(dirs["after"], "compare-after.log") as new,
        common.peerjs_server() as peerjs,
    ):
        for n in range(p.passes):
            for name, server in (("before", old), ("after", new), ("peerjs", peerjs)):
                if name == "peerjs":
                    pairs = [PairSpec(f"c{n}i{i}", f"c{n}r{i}") for i in range(p.pairs)]
                else:
                    chunk = seats[name][n * p.pairs : (n + 1) * p.pairs]
                    pairs = [PairSpec(s.family_token, s.terminal_token) for s in chunk]
                    server = dataclasses.replace(server, name="tatap")
                passes[name].append(relay._one_pass(server, pairs, p, p.procs))
    for name, mine in passes.items():
        msgs = sum(x.messages for x in mine)
        rtts = [r for x in mine for r in x.rtt_ms]
        print(
            f"{name:7} {sum(x.cpu_s for x in mine) / msgs * 10_000:.3f} s CPU per 10,000 messages"
            f" ({msgs:,} messages), round trip p50 {percentile(rtts, 50):.2f} ms,"
            f" p99 {percentile(rtts, 99):.2f} ms"
        )


if __name__ == "__main__":
    main()
