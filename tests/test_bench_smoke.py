"""Smoke runs of the benchmarks on tiny sizes: the machinery works (servers start, load generators
connect and report, the report and plot are written). The figures are not checked: at these sizes
they mean nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench import board_page, join

REPO = Path(__file__).resolve().parents[1]


def smoke(name: str, out: Path) -> str:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench",
            name,
            "--smoke",
            "--out",
            str(out),
            "--work",
            str(out / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "NOT RUN" not in proc.stdout, proc.stdout
    assert (out / "RESULTS.md").exists()
    return proc.stdout


def test_audit_smoke(tmp_path: Path) -> None:
    """Appends through the real store and a verify of a freshly built chain report figures."""
    out = smoke("audit", tmp_path)
    assert "durable appends/s" in out and "verify 1,000,000 events" in out
    assert "audit search p95" in out


def test_pg_audit_smoke(tmp_path: Path) -> None:
    """The PostgreSQL audit bench starts its own cluster, appends from one process and from two,
    verifies, and reports its figures."""
    out = smoke("pg_audit", tmp_path)
    assert (
        "PostgreSQL audit" in out and "durable appends/s" in (tmp_path / "RESULTS.md").read_text()
    )
    assert "two processes" in (tmp_path / "RESULTS.md").read_text()


@pytest.mark.skipif(
    shutil.which("npm") is None or shutil.which("node") is None,
    reason="the PeerJS half needs node and npm (npm install peer@1)",
)
def test_relay_smoke(tmp_path: Path) -> None:
    """tatap serve and the PeerJS server both relay the generator's traffic; a ratio comes out."""
    out = smoke("relay", tmp_path)
    assert "relay CPU per message" in out
    assert (tmp_path / "latency.png").exists()


def test_connections_smoke(tmp_path: Path) -> None:
    """Visits are scheduled, every seat joins from client processes, RSS is read."""
    assert "connections, RSS" in smoke("connections", tmp_path)


def test_deadlines_smoke(tmp_path: Path) -> None:
    """Visits ending together: every socket reports when its `ended` arrived."""
    out = smoke("deadlines", tmp_path)
    assert "0 missing" in out


@pytest.mark.browser
@pytest.mark.skipif(bool(join.unavailable()), reason=join.unavailable() or "available")
def test_join_smoke(tmp_path: Path) -> None:
    """One join in real Chromium against the terminal agent reaches a first remote frame."""
    assert "join to first frame" in smoke("join", tmp_path)


@pytest.mark.browser
@pytest.mark.skipif(bool(join.unavailable()), reason=join.unavailable() or "available")
def test_page_smoke(tmp_path: Path) -> None:
    """One throttled page load in real Chromium against the terminal agent reaches a frame."""
    assert "first remote frame" in smoke("page", tmp_path)


def test_rush_smoke(tmp_path: Path) -> None:
    """Families race for a day's slots through a real server; the database holds one visit per
    slot and no quota overrun (the figures are not checked at this size)."""
    out = smoke("rush", tmp_path)
    assert "met     booking rush: exactly 50 booked, no quota overrun" in out


def test_board_smoke(tmp_path: Path) -> None:
    """The board is read over HTTP and subscribers of its feed get every change (the figures
    are not checked at this size)."""
    out = smoke("board", tmp_path)
    assert "officer board: GET of 200 visits" in out
    assert "0 missing" in out


@pytest.mark.browser
@pytest.mark.skipif(bool(board_page.unavailable()), reason=board_page.unavailable() or "")
def test_board_page_smoke(tmp_path: Path) -> None:
    """The console's board page is rendered in Chromium and follows changes made through the
    API (the figures are not checked at this size)."""
    out = smoke("board_page", tmp_path)
    assert "officer board page: 200 visits painted" in out
    assert "0 missing" in out


def test_wall_smoke(tmp_path: Path) -> None:
    """A terminal process is measured with no monitor and with one, which gets frames on all
    four m-lines (the figures are not checked at this size)."""
    out = smoke("wall", tmp_path)
    assert "live wall: the terminal with 1 monitors stays under one core" in out
    report = (tmp_path / "RESULTS.md").read_text()
    assert "terminal CPU, 1 monitor(s)" in report and "frames/s" in report


def test_report_smoke(tmp_path: Path) -> None:
    """The monthly report bench builds its year, computes the region's month (its sums hold, or
    the bench fails) and prints it as PDF, and judges the 5 s target."""
    out = smoke("report", tmp_path)
    assert "monthly report (figures + HTML) < 5 s" in out and "PDF" in out
