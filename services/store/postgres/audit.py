"""The audit log's reads on PostgreSQL: searches, checkpoints, pinned keys, and the whole-chain
verification, with the same meaning as ``services.store.sqlite.audit``'s.

Verification walks the chain with ``services.audit.chain.verify_chain``, the function SQLite's
verification uses, over one REPEATABLE READ, READ ONLY snapshot, streaming the events through a
server-side cursor (a log of millions of rows is never held in memory); the canonical event each
hash covers is built here in Python, exactly as ``chain_hash`` builds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import orjson
import psycopg

from services.audit.anchor import Anchor, anchor_problem
from services.audit.chain import (
    LIVE_UNSIGNED_S,
    AuditRecord,
    ChainRow,
    Checkpoint,
    VerifyResult,
    verify_chain,
)
from services.audit.keys import key_rows_problem, pin_problem, pinned_from_rows
from services.audit.query import AuditQuery
from services.audit.upgrade import legacy_problem, trust_legacy
from services.store.postgres.writer import CHECKPOINT_INTERVAL_S

AUDIT_COLS = (
    "seq, ts_ms, facility_id, visit_id, actor_role, actor_id, action, details, prev_hash, hash"
)
KEYS_SQL = "SELECT key_id, public_key, pinned_seq FROM audit_keys ORDER BY pinned_seq, key_id"
CHECKPOINTS_SQL = (
    "SELECT seq, hash, key_id, signature, ts_ms FROM audit_checkpoints WHERE seq > %s"
    " ORDER BY seq LIMIT %s"
)
FACILITY_EVENTS_SQL = "SELECT count(*) FROM audit_events WHERE facility_id = %s"
WALK_BATCH = 10_000  # rows fetched per round trip by the verification's cursor

Conn = psycopg.Connection[Any]


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _visit_filters(query: AuditQuery) -> tuple[list[str], list[Any]]:
    """Conditions on ``visits v`` from the filters that name a visit's people, place or kind."""
    where: list[str] = []
    args: list[Any] = []
    if query.inmate_id:
        where.append(
            "v.inmate_id IN (SELECT id FROM inmates WHERE id = %s OR number = %s"
            " OR name LIKE %s ESCAPE '\\')"
        )
        args += [query.inmate_id, query.inmate_id, _like(query.inmate_id)]
    if query.terminal_id:
        where.append(
            "(v.terminal_id = %s OR v.room_id = %s"
            " OR v.room_id IN (SELECT id FROM rooms WHERE name LIKE %s ESCAPE '\\'))"
        )
        args += [query.terminal_id, query.terminal_id, _like(query.terminal_id)]
    if query.visitor_id:
        who = query.visitor_id
        nik_tail = len(who) == 4 and who.isdigit()
        where.append(
            "v.id IN (SELECT p.visit_id FROM participants p WHERE p.visitor_id = %s"
            " OR p.name LIKE %s ESCAPE '\\'"
            " OR p.visitor_id IN (SELECT id FROM visitors WHERE name LIKE %s ESCAPE '\\'"
            + (" OR right(nik, 4) = %s" if nik_tail else "")
            + "))"
        )
        args += [who, _like(who), _like(who)] + ([who] if nik_tail else [])
    if query.kind:
        where.append("v.kind = %s")
        args.append(query.kind)
    if query.end_reason:
        where.append("v.end_reason = %s")
        args.append(query.end_reason)
    return where, args


def search_sql(query: AuditQuery) -> tuple[str, list[Any]]:
    """The search for ``query`` (see ``services.store.sqlite.audit.audit_search``)."""
    where = ["a.seq > %s"]
    args: list[Any] = [query.after_seq]
    if query.newest_first and query.before_seq:
        where.append("a.seq < %s")
        args.append(query.before_seq)
    simple = {"a.facility_id": query.facility_id, "a.visit_id": query.visit_id}
    simple["a.action"] = query.action
    for column, value in simple.items():
        if value:
            where.append(f"{column} = %s")
            args.append(value)
    if query.facilities is not None:
        where.append("a.facility_id = ANY(%s)")
        args.append(list(query.facilities))
    if query.officer:
        where.append(
            "(a.actor_id = %s OR a.actor_id IN (SELECT id FROM staff WHERE username = %s))"
        )
        args += [query.officer, query.officer]
    on_visit, visit_args = _visit_filters(query)
    if on_visit:
        where.append(f"a.visit_id IN (SELECT v.id FROM visits v WHERE {' AND '.join(on_visit)})")
        args += visit_args
    if query.since_ms is not None:
        where.append("a.ts_ms >= %s")
        args.append(query.since_ms)
    if query.until_ms is not None:
        where.append("a.ts_ms < %s")
        args.append(query.until_ms)
    order = "DESC" if query.newest_first else ""
    cols = ", ".join("a." + c.strip() for c in AUDIT_COLS.split(","))
    sql = f"SELECT {cols} FROM audit_events a WHERE {' AND '.join(where)} ORDER BY a.seq {order}"
    args.append(query.limit)
    return sql + " LIMIT %s", args


def record(row: Sequence[Any]) -> AuditRecord:
    return AuditRecord(int(row[0]), int(row[1]), *row[2:])


