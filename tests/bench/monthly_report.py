"""The monthly report over a year of a region: 100,000 visits and 1,000,000 audit events.

The database is built with the writer's own chain code (``Chain.append``, signed checkpoints) as
a year of ten facilities of one region (Jakarta), ``visits`` visits spread evenly over twelve
months, each with ten events as the node logs them (requested, approved, both sides joined,
connected, the family dropping and back, a warning, ended, the survey answer), and a survey
answer for each. The report is then computed as ``tatap report monthly`` does, on the file
opened read-only: the region's month consolidated (every figure, the IKM over twelve months) and
rendered as HTML, then, separately, printed as PDF.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from services.audit.chain import CHECKPOINT_EVERY, GENESIS, AuditEvent
from services.audit.signing import Ed25519Signer
from services.clock import SystemClock
from services.reports.facts import Month
from services.reports.formats import report_bytes
from services.reports.monthly import checks
from services.reports.render import render_html
from services.reports.service import monthly_report
from services.store.sqlite.chain_head import Chain
from services.store.sqlite.connection import connect
from services.store.sqlite.reader import SqliteAuditReader
from services.store.sqlite.store import SqliteStore
from tests.bench.common import fresh_dir
from tests.bench.report import Result, Verdict

TARGET_S = 5.0
TZ = "Asia/Jakarta"
YEAR = 2026
FACILITIES = 10
REASONS = ("completed",) * 14 + ("hangup", "hangup", "no_show", "terminated", "failed")
ROUNDS = 3


@dataclass(frozen=True)
class Params:
    visits: int = 100_000

    @classmethod
    def smoke(cls) -> Params:
        return cls(visits=1_200)


def _visit_events(i: int, fid: str, start_ms: int) -> tuple[list[AuditEvent], str]:
    """The ten events of visit ``i`` and its end reason."""
    vid, s = f"v_{i}", start_ms / 1000
    reason = REASONS[i % len(REASONS)]
    fam, term = ("family", f"p_{i}_f"), ("terminal", f"p_{i}_t")
    officer = ("officer", "s_off")

    def ev(action: str, who: tuple[str, str], at: float, **details: object) -> AuditEvent:
        return AuditEvent(action, who[0], who[1], fid, vid, details, ts=at)

    kind = "education" if i % 10 == 0 else "regular"
    events = [
        ev("requested", fam, s - 3 * 86400, kind=kind, priority=i % 25 == 0),
        ev("approved", officer, s - 2 * 86400, start_ms=start_ms),
        ev("joined", term, s - 60),
        ev("joined", fam, s),
        ev("connected", fam, s + 20),
        ev("left", fam, s + 300, reason="dropped"),
        ev("joined", fam, s + 360),
        ev("warned", ("system", "system:n1"), s + 1500),
        ev("ended", ("system", "system:n1"), s + 1800, reason=reason),
        ev("survey-answered", fam, s + 1900, overall=3, language="id"),
    ]
    return events, reason


def _build(data_dir: Path, visits: int) -> float:
    """The year's database (see the module docstring); returns the seconds it took."""
    clock = SystemClock()
    signer = Ed25519Signer.from_data_dir(data_dir)
    store = SqliteStore(data_dir / "tatap.db", signer, clock.now, data_dir)  # the schema
    asyncio.run(store.aclose())
    conn = connect(data_dir / "tatap.db")
    conn.execute("PRAGMA synchronous=OFF")  # building the fixture, not measuring it
    t0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    _places(conn)
    chain = Chain(0, GENESIS, clock.now)
    rng = random.Random(11)
    year_start = int(dt.datetime(YEAR, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=7))).timestamp())
    pending: list[AuditEvent] = []
    for i in range(visits):
        fid = f"f_{i % FACILITIES}"
        day = (i * 365) // visits
        start_ms = (year_start + day * 86400 + 8 * 3600 + rng.randrange(0, 8 * 3600)) * 1000
        events, reason = _visit_events(i, fid, start_ms)
        _visit_rows(conn, i, fid, start_ms, reason, events[0].details["kind"])
        pending += events
        if len(pending) >= CHECKPOINT_EVERY:
            _append(conn, chain, signer, pending)
            pending = []
            if i % 5000 == 0:
                conn.execute("COMMIT")
                conn.execute("BEGIN IMMEDIATE")
    if pending:
        _append(conn, chain, signer, pending)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - t0


def _append(
    conn: sqlite3.Connection, chain: Chain, signer: Ed25519Signer, events: list[AuditEvent]
) -> None:
    chain.append(conn, events)
    cp = signer.sign(chain.seq, chain.hash)
    conn.execute(
        "INSERT INTO audit_checkpoints (seq, hash, key_id, signature, ts_ms) VALUES (?,?,?,?,?)",
        (cp.seq, cp.hash, cp.key_id, cp.signature, int(time.time() * 1000)),
    )


def _places(conn: sqlite3.Connection) -> None:
    for f in range(FACILITIES):
        fid = f"f_{f}"
        conn.execute(
            "INSERT INTO facilities (id, name, timezone, rules) VALUES (?, ?, ?, '{}')",
            (fid, f"Lapas {f}", TZ),
        )
        conn.execute("INSERT INTO rooms VALUES (?, ?, 'Ruang')", (f"r_{f}", fid))
        conn.execute("INSERT INTO terminals VALUES (?, ?, ?, 'PC', 'x')", (f"t_{f}", fid, f"r_{f}"))
    conn.execute(
        "INSERT INTO visitors (id, name, nik, priority) VALUES ('vis_p', 'Lansia', '1', 1),"
        " ('vis_n', 'Keluarga', '2', 0)"
    )


