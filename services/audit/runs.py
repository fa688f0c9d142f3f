"""A node's runs in the audit log, so that the time it was down is known (services/reports/lost.py).

At start a node writes ``node-started`` with ``down_from_ms``: when its previous run last gave a
sign of life, and ``crashed``: whether that run ended without a clean stop. A clean stop writes
``node-stopped``. A SIGKILLed node writes nothing on the way out, so while it runs it touches a
heartbeat file (``<data_dir>/node.alive``: a data directory is one node's, whatever id each run
takes) every ``BEAT_S``: its modification time is the last
sign of life, off by at most a beat, unless the log's last event is later (a run killed before
its first beat); a clean stop writes ``stopped`` into it. No file: a first run,
and nothing was down.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import structlog

from services.audit.chain import AuditEvent
from services.audit.query import AuditQuery
from services.audit.restart import UNSIGNED_TAIL_ACTION
from services.clock import Clock
from services.files import replace_file
from services.ids import Actor
from services.store.protocols import AuditLog

NODE_STARTED = "node-started"
NODE_STOPPED = "node-stopped"
BEAT_S = 2.0
log = structlog.get_logger()
STOPPED = b"stopped\n"


@dataclass(frozen=True, slots=True)
class LastRun:
    """What the heartbeat file says of the run before this one."""

    down_from_ms: int | None  # None: no run before
    crashed: bool


def last_run(path: Path) -> LastRun:
    """The previous run as its heartbeat file left it."""
    try:
        stat = path.stat()
        clean = path.read_bytes() == STOPPED
    except FileNotFoundError:
        return LastRun(None, crashed=False)
    return LastRun(stat.st_mtime_ns // 1_000_000, crashed=not clean)


class NodeRuns:
    """This node's run: recorded at start, kept alive by a heartbeat, recorded at a clean stop."""

    def __init__(self, log: AuditLog, clock: Clock, node_id: str, data_dir: Path) -> None:
        self._log = log
        self._clock = clock
        self._node = node_id
        self._actor = Actor.system(node_id)
        self.path = data_dir / "node.alive"

    def _event(self, action: str, details: dict[str, object]) -> AuditEvent:
        return AuditEvent(action, *self._actor, details=details, ts=self._clock.now())

    async def started(self) -> LastRun:
        """Record this run's start, with the previous run's last sign of life."""
        last = last_run(self.path)
        if last.down_from_ms is not None:
            last = LastRun(max(last.down_from_ms, await self._last_event_ms()), last.crashed)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.beat()  # from now on, the file says this run is alive
        details: dict[str, object] = {"node": self._node, "down_from_ms": last.down_from_ms}
        details["crashed"] = last.crashed
        await self._log.append([self._event(NODE_STARTED, details)])
        return last

    async def _last_event_ms(self) -> int:
        """When the log's last event before this run was written (this run's store may have
        recorded an unsigned tail at open: services/audit/restart.py)."""
        newest = await self._log.audit_search(AuditQuery(newest_first=True, limit=2))
        return max((e.ts_ms for e in newest if e.action != UNSIGNED_TAIL_ACTION), default=0)

    def beat(self) -> None:
        """A sign of life: the heartbeat file's time is now."""
        if self.path.exists() and self.path.read_bytes() != STOPPED:
            os.utime(self.path)
        else:
            replace_file(self.path, b"alive\n")

    async def run(self) -> None:
        """Beat until cancelled."""
        while True:
            await asyncio.sleep(BEAT_S)
            await asyncio.to_thread(self.beat)

    async def stopped(self) -> None:
        """A clean stop: in the heartbeat file (a crash leaves it saying alive), and in the log
        unless the store was closed first (the next start says `crashed: false` either way)."""
        replace_file(self.path, STOPPED)
        try:
            await self._log.append([self._event(NODE_STOPPED, {"node": self._node})])
        except RuntimeError as exc:  # the store is closed
            log.warning("node.stop_not_logged", error=str(exc))
