"""The audit log's reads on a SQLite file: searches, checkpoints, pinned keys, and the whole-chain
verification, for the running store and for ``SqliteAuditReader`` (read-only, offline) alike.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from services.audit.anchor import Anchor, anchor_problem
from services.audit.chain import (
    LIVE_UNSIGNED_S,
    AuditRecord,
    ChainRow,
    Checkpoint,
    PinnedKey,
    VerifyResult,
    verify_chain,
)
from services.audit.keys import key_row_problem, load_pinned, pin_problem
from services.audit.query import AuditQuery
from services.audit.upgrade import legacy_head, legacy_problem, trust_legacy
from services.store.sqlite.writer import CHECKPOINT_INTERVAL_S

AUDIT_COLS = (
    "seq, ts_ms, facility_id, visit_id, actor_role, actor_id, action, details, prev_hash, hash"
)


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that can neither create, migrate nor write the file (``mode=ro``).

    ``as_uri()`` percent-encodes the path: a ``?`` or ``#`` in a directory name cannot cut it
    short."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)


def audit_checkpoints(
    conn: sqlite3.Connection, after_seq: int, limit: int
) -> list[tuple[Checkpoint, int]]:
    """Signed checkpoints after ``after_seq``, oldest first, each with its time (ms)."""
    rows = conn.execute(
        "SELECT seq, hash, key_id, signature, ts_ms FROM audit_checkpoints WHERE seq > ?"
        " ORDER BY seq LIMIT ?",
        (after_seq, limit),
    )
    return [(Checkpoint(*row[:4]), row[4]) for row in rows]


def audit_keys(conn: sqlite3.Connection) -> list[PinnedKey]:
    """The pinned keys, in the order they were pinned."""
    return sorted(load_pinned(conn).values(), key=lambda k: k.pinned_seq)


def facility_events(conn: sqlite3.Connection, facility_id: str) -> int:
    """How many events the log holds for one facility."""
    sql = "SELECT count(*) FROM audit_events WHERE facility_id = ?"
    return int(conn.execute(sql, (facility_id,)).fetchone()[0])


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
            "v.inmate_id IN (SELECT id FROM inmates WHERE id = ? OR number = ?"
            " OR name LIKE ? ESCAPE '\\')"
        )
        args += [query.inmate_id, query.inmate_id, _like(query.inmate_id)]
    if query.terminal_id:
        where.append(
            "(v.terminal_id = ? OR v.room_id = ?"
            " OR v.room_id IN (SELECT id FROM rooms WHERE name LIKE ? ESCAPE '\\'))"
        )
        args += [query.terminal_id, query.terminal_id, _like(query.terminal_id)]
    if query.visitor_id:
        who = query.visitor_id
        nik_tail = len(who) == 4 and who.isdigit()
        where.append(
            "v.id IN (SELECT p.visit_id FROM participants p WHERE p.visitor_id = ?"
            " OR p.name LIKE ? ESCAPE '\\'"
            " OR p.visitor_id IN (SELECT id FROM visitors WHERE name LIKE ? ESCAPE '\\'"
            + (" OR substr(nik, -4) = ?" if nik_tail else "")
            + "))"
        )
        args += [who, _like(who), _like(who)] + ([who] if nik_tail else [])
    if query.kind:
        where.append("v.kind = ?")
        args.append(query.kind)
    if query.end_reason:
        where.append("v.end_reason = ?")
        args.append(query.end_reason)
    return where, args


def audit_search(conn: sqlite3.Connection, query: AuditQuery) -> list[AuditRecord]:
    """Rows matching every given filter, oldest first after ``query.after_seq`` (or newest
    first before ``query.before_seq``), within the reader's facilities."""
    where = ["a.seq > ?"]
    args: list[Any] = [query.after_seq]
    if query.newest_first and query.before_seq:
        where.append("a.seq < ?")
        args.append(query.before_seq)
    simple = {
        "+a.facility_id": query.facility_id,
        "a.visit_id": query.visit_id,
        "a.action": query.action,
    }
    for column, value in simple.items():
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    if query.facilities is not None:
        # "+": not by the facility's index, whose rows would all be read and sorted before the
        # first page; the seq order (or a visit's index) finds a page of them at once.
        where.append(f"+a.facility_id IN ({','.join('?' * len(query.facilities))})")
        args += query.facilities
    if query.officer:
        where.append("(a.actor_id = ? OR a.actor_id IN (SELECT id FROM staff WHERE username = ?))")
        args += [query.officer, query.officer]
    on_visit, visit_args = _visit_filters(query)
    if on_visit:
        where.append(f"a.visit_id IN (SELECT v.id FROM visits v WHERE {' AND '.join(on_visit)})")
        args += visit_args
    if query.since_ms is not None:
        where.append("a.ts_ms >= ?")
        args.append(query.since_ms)
    if query.until_ms is not None:
        where.append("a.ts_ms < ?")
        args.append(query.until_ms)
    order = "DESC" if query.newest_first else ""
    sql = (
        f"SELECT {', '.join('a.' + c.strip() for c in AUDIT_COLS.split(','))}"
        f" FROM audit_events a WHERE {' AND '.join(where)} ORDER BY a.seq {order} LIMIT ?"
    )
    args.append(query.limit)
    return [AuditRecord(*row) for row in conn.execute(sql, args)]