def _visit_rows(
    conn: sqlite3.Connection, i: int, fid: str, start_ms: int, reason: str, kind: object
) -> None:
    vid, f = f"v_{i}", fid[2:]
    conn.execute(
        "INSERT INTO visits (id, code, facility_id, room_id, terminal_id, inmate_id, kind,"
        " status, start_ms, end_ms, started_ms, ended_ms, end_reason, created_ms)"
        " VALUES (?, ?, ?, ?, ?, 'i', ?, 'ended', ?, ?, ?, ?, ?, ?)",
        (
            vid,
            f"C{i}",
            fid,
            f"r_{f}",
            f"t_{f}",
            kind,
            start_ms,
            start_ms + 1_800_000,
            start_ms,
            start_ms + 1_800_000,
            reason,
            start_ms - 3 * 86_400_000,
        ),
    )
    visitor = "vis_p" if i % 25 == 0 else "vis_n"
    conn.execute(
        "INSERT INTO participants (id, visit_id, role, name, visitor_id) VALUES"
        " (?, ?, 'family', 'K', ?), (?, ?, 'terminal', 'PC', NULL)",
        (f"p_{i}_f", vid, visitor, f"p_{i}_t", vid),
    )
    conn.execute(
        "INSERT INTO survey_answers VALUES (?, ?, ?, ?, 'id', 3, 3, 4, 3, 4, 4, ?, ?)",
        (
            vid,
            f"p_{i}_f",
            fid,
            start_ms + 1_900_000,
            int(i % 50 == 0),
            "Baik" if i % 40 == 0 else "",
        ),
    )


async def _report(db: Path, data_dir: Path, month: Month) -> tuple[float, float, float, int, float]:
    """Seconds for the figures, the HTML and the PDF of the region's month; the visits in it;
    the CPU seconds of the figures and HTML (every thread of the process)."""
    reader = SqliteAuditReader(db, data_dir)
    try:
        ids = [f"f_{f}" for f in range(FACILITIES)]
        t0, c0 = time.perf_counter(), time.process_time()
        report = await monthly_report(reader, ids, month)
        t1 = time.perf_counter()
        render_html(report, "id", int(time.time() * 1000))
        t2, c2 = time.perf_counter(), time.process_time()
        report_bytes(report, "pdf", "id", int(time.time() * 1000))
        t3 = time.perf_counter()
    finally:
        await reader.aclose()
    if checks(report):
        raise RuntimeError(f"the report's sums do not hold: {checks(report)}")
    return t1 - t0, t2 - t1, t3 - t2, int(report.value("visits", "booked")), c2 - c0


def run(p: Params) -> Result:
    result = Result("report", "Monthly report over a year of a region")
    data_dir = fresh_dir("report")
    build_s = _build(data_dir, p.visits)
    db = data_dir / "tatap.db"
    rows = sqlite3.connect(db).execute("SELECT count(*) FROM audit_events").fetchone()[0]
    month = Month(YEAR, 11)
    runs = [asyncio.run(_report(db, data_dir, month)) for _ in range(ROUNDS)]
    figures = statistics.median(r[0] for r in runs)
    html = statistics.median(r[1] for r in runs)
    pdf = statistics.median(r[2] for r in runs)
    best = min(r[0] + r[1] for r in runs)
    worst = max(r[0] + r[1] for r in runs)
    cpu = min(r[4] for r in runs)
    booked = runs[0][3]
    load = os.getloadavg()[0]
    result.add(
        f"database: {p.visits:,} visits, {rows:,} audit events, {FACILITIES} facilities,"
        f" {db.stat().st_size / 1e6:.0f} MB",
        f"built in {build_s:.0f} s",
    )
    result.add(
        f"region's month {month} ({booked:,} visits, ~{booked * 10:,} of their events):"
        " figures / HTML (median of 3)",
        f"**{figures:.2f} s** / {html * 1000:.0f} ms",
    )
    result.add(
        "figures + HTML: fastest / slowest of 3, and CPU seconds (fastest)",
        f"{best:.2f} s / {worst:.2f} s, {cpu:.2f} s CPU (load average {load:.1f} at the end)",
    )
    result.add("the same month as PDF (WeasyPrint), after the figures", f"{pdf:.2f} s")
    result.notes.append(
        "Read as `tatap report monthly --region` reads: the file opened read-only, each facility's"
        " month in three indexed reads (the month's request decisions by facility and time, the"
        " visits by facility and start, their events by visit), the survey answers of twelve"
        " months by facility and time."
    )
    result.verdicts.append(
        Verdict(
            f"monthly report (figures + HTML) < {TARGET_S:.0f} s over"
            f" {p.visits:,} visits and {rows:,} events",
            best < TARGET_S,
            f"{best:.2f} s, the fastest of {ROUNDS} (slowest {worst:.2f} s; {cpu:.2f} s CPU;"
            f" PDF {pdf:.2f} s more)",
        )
    )
    return result
