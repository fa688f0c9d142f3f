"""``tatap audit export``: CSV and JSON lines, each filter returning exactly the matching rows.

One database is built for the module: two facilities, four visits over three UTC days, two
registered visitors with NIKs. Expected rows are worked out here from the raw table and the ids of
what was created, not through the store's own search.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.admin.provision import Admin
from services.audit.chain import AuditEvent
from services.booking.scheduling import GuestSpec, VisitService
from services.clock import FakeClock
from services.domain.model import Role, VisitKind
from services.ids import Actor, VisitorId
from tests.helpers.audit import REPO, open_store, rows, run_cli

NIKS = ("3201234567890123", "3174000011112222")
PHONES = ("081234567890", "085699998888")
DAY0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
CSV_HEADER = [
    "seq",
    "ts_ms",
    "facility_id",
    "visit_id",
    "actor_role",
    "actor_id",
    "action",
    "details",
    "prev_hash",
    "hash",
    "time_utc",
]


@dataclass
class Dataset:
    data_dir: Path
    db: Path
    visits: dict[str, str]  # name → visit id
    inmates: dict[str, str]  # number → inmate id
    visitors: list[str]


async def _build(data_dir: Path) -> Dataset:
    clock = FakeClock(DAY0)
    store = open_store(data_dir, clock)
    try:
        admin = Admin(store)
        service = VisitService(store, clock)
        terminals = {}
        inmates: dict[str, str] = {}
        for fac, prefix in (("f_a", "A"), ("f_b", "B")):
            await admin.facility(f"Lapas {prefix}", facility_id=fac)
            room = await admin.room(fac, "Ruang 1")
            terminals[fac], _ = await admin.terminal(room.id, f"PC {prefix}", "http://test")
            await admin.import_inmates(fac, f"number,name\n{prefix}-1,Budi\n{prefix}-2,Joko\n")
            for number in (f"{prefix}-1", f"{prefix}-2"):
                inmate = await store.find_inmate(fac, number)
                assert inmate is not None
                inmates[number] = inmate.id
        visitors = [
            (await admin.visitor("Siti", NIKS[0], PHONES[0], "wife")).id,
            (await admin.visitor("Ani", NIKS[1], PHONES[1], "sister")).id,
        ]

        async def visit(fac: str, inmate: str, visitor: str) -> str:
            scheduled = await service.schedule(
                terminal_id=terminals[fac].id,
                inmate_id=inmates[inmate],
                kind=VisitKind.REGULAR,
                start=clock.now() + 3600,
                guests=[GuestSpec(Role.FAMILY, "Siti", VisitorId(visitor))],
                actor=Actor(Role.OFFICER, "s_1"),
            )
            return scheduled.visit.id

        visits = {"v1": await visit("f_a", "A-1", visitors[0])}  # day 0
        await clock.advance(86_400)
        visits["v2"] = await visit("f_a", "A-2", visitors[1])  # day 1
        visits["v3"] = await visit("f_b", "B-1", visitors[0])
        await service.cancel(visits["v2"], Actor(Role.OFFICER, "s_1"), "family asked")
        await clock.advance(86_400)
        visits["v4"] = await visit("f_a", "A-1", visitors[1])  # day 2
        await service.cancel(visits["v1"], Actor(Role.OFFICER, "s_1"), "")
    finally:
        await store.aclose()
    return Dataset(data_dir, data_dir / "tatap.db", visits, inmates, visitors)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return asyncio.run(_build(tmp_path_factory.mktemp("export")))


def _all(data: Dataset) -> list[tuple[int, int, str, str]]:
    return rows(data.db, "SELECT seq, ts_ms, facility_id, visit_id FROM audit_events ORDER BY seq")


def _day_ms(day: str) -> int:
    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp() * 1000)


def _expected(data: Dataset, name: str) -> tuple[list[str], set[int]]:
    """CLI flags for one filter and the seqs that must come back, from the raw table."""
    table = _all(data)
    v = data.visits
    if name == "facility":
        return ["--facility", "f_b"], {s for s, _, fac, _ in table if fac == "f_b"}
    if name == "inmate":
        wanted = {v["v1"], v["v4"]}  # both visits of inmate A-1
        return ["--inmate", data.inmates["A-1"]], {s for s, _, _, vis in table if vis in wanted}
    if name == "visitor":
        wanted = {v["v1"], v["v3"]}  # both visits of the first visitor
        return ["--visitor", data.visitors[0]], {s for s, _, _, vis in table if vis in wanted}
    if name == "visit":
        return ["--visit", v["v2"]], {s for s, _, _, vis in table if vis == v["v2"]}
    if name == "dates":
        lo, hi = _day_ms("2027-01-16"), _day_ms("2027-01-17")
        return (
            ["--since", "2027-01-16", "--until", "2027-01-16"],
            {s for s, ts, _, _ in table if lo <= ts < hi},
        )
    raise AssertionError(name)


def _export(data: Dataset, fmt: str, *flags: str) -> tuple[list[int], str]:
    proc = run_cli(data.data_dir, "audit", "export", "--format", fmt, *flags)
    assert proc.returncode == 0, proc.stderr
    if fmt == "csv":
        reader = csv.reader(io.StringIO(proc.stdout))
        assert next(reader) == CSV_HEADER
        return [int(r[0]) for r in reader], proc.stdout
    return [json.loads(line)["seq"] for line in proc.stdout.splitlines()], proc.stdout


FILTERS = ["facility", "inmate", "visitor", "visit", "dates"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("name", FILTERS)
def test_filter_returns_exactly_the_matching_rows(data: Dataset, name: str, fmt: str) -> None:
    """Each filter returns every matching row, in seq order, and nothing else."""
    flags, wanted = _expected(data, name)
    assert wanted and len(wanted) < len(_all(data))  # the filter must actually filter
    got, _ = _export(data, fmt, *flags)
    assert got == sorted(wanted)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_no_filter_exports_everything(data: Dataset, fmt: str) -> None:
    """Without filters the whole log comes out, oldest first."""
    got, _ = _export(data, fmt)
    assert got == [r[0] for r in _all(data)]


def test_filters_combine(data: Dataset) -> None:
    """Two filters together keep only rows matching both."""
    got, _ = _export(data, "jsonl", "--inmate", data.inmates["A-1"], "--since", "2027-01-17")
    lo = _day_ms("2027-01-17")
    wanted = {data.visits["v1"], data.visits["v4"]}
    assert got == [s for s, ts, _, vis in _all(data) if vis in wanted and ts >= lo]
    assert got


def test_iso_time_bounds_are_half_open(data: Dataset) -> None:
    """ISO times bound the range: ``--since`` included, ``--until`` excluded."""
    table = _all(data)
    first_day1 = next(ts for _, ts, _, _ in table if ts >= _day_ms("2027-01-16"))
    since = dt.datetime.fromtimestamp(first_day1 / 1000, dt.UTC).isoformat()
    got, _ = _export(data, "jsonl", "--since", since, "--until", since)
    assert got == []
    got, _ = _export(data, "jsonl", "--since", since, "--until", "2027-01-16T23:59:59")
    end = _day_ms("2027-01-16") + 86_399_000
    assert got == [s for s, ts, _, _ in table if first_day1 <= ts < end]


def test_jsonl_rows_are_whole_events(data: Dataset) -> None:
    """A JSON line carries the row with its hash and parsed details, the same as the table."""
    proc = run_cli(
        data.data_dir, "audit", "export", "--format", "jsonl", "--visit", data.visits["v2"]
    )
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["action"] for e in events] == ["scheduled", "cancelled"]
    assert events[1]["details"] == {"why": "family asked"}
    assert events[0]["actor"] == {"role": "officer", "id": "s_1"}
    for event in events:
        stored = rows(
            data.db, "SELECT prev_hash, hash FROM audit_events WHERE seq = ?", (event["seq"],)
        )
        assert stored == [(event["prev_hash"], event["hash"])]


def test_csv_rows_match_the_table(data: Dataset) -> None:
    """Every CSV column holds the stored value (details as its canonical JSON text)."""
    _, out = _export(data, "csv", "--visit", data.visits["v3"])
    exported = [r[:10] for r in list(csv.reader(io.StringIO(out)))[1:]]
    stored = rows(
        data.db, "SELECT * FROM audit_events WHERE visit_id = ? ORDER BY seq", (data.visits["v3"],)
    )
    assert exported == [[str(c) for c in r] for r in stored]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_holds_no_unmasked_nik_or_phone(data: Dataset, fmt: str) -> None:
    """Visitors' NIKs and phone numbers never appear in an export."""
    _, out = _export(data, fmt)
    for secret in (*NIKS, *PHONES):
        assert secret not in out


