"""`tatap serve` as its own process on a free loopback port, for tests of what only the real
process shows (aiohttp's run_app defaults, uvloop, the process's own memory)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
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
