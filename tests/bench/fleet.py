"""Running load-generator workers as processes and collecting what they report."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")
CTX = mp.get_context("spawn")


def split(items: Sequence[T], parts: int) -> list[list[T]]:
    """Items dealt round-robin into ``parts`` non-empty lists (fewer when items are few)."""
    parts = max(1, min(parts, len(items)))
    return [list(items[i::parts]) for i in range(parts)]


class Fleet:
    """Worker processes, each with a pipe; stopped (and killed if need be) on exit."""

    def __init__(self, target: Callable[[Any, Connection], None], jobs: Sequence[Any]) -> None:
        self._procs: list[Any] = []
        self._pipes: list[Connection] = []
        for job in jobs:
            ours, theirs = CTX.Pipe()
            proc = CTX.Process(target=target, args=(job, theirs), daemon=True)
            proc.start()
            theirs.close()
            self._procs.append(proc)
            self._pipes.append(ours)

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def gather(self, expect: str, timeout: float) -> list[Any]:
        """The next message of every worker, which must be ``(expect, payload)``."""
        deadline = time.monotonic() + timeout
        out = []
        for proc, pipe in zip(self._procs, self._pipes, strict=True):
            while not pipe.poll(0.2):
                if not proc.is_alive():
                    raise RuntimeError(f"load worker {proc.pid} died (exit {proc.exitcode})")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"load worker {proc.pid} sent no {expect!r} in {timeout} s")
            kind, payload = pipe.recv()
            if kind != expect:
                raise RuntimeError(f"load worker sent {kind!r}, expected {expect!r}")
            out.append(payload)
        return out

    def send(self, *message: Any) -> None:
        for pipe in self._pipes:
            pipe.send(message)

    def close(self) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(("close",))
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=20)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
        for pipe in self._pipes:
            pipe.close()
