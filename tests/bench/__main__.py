"""``python -m tests.bench [NAME ...] [--smoke] [--out DIR]``, each NAME one of ``ORDER``.

With no names every benchmark runs and ``tests/bench/RESULTS.md`` (plus ``latency.png``) is
rewritten; with names, or with ``--smoke`` (tiny sizes, for the test suite), the report goes to
``tests/bench/work/`` unless ``--out`` says otherwise, so a partial run never overwrites the record
of a full one. One verdict line per target is printed either way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import shlex
import sys
import time
import traceback
from pathlib import Path

from tests.bench.common import BENCH_DIR, WORK, raise_nofile, set_run_dir
from tests.bench.report import Result, Verdict, write_markdown

ORDER = (
    "audit",
    "relay",
    "connections",
    "deadlines",
    "join",
    "page",
    "rush",
    "board",
    "board_page",
    "pg_audit",
    "wall",
    "report",
)
# A benchmark whose module is named otherwise (tests/bench/report.py writes RESULTS.md).
MODULES = {"report": "monthly_report"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run (default: all of {', '.join(ORDER)})",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the machinery")
    parser.add_argument("--out", type=Path, help="where RESULTS.md and latency.png go")
    parser.add_argument(
        "--work", type=Path, help="data directories and server logs (default tests/bench/work)"
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(ORDER)}")
    names = args.names or list(ORDER)
    full = not args.names and not args.smoke
    out_dir = args.out or (BENCH_DIR if full else WORK)
    if args.work:
        set_run_dir(args.work)
    started = dt.datetime.now(dt.UTC)
    limit = raise_nofile()
    print(f"open-files limit: {limit}", flush=True)
    results: list[Result] = []
    failed = False
    for name in [n for n in ORDER if n in names]:
        module = importlib.import_module(f"tests.bench.{MODULES.get(name, name)}")
        params = module.Params.smoke() if args.smoke else module.Params()
        print(f"== {name}: {params}", flush=True)
        t0 = time.monotonic()
        try:
            result: Result = module.run(params)
        except Exception as exc:
            traceback.print_exc()
            failed = True
            result = Result(name, name)
            result.verdicts.append(
                Verdict(name, None, f"benchmark failed: {type(exc).__name__}: {exc}")
            )
        result.seconds = time.monotonic() - t0
        results.append(result)
        for verdict in result.verdicts:
            print(verdict.line(), flush=True)
    command = "python -m tests.bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    findings = (BENCH_DIR / "FINDINGS.md").read_text().splitlines() if full else []
    path = write_markdown(results, out_dir, command.strip(), started, findings)
    print(f"report: {path}")
    print("\n".join(v.line() for r in results for v in r.verdicts))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
