"""`tatap serve` as its own process on a free loopback port, for tests of what only the real
process shows (aiohttp's run_app defaults, uvloop, the process's own memory)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp


@dataclass(frozen=True)
class Served:
    host: str
    port: int
    pid: int

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def tatap_serve(data_dir: Path, **env: str) -> AsyncIterator[Served]:
    """A node started with ``TATAP_*`` variables ``env``; stopped with SIGTERM afterwards."""
    port = free_port()
    variables = {
        **os.environ,
        "TATAP_TOKEN_KEYS": "k1:" + "s" * 32,
        **{f"TATAP_{k.upper()}": v for k, v in env.items()},
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        env=variables,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    served = Served("127.0.0.1", port, proc.pid)
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(15):
                while True:
                    try:
                        async with session.get(served.url("/healthz")) as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.1)  # nothing to await: the process is starting
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 10)


def start_serve(data_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`tatap serve` on ``data_dir`` with the settings it keeps there (no ``TATAP_*`` from the
    environment), its output in ``log``, answering /healthz: a process a test may SIGKILL and
    start again on the same directory. Returns the process and its base URL."""
    port = free_port()
    tatap = Path(sys.executable).with_name("tatap")
    argv = [str(tatap), "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--data-dir", str(data_dir)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TATAP_")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=clean)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "tatap serve exited at start"
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return proc, url
        except OSError:
            assert time.monotonic() < deadline, "tatap serve did not answer /healthz"
            time.sleep(0.05)
