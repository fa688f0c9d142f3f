"""Server processes under test and how they are measured (CPU and RSS from /proc).

Every server is started on 127.0.0.1 on a free port, its output goes to a log file in the work
directory, and it is stopped (SIGTERM, then SIGKILL) when the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
WORK = BENCH_DIR / "work"
REPO = BENCH_DIR.parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PEERJS_VERSION = "peer@1"
# Data directories and server logs of the current run. The test suite's smoke runs point this at
# their own temporary directory, so they never touch the files of a full run going on meanwhile.
_run_dir = [WORK]


def set_run_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    _run_dir[0] = path


def run_dir() -> Path:
    return _run_dir[0]


def raise_nofile() -> int:
    """Open-files soft limit up to the hard limit; children (servers, clients) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) of a process (all its threads) in seconds, from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process: the CPU it cost, user and kernel."""
    return sum(cpu_times(pid))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Server:
    name: str
    pid: int
    port: int
    proc: subprocess.Popen[bytes]

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def cpu_times(self) -> tuple[float, float]:
        return cpu_times(self.pid)

    def rss(self) -> float:
        return rss_mb(self.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if the benchmark process dies (killed by a test
    timeout, say), so no server outlives the run that started it."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status < 500:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"no answer from {url} within {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# The load generators play thousands of clients from 127.0.0.1: lift the per-address cap.
LOADGEN_ENV = {"TATAP_MAX_CONNS_PER_ADDRESS": "1000000"}


@contextlib.contextmanager
def tatap_server(
    data_dir: Path, log_name: str = "tatap-serve.log", env: dict[str, str] | None = None
) -> Iterator[Server]:
    """``tatap serve`` as its own process, with the tokens, validation and audit it always has.
    ``env`` adds environment variables (a before/after comparison points PYTHONPATH elsewhere)."""
    port = free_port()
    tatap = Path(sys.executable).with_name("tatap")
    argv = [
        str(tatap),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    with open(run_dir() / log_name, "wb") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **LOADGEN_ENV, **(env or {})},
            preexec_fn=_die_with_parent,
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", proc, 30)
        yield Server("tatap", proc.pid, port, proc)
    finally:
        _stop(proc)


def peerjs_installed() -> Path | None:
    script = WORK / "node_modules" / "peer" / "dist" / "bin" / "peerjs.js"
    return script if script.exists() else None


def install_peerjs() -> Path:
    """``npm install peer@1`` into the (git-ignored) work directory, once."""
    script = peerjs_installed()
    if script is not None:
        return script
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: cannot install the PeerJS server")
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / ".npm-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once install once
        if peerjs_installed() is None:
            subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--silent", PEERJS_VERSION],
                cwd=WORK,
                check=True,
                timeout=300,
            )
    script = peerjs_installed()
    if script is None:
        raise RuntimeError("npm install peer@1 did not produce dist/bin/peerjs.js")
    return script


@contextlib.contextmanager
def peerjs_server() -> Iterator[Server]:
    """The PeerJS reference broker (node runs the script itself, so the PID is node's)."""
    script = install_peerjs()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed")
    port = free_port()
    argv = [
        node,
        str(script),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--concurrent_limit",
        "20000",
    ]
    with open(run_dir() / "peerjs.log", "wb") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, cwd=WORK, preexec_fn=_die_with_parent
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}/", proc, 30)
        yield Server("peerjs", proc.pid, port, proc)
    finally:
        _stop(proc)


def fresh_dir(name: str) -> Path:
    path = run_dir() / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path
