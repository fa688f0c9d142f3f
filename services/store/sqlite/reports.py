"""The ``ReportReader`` role on SQLite: one facility's month of facts for the monthly report.

Designed for a month of a busy facility in a log of millions of events: three indexed reads.
The month's request decisions come from the facility's events of the month by
``audit_facility_ts``; the visits booked in the month from ``visits_facility_start``; their
events by ``audit_visit``, a chunk of visits at a time, and only the actions the report uses.
Details are decoded only where a figure needs them (a request's kind); a walk-in is recognised
in the canonical JSON text of its ``scheduled`` event.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence

import orjson

from services.audit.chain import AuditRecord
from services.audit.runs import NODE_STARTED
from services.reports.facts import MEDIA_ACTIONS, FacilityMonth, Month, RequestFact, VisitFact
from services.reports.lost import node_downs
from services.store.sqlite.audit import AUDIT_COLS
from services.store.sqlite.base import SqliteReads
from services.store.sqlite.surveys import _COLS as SURVEY_COLS
from services.store.sqlite.surveys import MAX_ANSWERS, answer_of
from services.surveys.answers import SurveyAnswer

DAY_MS = 86_400_000  # node downs are read a day either side of the month
CHUNK = 500  # visit ids per read of their events (SQLite's bound parameters stay few)
DECISIONS = {"approved": "approved", "rejected": "rejected", "cancelled": "withdrawn"}
WALK_IN = b'"walk_in":true'
# A visit's events as the report reads them: the hashes are the chain's business, not the
# report's, and only a `scheduled` event's details are looked at (a walk-in's mark).
LEAN_COLS = (
    "seq, ts_ms, facility_id, visit_id, actor_role, actor_id, action,"
    " CASE WHEN action = 'scheduled' THEN details ELSE '{}' END, '', ''"
)
VISIT_ACTIONS = (*MEDIA_ACTIONS, "requested", "approved", "scheduled")


class SqliteReportReads(SqliteReads):
    """Implements ``ReportReader`` (each store brings its own ``_read``)."""

    async def report_month(self, facility_id: str, month: Month) -> FacilityMonth | None:
        return await self._read(lambda c: month_facts(c, facility_id, month))

    async def region_facilities(self, username: str) -> list[str] | None:
        return await self._read(lambda c: region_of(c, username))


def region_of(conn: sqlite3.Connection, username: str) -> list[str] | None:
    """The facilities of the regional auditor ``username``, by id; None if there is none."""
    row = conn.execute(
        "SELECT id FROM staff WHERE username = ? AND role = 'regional_auditor'", (username,)
    ).fetchone()
    if row is None:
        return None
    rows = conn.execute(
        "SELECT facility_id FROM staff_facilities WHERE staff_id = ? ORDER BY facility_id", row
    )
    return [r[0] for r in rows]


def month_facts(conn: sqlite3.Connection, facility_id: str, month: Month) -> FacilityMonth | None:
    """``facility_id``'s facts for ``month`` in its own time zone; None if there is no such
    facility."""
    row = conn.execute(
        "SELECT name, timezone FROM facilities WHERE id = ?", (facility_id,)
    ).fetchone()
    if row is None:
        return None
    name, timezone = row
    start_ms, end_ms = month.window(timezone)
    requests = _requests(conn, facility_id, start_ms, end_ms)
    visits = _visits(conn, facility_id, start_ms, end_ms)
    downs = _node_downs(conn, start_ms - DAY_MS, end_ms + DAY_MS)
    return FacilityMonth(
        facility_id,
        name,
        timezone,
        month,
        start_ms,
        end_ms,
        tuple(requests),
        tuple(visits),
        tuple(downs),
        tuple(_answers(conn, facility_id, start_ms, end_ms)),
        tuple(_ikm_months(conn, facility_id, month, timezone)),
    )


def _ikm_months(
    conn: sqlite3.Connection, facility_id: str, month: Month, timezone: str
) -> list[tuple[str, int, int]]:
    """Each of the twelve months ending with ``month``: its answers and their IKM elements'
    scores added up (twelve index range reads, no answer decoded)."""
    out = []
    for back in range(11, -1, -1):
        each = month.shift(-back)
        start, end = each.window(timezone)
        n, total = conn.execute(
            "SELECT count(*), coalesce(sum(overall + registration + on_time + officers), 0)"
            " FROM survey_answers WHERE facility_id = ? AND answered_ms >= ? AND answered_ms < ?",
            (facility_id, start, end),
        ).fetchone()
        out.append((str(each), n, total))
    return out


def _answers(
    conn: sqlite3.Connection, facility_id: str, start: int, end: int
) -> list[SurveyAnswer]:
    """The facility's survey answers given in ``[start, end)`` (by their index), oldest first."""
    rows = conn.execute(
        f"SELECT {SURVEY_COLS} FROM survey_answers WHERE facility_id = ? AND answered_ms >= ?"
        f" AND answered_ms < ? ORDER BY answered_ms LIMIT {MAX_ANSWERS}",
        (facility_id, start, end),
    )
    return [answer_of(row) for row in rows]


