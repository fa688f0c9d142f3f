"""A node's runs in the log (services/audit/runs.py): `node-started` names when the previous run
last lived and whether it crashed, from the heartbeat file a crash leaves saying alive and a
clean stop marks stopped; a first run names nothing."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from services.audit.query import AuditQuery
from services.audit.runs import NODE_STARTED, NODE_STOPPED, NodeRuns, last_run
from tests.helpers.world import World


async def _started(world: World) -> dict[str, object]:
    found = await world.store.audit_search(AuditQuery(action=NODE_STARTED, newest_first=True))
    details: dict[str, object] = orjson.loads(found[0].details)
    return details


async def test_a_crash_and_a_clean_stop_are_told_apart(world: World, tmp_path: Path) -> None:
    """No file: a first run. A file left saying alive (a SIGKILL): crashed, down from its time
    (or the log's last event, if later). After a clean stop: not crashed, down from the stop."""
    runs = NodeRuns(world.store, world.clock, "n1", tmp_path / "runs")
    assert (await runs.started()).down_from_ms is None
    assert await _started(world) == {"node": "n1", "down_from_ms": None, "crashed": False}
    os.utime(runs.path, (1_000, 1_000))  # the last beat, long ago; the run then died
    last_event = (await world.store.audit_search(AuditQuery(newest_first=True, limit=1)))[0]
    again = NodeRuns(world.store, world.clock, "n2", tmp_path / "runs")
    crashed = await again.started()
    assert crashed.crashed and crashed.down_from_ms == last_event.ts_ms  # the log is later
    await again.stopped()
    assert last_run(again.path).crashed is False
    stopped_ms = last_run(again.path).down_from_ms
    stops = await world.store.audit_search(AuditQuery(action=NODE_STOPPED))
    assert [orjson.loads(s.details) for s in stops] == [{"node": "n2"}]
    third = await NodeRuns(world.store, world.clock, "n3", tmp_path / "runs").started()
    assert third.crashed is False and third.down_from_ms is not None
    assert stopped_ms is not None and third.down_from_ms >= stopped_ms


def test_the_heartbeat_file_keeps_the_last_beat(tmp_path: Path) -> None:
    """A beat moves the file's time to now; a crash leaves it there, saying alive."""
    path = tmp_path / "node.alive"
    path.write_bytes(b"alive\n")
    os.utime(path, (5_000, 5_000))
    assert last_run(path).down_from_ms == 5_000_000 and last_run(path).crashed
    path.write_bytes(b"stopped\n")
    assert last_run(path).crashed is False