def checkpoint_row(row: Sequence[Any]) -> tuple[Checkpoint, int]:
    return Checkpoint(int(row[0]), row[1], row[2], row[3]), int(row[4])


def verify_db(
    url: str,
    *,
    live: bool = False,
    witnessed: Sequence[tuple[int, str]] = (),
    anchors: Sequence[Anchor] = (),
    now: Callable[[], float] = time.time,
) -> VerifyResult:
    """Check the whole chain of a PostgreSQL log (see ``services.store.sqlite.audit.verify_file``
    for what each argument means), in one read-only snapshot. A database whose audit tables
    cannot be read fails verification: the log cannot be shown intact."""
    from services.store.postgres.connection import connect

    try:
        with connect(url, autocommit=True) as conn:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                result = _verify(conn, live, witnessed, anchors, now)
    except psycopg.Error as exc:
        result = VerifyResult(False, 0, 0, None, f"audit tables unreadable: {exc}")
    return replace(result, anchor=", ".join(a.source for a in anchors))


def _verify(
    conn: Conn,
    live: bool,
    witnessed: Sequence[tuple[int, str]],
    anchors: Sequence[Anchor],
    now: Callable[[], float],
) -> VerifyResult:
    sql = "SELECT seq, hash, key_id, signature FROM audit_checkpoints ORDER BY seq"
    cps = [Checkpoint(int(r[0]), r[1], r[2], r[3]) for r in conn.execute(sql)]
    snapshot_s = now()  # the first read began the snapshot: the tail's age is as of now
    key_rows = conn.execute(KEYS_SQL).fetchall()
    keys = pinned_from_rows(key_rows)
    row = conn.execute("SELECT max(head_seq) FROM audit_legacy").fetchone()
    legacy = int(row[0] or 0) if row else 0
    event_at = partial(_event_at, conn)
    signers = trust_legacy(keys, legacy, event_at)
    with conn.cursor(name="tatap_verify") as cur:
        cur.itersize = WALK_BATCH
        cur.execute(f"SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq")
        result = verify_chain(_chain_rows(cur), cps, signers, live=live, legacy_head=legacy)
    pinned = tuple(sorted(((k.key_id, k.pinned_seq) for k in keys.values()), key=_by_seq))
    result = replace(result, pinned_keys=pinned)
    forged = key_rows_problem(key_rows)
    if forged is not None:
        return replace(result, ok=False, first_bad_seq=forged[0], problem=forged[1])
    if not result.ok:
        return result
    bad = legacy_problem(legacy, event_at) or pin_problem(keys, event_at)
    if bad is None:
        bad = anchor_problem(keys, anchors)
    if bad is None:
        bad = _witness_problem(conn, result.events, witnessed)
    if bad is not None:
        return replace(result, ok=False, first_bad_seq=bad[0], problem=bad[1])
    if live and result.unsigned_from is not None:
        return _stale_tail(conn, result, snapshot_s)
    return result


def _by_seq(key: tuple[str, int]) -> tuple[int, str]:
    return key[1], key[0]


def _chain_rows(rows: Iterator[Sequence[Any]]) -> Iterator[ChainRow]:
    """Each event as the chain walk needs it: its canonical form built as ``chain_hash`` does."""
    dumps = orjson.dumps
    for r in rows:
        seq, ts_ms = int(r[0]), int(r[1])
        yield seq, r[8], r[9], dumps([seq, ts_ms, r[2], r[3], r[4], r[5], r[6], r[7]])


def _event_at(conn: Conn, seq: int) -> tuple[str, str] | None:
    sql = "SELECT action, details FROM audit_events WHERE seq = %s"
    row = conn.execute(sql, (seq,)).fetchone()
    return (row[0], row[1]) if row else None


def _stale_tail(conn: Conn, result: VerifyResult, now_s: float) -> VerifyResult:
    """``result`` failed if its unsigned tail was older at ``now_s`` than a running node leaves
    one (see ``services.store.sqlite.audit``)."""
    seq = result.unsigned_from
    row = conn.execute("SELECT ts_ms FROM audit_events WHERE seq = %s", (seq,)).fetchone()
    age_s = now_s - row[0] / 1000 if row else float("inf")
    if age_s <= LIVE_UNSIGNED_S:
        return result
    return replace(
        result,
        ok=False,
        first_bad_seq=seq,
        problem=(
            f"events {seq}-{result.events} follow the last signed checkpoint and the oldest is"
            f" {age_s:.0f} s old: a running node signs within {CHECKPOINT_INTERVAL_S:.0f} s, so"
            " these come from a stopped or stuck node, or were added by hand"
        ),
    )


def _witness_problem(
    conn: Conn, events: int, witnessed: Sequence[tuple[int, str]]
) -> tuple[int, str] | None:
    for seq, digest in sorted(witnessed):
        if seq > events:
            return seq, f"witnessed head {seq} is gone: the log ends at {events} (cut off)"
        row = conn.execute("SELECT hash FROM audit_events WHERE seq = %s", (seq,)).fetchone()
        if row is None or row[0] != digest:
            return seq, f"seq {seq} differs from the head a witness saw (rewritten)"
    return None
