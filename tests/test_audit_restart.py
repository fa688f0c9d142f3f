"""A node killed with events no checkpoint covers records that tail in the log when it starts
again, before it signs anything (``services.audit.restart``)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import orjson

from tests.helpers.audit import REPO, open_store, rows, verify

# A node that appends five events, says so, and waits to be killed before it can sign them
# (its timer would sign after 10 s; the test kills it at once).
_CRASHING_NODE = """
import asyncio, sys
from pathlib import Path
from services.audit.chain import AuditEvent
from tests.helpers.audit import open_store

async def main():
    store = open_store(Path(sys.argv[1]))
    await store.append([AuditEvent("notice", "officer", "s_1") for _ in range(5)])
    print("appended", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def _crashed_log(data_dir: Path) -> None:
    """Three signed events (a clean stop), then five more by a node killed with SIGKILL."""
    from services.audit.chain import AuditEvent

    store = open_store(data_dir)
    await store.append([AuditEvent("notice", "officer", "s_1") for _ in range(3)])
    await store.aclose()
    node = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CRASHING_NODE,
        str(data_dir),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert node.stdout is not None and await node.stdout.readline() == b"appended\n"
    finally:
        node.send_signal(signal.SIGKILL)
        await node.wait()


async def test_a_restart_records_the_crash_tail_before_signing_it(tmp_path: Path) -> None:
    """The killed node left events 4-8 unsigned; on the next start the store appends an
    `audit-unsigned-tail` event naming 4-8 as seq 9 and only then signs, at 9."""
    await _crashed_log(tmp_path)
    db = tmp_path / "tatap.db"
    assert rows(db, "SELECT max(seq) FROM audit_checkpoints") == [(3,)]
    store = open_store(tmp_path)
    await store.aclose()
    ((seq, role, actor, action, details),) = rows(
        db, "SELECT seq, actor_role, actor_id, action, details FROM audit_events WHERE seq > 8"
    )
    assert (seq, role, actor, action) == (9, "system", "restart", "audit-unsigned-tail")
    assert orjson.loads(details)["from_seq"] == 4 and orjson.loads(details)["to_seq"] == 8
    assert [r[0] for r in rows(db, "SELECT seq FROM audit_checkpoints ORDER BY seq")] == [3, 9]
    code, report = verify(tmp_path)
    assert code == 0 and report["events"] == 9


async def test_a_clean_restart_records_nothing(tmp_path: Path) -> None:
    """A node stopped cleanly signed its head: the next start appends no event."""
    from services.audit.chain import AuditEvent

    store = open_store(tmp_path)
    await store.append([AuditEvent("notice", "officer", "s_1") for _ in range(3)])
    await store.aclose()
    await open_store(tmp_path).aclose()
    assert rows(tmp_path / "tatap.db", "SELECT count(*) FROM audit_events") == [(3,)]
