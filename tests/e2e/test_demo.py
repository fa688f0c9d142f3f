"""`tatap demo`: one command gives a newcomer a visit they can open in a browser."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
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


@pytest.mark.timeout(60)
async def test_the_printed_inmate_books_a_slot_at_once(tmp_path: Path) -> None:
    """A newcomer can book straight away: the demo prints its registration page and an inmate
    to visit, the facility offers that day's or the next day's slots, and the printed inmate
    number books one through POST /api/v1/requests."""
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
        base = f"http://127.0.0.1:{port}"
        register = next(line.split()[-1] for line in lines if "registration:" in line)
        assert register == f"{base}/register"
        words = next(line for line in lines if "inmate to visit:" in line).split()
        number = words[3]
        assert len(words) > 4  # and a name beside the number
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/api/v1/facilities") as resp:
                (facility,) = (await resp.json())["facilities"]
            today = dt.datetime.now(ZoneInfo(facility["timezone"])).date()
            slots: list[dict[str, int]] = []
            for ahead in range(3):  # late in the evening today's slots have all begun
                day = (today + dt.timedelta(days=ahead)).isoformat()
                url = f"{base}/api/v1/facilities/{facility['id']}/slots?date={day}"
                async with session.get(url) as resp:
                    slots = (await resp.json())["slots"]
                if slots:
                    break
            assert slots, "no free slot today or in the next two days"
            request = {
                "facility_id": facility["id"],
                "inmate_number": number,
                "kind": "regular",
                "start_ms": slots[-1]["start_ms"],
                "visitor": {
                    "name": "Siti Aminah",
                    "nik": "3201015508900001",
                    "phone": "0812-3456-7890",
                    "relationship": "spouse",
                },
            }
            async with session.post(f"{base}/api/v1/requests", json=request) as resp:
                answer = await resp.json()
                assert resp.status == 201, answer
        assert answer["status"] == "requested"
        assert answer["start_ms"] == slots[-1]["start_ms"]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), timeout=15)
    assert code == 0
