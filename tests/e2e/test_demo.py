"""`tatap demo`: one command gives a newcomer a visit they can open in a browser."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.stack import frames_flowing, open_page
from tests.helpers.served import free_port

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def processes_using(path: Path) -> list[int]:
    """Ids of the processes whose command line names ``path``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:  # not a process, or it has just ended
            continue
        if str(path).encode() in argv:
            found.append(int(proc.name))
    return found


def parent_of(pid: int) -> int:
    # /proc/PID/stat: "pid (name) state ppid ..."; the name may hold spaces, not ")".
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.mark.timeout(60)
async def test_demo_prints_a_link_that_opens_a_live_call(browser: Browser, tmp_path: Path) -> None:
    """The printed family link opens a call with the demo terminal's test pattern, the staff
    logins are printed, Ctrl-C stops everything cleanly (the terminal, a child process, too),
    and the audit commands it prints for its own log work (the log verifies once the demo has
    stopped)."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        "demo",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "demo"),
        "--minutes",
        "2",
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(20):
            while not any(line.startswith("  Ctrl-C") for line in lines):
                raw = await proc.stdout.readline()
                assert raw, f"demo exited early: {lines}"
                lines.append(raw.decode())
        link = next(line.split()[-1] for line in lines if "family link" in line)
        assert link.startswith(f"http://127.0.0.1:{port}/v/")
        assert any(line.split()[:1] == ["officer"] for line in lines)
        assert any(line.split()[:1] == ["auditor"] for line in lines)

        context, page = await open_page(browser, link)
        await frames_flowing(page, peers=1)
        assert await page.evaluate("window.tatap.state") == "call"
        await context.close()
        terminals = processes_using(tmp_path / "demo" / "terminal.json")
        assert [parent_of(pid) for pid in terminals] == [proc.pid]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), timeout=15)
    assert code == 0
    assert processes_using(tmp_path / "demo" / "terminal.json") == []
    printed = [line.split() for line in lines if line.strip().startswith("tatap audit")]
    assert [words[:3] for words in printed] == [
        ["tatap", "audit", "verify"],
        ["tatap", "audit", "export"],
    ]
    verify = [w for w in printed[0][1:] if w != "--live"]  # the demo has stopped: no live tail
    for argv in (verify, printed[1][1:]):
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.cli.main", *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert ",joined," in done.stdout  # the call the browser made is in the export


@pytest.mark.timeout(60)
async def test_a_killed_demo_takes_its_terminal_with_it(tmp_path: Path) -> None:
    """SIGKILL gives the demo no chance to stop its terminal: the kernel ends the child anyway,
    so no orphaned terminal keeps reconnecting to a server that is gone."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        "demo",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        "--data-dir",
        str(tmp_path / "demo"),
        stdout=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
    )
    credentials = tmp_path / "demo" / "terminal.json"
    async with asyncio.timeout(20):
        while not processes_using(credentials):
            await asyncio.sleep(0.1)
    proc.kill()
    await proc.wait()
    async with asyncio.timeout(10):
        while processes_using(credentials):
            await asyncio.sleep(0.1)
