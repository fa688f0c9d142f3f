"""Two trees, one run: ``python -m tests.bench.alternate BEFORE_TREE [AFTER_TREE] [--names relay
deadlines] [--passes 2]``.

Each named benchmark runs whole, from each tree in turn (before, after, before, after …), with that
tree's own code end to end: its ``tatap serve``, its provisioning, its load generators. Alternating
passes share the machine's conditions of the moment, which is the point on a shared, noisy machine:
a before/after figure from two separate runs hours apart says little. AFTER_TREE defaults to this
checkout. A tree is any checkout of the project, e.g. ``git worktree add /tmp/before <commit>``.

The verdict lines of every pass are printed and written, with the command, to
``tests/bench/work/alternate.md`` for RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.bench.common import REPO, WORK

# The figure each benchmark is judged by, read from its verdict line.
FIGURES = {
    "relay": re.compile(r"CPU per message[^:]*: (?P<v>[\d.]+)×"),
    "deadlines": re.compile(r"slowest (?P<v>[\d,.]+) ms after the deadline"),
    "audit": re.compile(r"durable appends/s: (?P<v>[\d,]+)/s"),
    "connections": re.compile(r"RSS ≤ 300 MB: (?P<v>[\d,]+) MB"),
    "join": re.compile(r"median (?P<v>[\d,]+) ms"),
}


def one_pass(tree: Path, name: str, side: str, n: int, smoke: bool) -> list[str]:
    """Run one benchmark from ``tree``; its verdict lines (or the reason it failed)."""
    out = WORK / "alternate" / f"{name}-{side}-{n}"
    argv = [
        sys.executable,
        "-m",
        "tests.bench",
        name,
        "--out",
        str(out),
        "--work",
        str(out / "work"),
    ] + (["--smoke"] if smoke else [])
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, timeout=1800)
    (out / "stdout.log").parent.mkdir(parents=True, exist_ok=True)
    (out / "stdout.log").write_text(proc.stdout + proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("met", "MISSED", "NOT RUN"))]
    # The report repeats every verdict at its end: keep each once.
    unique = list(dict.fromkeys(lines))
    if proc.returncode != 0 and not unique:
        unique = [f"FAILED (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"]
    return unique


def figure(name: str, lines: list[str]) -> float | None:
    pattern = FIGURES.get(name)
    for line in lines:
        found = pattern.search(line) if pattern else None
        if found:
            return float(found["v"].replace(",", ""))
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.alternate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path, nargs="?", default=REPO)
    parser.add_argument("--names", nargs="+", default=["relay", "deadlines"])
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the machinery")
    args = parser.parse_args(argv)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for side, tree in trees.items():
        if not (tree / "tests" / "bench" / "__main__.py").exists():
            parser.error(f"{side} tree {tree} has no tests/bench")
    started = dt.datetime.now(dt.UTC)
    rows: list[str] = []
    for name in args.names:
        for n in range(1, args.passes + 1):
            for side, tree in trees.items():
                lines = one_pass(tree, name, side, n, args.smoke)
                value = figure(name, lines)
                shown = f"{value:g}" if value is not None else "?"
                row = f"| {name} | {n} | {side} | {shown} | {' / '.join(lines)} |"
                print(row, flush=True)
                rows.append(row)
    commits = {side: _commit(tree) for side, tree in trees.items()}
    command = "python -m tests.bench.alternate " + shlex.join(argv or sys.argv[1:])
    report = [
        f"`{command}`, started {started:%Y-%m-%d %H:%M} UTC; before = {commits['before']}, "
        f"after = {commits['after']}.",
        "",
        "| benchmark | pass | tree | figure | verdicts |",
        "| --- | --- | --- | --- | --- |",
        *rows,
    ]
    path = WORK / "alternate.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(report) + "\n")
    print(f"report: {path}")
    return 0


def _commit(tree: Path) -> str:
    proc = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True
    )
    status = ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"]
    dirty = subprocess.run(status, capture_output=True, text=True).stdout.strip()
    return (proc.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


if __name__ == "__main__":
    raise SystemExit(main())