def test_export_to_a_file(data: Dataset, tmp_path: Path) -> None:
    """``--out`` writes the export to a file instead of standard output."""
    target = tmp_path / "audit.jsonl"
    proc = run_cli(data.data_dir, "audit", "export", "--format", "jsonl", "--out", str(target))
    assert proc.returncode == 0 and proc.stdout == ""
    assert len(target.read_text().splitlines()) == len(_all(data))


def test_export_leaves_the_chain_intact(data: Dataset) -> None:
    """Exporting reads only: the log still verifies with the same number of events."""
    before = len(_all(data))
    _export(data, "csv")
    proc = run_cli(data.data_dir, "audit", "verify", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["events"] == before


@pytest.mark.parametrize(
    "flags", [["--since", "yesterday"], ["--until", "2027-13-45"], ["--visit", "v" * 100]]
)
def test_bad_filter_is_a_clear_error(data: Dataset, flags: list[str]) -> None:
    """A malformed filter exits non-zero with a message, not a stack trace."""
    proc = run_cli(data.data_dir, "audit", "export", *flags)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error:")


def test_export_without_a_database_is_a_clear_error(tmp_path: Path) -> None:
    """Exporting from a directory with no database says so and creates nothing."""
    proc = run_cli(tmp_path / "none", "audit", "export")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error:")
    assert not (tmp_path / "none" / "tatap.db").exists()


async def _many(data_dir: Path, count: int) -> None:
    store = open_store(data_dir)
    try:
        await store.append(
            [AuditEvent("notice", "admin", "cli", "f_a", "", {"i": i}) for i in range(count)]
        )
    finally:
        await store.aclose()


def test_reader_closing_the_pipe_early_is_quiet(tmp_path: Path) -> None:
    """`tatap audit export | head -1` on a log bigger than a pipe's buffer: the export stops
    without a traceback or error noise."""
    asyncio.run(_many(tmp_path, 3000))  # ~900 KB of JSON lines
    env = {k: v for k, v in os.environ.items() if not k.startswith("TATAP_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli.main",
            "audit",
            "export",
            "--format",
            "jsonl",
            "--data-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(10)
    proc.stdout.close()  # like head: read a little, then go away
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=30)
    assert first.startswith(b'{"seq":1')
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert "error" not in stderr


FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


async def _formulas(data_dir: Path) -> None:
    store = open_store(data_dir)
    try:
        await store.append(
            [AuditEvent("notice", "admin", text, text, text, {}) for text in FORMULAS]
        )
    finally:
        await store.aclose()


def test_csv_cells_that_start_a_formula_are_neutralised(tmp_path: Path) -> None:
    """Cells starting with =, +, -, @, tab or carriage return come out with a leading ``'``
    (CSV injection, as OWASP advises), so a spreadsheet shows them as text; JSON lines keep
    them as they are."""
    asyncio.run(_formulas(tmp_path))
    out = tmp_path / "audit.csv"
    proc = run_cli(tmp_path, "audit", "export", "--format", "csv", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    with out.open(newline="") as f:  # keeps the carriage return inside its cell
        table = list(csv.reader(f))[1:]
    assert [(r[2], r[3], r[5]) for r in table] == [("'" + t,) * 3 for t in FORMULAS]
    cells = [cell for r in table for cell in r[2:10]]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    proc = run_cli(tmp_path, "audit", "export", "--format", "jsonl")
    assert [json.loads(line)["actor"]["id"] for line in proc.stdout.splitlines()] == FORMULAS