def verify_file(
    path: Path,
    data_dir: Path,
    *,
    live: bool = False,
    witnessed: Sequence[tuple[int, str]] = (),
    anchors: Sequence[Anchor] = (),
    now: Callable[[], float] = time.time,
) -> VerifyResult:
    """Check the whole chain of a database file, offline (``live``: by the node writing it).

    Only keys pinned in the file's ``audit_keys`` are trusted, never a key file that appears in
    ``data_dir``; and those pins prove something only when each of ``anchors`` (records kept
    outside the file) trusts every one of them. ``witnessed`` are (seq, hash) heads a witness
    saw: each must still be there. ``live`` accepts events after the last checkpoint only while
    the oldest of them is at most ``LIVE_UNSIGNED_S`` old by ``now``: the node signs them sooner.
    That age is measured at the snapshot the walk reads, not after the walk (seconds per million
    events), which would call a large healthy log's young tail stale.
    A file whose audit tables cannot be read (dropped, or not a database) fails verification:
    the log cannot be shown intact.
    """
    try:
        result = _verify_conn(path, live, witnessed, anchors, now)
    except sqlite3.DatabaseError as exc:
        result = VerifyResult(False, 0, 0, None, f"audit tables unreadable: {exc}")
    return replace(result, anchor=", ".join(a.source for a in anchors))


def _verify_conn(
    path: Path,
    live: bool,
    witnessed: Sequence[tuple[int, str]],
    anchors: Sequence[Anchor],
    now: Callable[[], float],
) -> VerifyResult:
    conn = connect_readonly(path)
    try:
        conn.execute("BEGIN")  # one snapshot: a live writer appending meanwhile changes nothing
        cps = [
            Checkpoint(*row)
            for row in conn.execute(
                "SELECT seq, hash, key_id, signature FROM audit_checkpoints ORDER BY seq"
            )
        ]
        snapshot_s = now()  # the first read began the snapshot: the tail's age is as of now
        keys = load_pinned(conn)
        legacy = legacy_head(conn)
        result = _walk(conn, cps, keys, legacy, live)
        forged = key_row_problem(conn)
        if forged is not None:  # it explains whatever else fails: checkpoints signed by that key
            return replace(result, ok=False, first_bad_seq=forged[0], problem=forged[1])
        if not result.ok:
            return result
        event_at = partial(_event_at, conn)
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
    finally:
        conn.close()


def _walk(
    conn: sqlite3.Connection,
    cps: list[Checkpoint],
    keys: dict[str, PinnedKey],
    legacy: int,
    live: bool,
) -> VerifyResult:
    """The chain walk over every event in ``conn``'s snapshot, naming the keys the file pins."""
    # SQLite builds each canonical event itself (json_array writes exactly what orjson.dumps
    # does for these columns), which halves the time of a large log.
    rows: Iterator[ChainRow] = conn.execute(
        "SELECT seq, prev_hash, hash, CAST(json_array(seq, ts_ms, facility_id, visit_id,"
        " actor_role, actor_id, action, details) AS BLOB) FROM audit_events ORDER BY seq"
    )

    def recheck(seq: int) -> bytes:
        row = conn.execute(
            f"SELECT {AUDIT_COLS} FROM audit_events WHERE seq = ?", (seq,)
        ).fetchone()
        return orjson.dumps(list(row[:8])) if row else b""

    pinned = tuple(
        sorted(((k.key_id, k.pinned_seq) for k in keys.values()), key=lambda k: (k[1], k[0]))
    )
    signers = trust_legacy(keys, legacy, partial(_event_at, conn))
    result = verify_chain(rows, cps, signers, recheck, live=live, legacy_head=legacy)
    return replace(result, pinned_keys=pinned)


def _event_at(conn: sqlite3.Connection, seq: int) -> tuple[str, str] | None:
    """The action and details of the event at ``seq``, if there is one."""
    sql = "SELECT action, details FROM audit_events WHERE seq = ?"
    row = conn.execute(sql, (seq,)).fetchone()
    return (row[0], row[1]) if row else None


def _stale_tail(conn: sqlite3.Connection, result: VerifyResult, now_s: float) -> VerifyResult:
    """``result`` failed if its unsigned tail was older at ``now_s`` (the snapshot's time) than
    a running node leaves one. ``conn`` is still in that snapshot."""
    seq = result.unsigned_from
    row = conn.execute("SELECT ts_ms FROM audit_events WHERE seq = ?", (seq,)).fetchone()
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
    conn: sqlite3.Connection, events: int, witnessed: Sequence[tuple[int, str]]
) -> tuple[int, str] | None:
    """The first witnessed head the database no longer holds, or holds with another hash."""
    for seq, digest in sorted(witnessed):
        if seq > events:
            return seq, f"witnessed head {seq} is gone: the log ends at {events} (cut off)"
        row = conn.execute("SELECT hash FROM audit_events WHERE seq = ?", (seq,)).fetchone()
        if row is None or row[0] != digest:
            return seq, f"seq {seq} differs from the head a witness saw (rewritten)"
    return None
