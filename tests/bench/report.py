"""Results of a benchmark run: verdict lines, RESULTS.md and the latency plot."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(slots=True)
class Verdict:
    """One §5 target: ``met`` is None when the benchmark could not run."""

    target: str
    met: bool | None
    figure: str

    def line(self) -> str:
        state = {True: "met", False: "MISSED", None: "NOT RUN"}[self.met]
        return f"{state:7} {self.target}: {self.figure}"


@dataclass(slots=True)
class Result:
    name: str
    title: str
    verdicts: list[Verdict] = field(default_factory=list)
    # (label, value) rows for the RESULTS.md table of this benchmark.
    figures: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # label → samples in milliseconds, drawn in the plot.
    latencies: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, label: str, value: object) -> None:
        self.figures.append((label, str(value)))


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted samples; NaN when empty."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def machine() -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    node = _cmd(["node", "--version"])
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("memory", f"{mem_kb // 1024} MiB"),
        ("OS", f"{platform.system()} {platform.release()} ({_os_name()})"),
        ("Python", sys.version.split()[0]),
        ("Node.js", node or "absent"),
        ("load average at the end", " ".join(f"{x:.2f}" for x in os.getloadavg())),
    ]


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "unknown"


def _cmd(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def git_commit() -> str:
    head = _cmd(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"]) or "unknown"
    dirty = _cmd(["git", "-C", str(REPO), "status", "--porcelain", "--", "signaling", "services"])
    return head + (" (with uncommitted changes in signaling/ or services/)" if dirty else "")


def plot(results: list[Result], path: Path) -> bool:
    """One panel per benchmark that has latency samples: a CDF of each series."""
    with_samples = [r for r in results if any(r.latencies.values())]
    if not with_samples:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(with_samples), 1, figsize=(8, 3.2 * len(with_samples)))
    if len(with_samples) == 1:
        axes = [axes]
    for ax, result in zip(axes, with_samples, strict=True):
        for label, samples in result.latencies.items():
            if not samples:
                continue
            ordered = sorted(samples)
            n = len(ordered)
            ax.plot(ordered, [(i + 1) / n for i in range(n)], label=f"{label} (n={n})")
        ax.set_title(result.title)
        ax.set_xlabel("milliseconds")
        ax.set_ylabel("fraction ≤ x")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
        if result.name == "relay":
            ax.set_xscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_markdown(
    results: list[Result], out_dir: Path, command: str, started: dt.datetime, extra: list[str]
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / "latency.png"
    has_plot = plot(results, png)
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `{command}` (`make bench` runs `python -m tests.bench`), started "
        f"{started:%Y-%m-%d %H:%M} UTC, git commit {git_commit()}.",
        "",
        "Every figure below comes from that one run. The machine was shared with other work "
        "while it ran (builds and test suites), so absolute figures carry noise; the relay "
        "comparison measured Tatap and the PeerJS server side by side in the same run with the "
        "same load generator, alternating between them, so both saw the same conditions.",
        "",
        "## Verdicts (DESIGN.md §5)",
        "",
        "```",
        *[v.line() for r in results for v in r.verdicts],
        "```",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in machine()],
        "",
    ]
    for result in results:
        lines += [f"## {result.title}", "", "| figure | value |", "| --- | --- |"]
        lines += [f"| {label} | {value} |" for label, value in result.figures]
        lines += [f"| wall time of this benchmark | {result.seconds:.0f} s |", ""]
        lines += [f"- {note}" for note in result.notes]
        lines.append("")
    if has_plot:
        lines += ["## Latency distributions", "", f"![latency CDFs]({png.name})", ""]
    lines += extra
    path = out_dir / "RESULTS.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