def _node_downs(conn: sqlite3.Connection, start: int, end: int) -> list[tuple[int, int]]:
    """When the node was down, from the ``node-started`` events of ``[start, end)`` (by the
    action's index: a node starts rarely)."""
    rows = conn.execute(
        f"SELECT {AUDIT_COLS} FROM audit_events WHERE action = ? AND ts_ms >= ? AND ts_ms < ?"
        " ORDER BY seq",
        (NODE_STARTED, start, end),
    )
    return node_downs([AuditRecord(*row) for row in rows])


def _requests(
    conn: sqlite3.Connection, facility_id: str, start: int, end: int
) -> list[RequestFact]:
    """Requests made in ``[start, end)`` with the first decision on each before ``end``."""
    made: dict[str, tuple[str, int]] = {}
    outcome: dict[str, str] = {}
    rows = conn.execute(
        "SELECT visit_id, action, ts_ms, details FROM audit_events INDEXED BY audit_facility_ts"
        " WHERE facility_id = ? AND ts_ms >= ? AND ts_ms < ?"
        " AND action IN ('requested', 'approved', 'rejected', 'cancelled') ORDER BY seq",
        (facility_id, start, end),
    )
    for visit_id, action, ts_ms, details in rows:
        if action == "requested":
            kind = orjson.loads(details).get("kind", "")
            made[visit_id] = (str(kind), ts_ms)
        elif visit_id in made and visit_id not in outcome:
            outcome[visit_id] = DECISIONS[action]
    return [
        RequestFact(vid, kind, ts, outcome.get(vid, "held")) for vid, (kind, ts) in made.items()
    ]


def _visits(conn: sqlite3.Connection, facility_id: str, start: int, end: int) -> list[VisitFact]:
    """Visits booked to start in ``[start, end)``, with their events."""
    rows = conn.execute(
        "SELECT v.id, v.kind, v.start_ms, v.end_ms, v.status, v.end_reason,"
        " EXISTS (SELECT 1 FROM participants p JOIN visitors s ON s.id = p.visitor_id"
        "         WHERE p.visit_id = v.id AND s.priority = 1)"
        " FROM visits v WHERE v.facility_id = ? AND v.start_ms >= ? AND v.start_ms < ?"
        " AND v.status NOT IN ('requested', 'rejected') ORDER BY v.start_ms, v.id",
        (facility_id, start, end),
    ).fetchall()
    events = _events(conn, [r[0] for r in rows])
    out = []
    for vid, kind, start_ms, end_ms, status, reason, priority in rows:
        mine = events.get(vid, [])
        booked = any(e.action in ("approved", "scheduled") for e in mine)
        if not booked:  # a request withdrawn before any decision: never a visit
            continue
        out.append(
            VisitFact(
                vid,
                kind,
                start_ms,
                end_ms,
                status,
                reason,
                walk_in=any(
                    e.action == "scheduled" and WALK_IN in e.details.encode() for e in mine
                ),
                requested_ms=next((e.ts_ms for e in mine if e.action == "requested"), None),
                priority=bool(priority),
                events=tuple(e for e in mine if e.action in MEDIA_ACTIONS),
            )
        )
    return out


def _events(conn: sqlite3.Connection, visit_ids: Sequence[str]) -> dict[str, list[AuditRecord]]:
    """The report's actions of each visit, oldest first, read a chunk of visits at a time."""
    out: dict[str, list[AuditRecord]] = defaultdict(list)
    actions = ",".join(f"'{a}'" for a in VISIT_ACTIONS)
    for at in range(0, len(visit_ids), CHUNK):
        chunk = visit_ids[at : at + CHUNK]
        # By the visit's index (the action's would read every such event of the log, for
        # the ORDER BY); each visit's rows come in seq order from it.
        sql = (
            f"SELECT {LEAN_COLS} FROM audit_events INDEXED BY audit_visit WHERE visit_id IN"
            f" ({','.join('?' * len(chunk))}) AND action IN ({actions})"
        )
        for row in conn.execute(sql, chunk):
            record = AuditRecord(*row)
            out[record.visit_id].append(record)
    for records in out.values():
        records.sort(key=lambda r: r.seq)
    return out
