"""The monthly report over a seeded month (tests/helpers/month.py): every figure, the sums, the
CSV against the JSON, the PDF's text, and ``tatap report`` offline."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from services.admin.provision import Admin
from services.cli.main import main
from services.domain.model import Role
from services.reports.facts import Month
from services.reports.formats import report_bytes, report_csv, report_json
from services.reports.monthly import MonthlyReport, checks
from services.reports.service import monthly_report
from tests.helpers.audit import open_store
from tests.helpers.month import EXPECTED, MONTH, OTHER, PER_DAY, seed_month

MADE_MS = 1_801_000_000_000


async def _reports(tmp_path: Path) -> tuple[MonthlyReport, MonthlyReport]:
    """The seeded month's report for the desk's facility, and for both facilities."""
    seeded = await seed_month(tmp_path)
    try:
        store, month = seeded.desk.store, Month.parse(MONTH)
        one = await monthly_report(store, [seeded.facility_id], month)
        both = await monthly_report(store, [seeded.facility_id, seeded.other_id], month)
    finally:
        await seeded.desk.store.aclose()
    return one, both


async def test_every_figure_matches_the_seeded_month(tmp_path: Path) -> None:
    """Each figure of the facility's report is the count the seed made; the per-day counts fall
    on the right local days; every sum matches its total."""
    report, _ = await _reports(tmp_path)
    got = {(f.section, f.name, f.breakdown): f.value for f in report.figures}
    for key, value in EXPECTED.items():
        assert got[key] == value, key
    days = {day: n for day, n in enumerate(report.per_day, 1) if n}
    assert days == PER_DAY
    assert report.ikm_grade == "B"
    assert report.comments == ("Terima kasih, lancar.",)
    assert dict(report.ikm_by_month)["2027-01"] == 78.13
    assert dict(report.ikm_by_month)["2026-12"] is None
    assert checks(report) == []


async def test_a_region_is_consolidated_each_facility_in_its_own_zone(tmp_path: Path) -> None:
    """Two facilities together: counts add up across them, and the Makassar walk-in at 23:30
    local on the 31st counts on the 31st."""
    one, both = await _reports(tmp_path)
    assert both.value("visits", "booked") == one.value("visits", "booked") + 1
    assert both.value("visits", "walk_ins") == 2
    assert both.value("end_reasons", "open") == 3
    assert both.per_day[30] == one.per_day[30] + 1
    assert [name for _, name in both.facilities] == ["Lapas Cilegon", "Lapas Makassar"]
    assert checks(both) == []


async def test_the_csv_is_the_json_figures_row_for_row(tmp_path: Path) -> None:
    """One CSV row per JSON figure, same order, same values."""
    report, _ = await _reports(tmp_path)
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    figures = report_json(report)["figures"]
    assert len(rows) == len(figures)
    for row, fig in zip(rows, figures, strict=True):
        assert (row["section"], row["name"], row["breakdown"]) == (
            fig["section"],
            fig["name"],
            fig["breakdown"],
        )
        assert float(row["value"]) == fig["value"]
        assert row["unit"] == fig["unit"]


async def test_figures_link_to_the_auditor_search_with_their_filter(tmp_path: Path) -> None:
    """A figure with a source links to the auditor search of its events in the month."""
    report, _ = await _reports(tmp_path)
    figures = {(f["section"], f["name"], f["breakdown"]): f for f in report_json(report)["figures"]}
    rejected = figures[("requests", "rejected", "regular")]["source_url"]
    assert rejected == (
        "/auditor#search?action=rejected&kind=regular&since=2027-01-01&until=2027-01-31&facility=f_1"
    )
    assert figures[("end_reasons", "open", "all")]["source_url"] is None


async def test_the_pdf_reads_as_the_page(tmp_path: Path) -> None:
    """The PDF (WeasyPrint, from the page's HTML) has the title, the facility and the figures,
    as pdftotext reads them, in Indonesian and in English."""
    report, _ = await _reports(tmp_path)
    for lang, words in {
        "id": ["Laporan bulanan kunjungan video", "Tingkat tidak hadir", "25", "Menit hilang"],
        "en": [
            "Monthly video visit report",
            "No-show rate",
            "Minutes lost",
            "15",
            "78.13",
            "Terima kasih, lancar.",
        ],
    }.items():
        pdf = report_bytes(report, "pdf", lang, MADE_MS)
        assert pdf.startswith(b"%PDF")
        text = _pdftotext(pdf, tmp_path / f"r-{lang}.pdf")
        for word in [*words, "Lapas Cilegon", "2027-01"]:
            assert word in text, (lang, word)


def _pdftotext(pdf: bytes, path: Path) -> str:
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode()


def test_cli_writes_the_report_offline_without_changing_the_file(tmp_path: Path) -> None:
    """``tatap report monthly`` reads the database read-only: JSON as the API's, PDF, a region
    (a regional auditor's facilities) as CSV; an unknown region refused; the file's bytes
    unchanged."""
    report, both = asyncio.run(_reports(tmp_path))
    asyncio.run(_regional_auditor(tmp_path))
    db = tmp_path / "tatap.db"
    before = db.read_bytes()
    out = tmp_path / "r.json"
    base = ["report", "monthly", "--data-dir", str(tmp_path), "--month", MONTH]
    assert main([*base, "--facility", "f_1", "--format", "json", "--out", str(out)]) == 0
    body = json.loads(out.read_bytes())
    assert body["figures"] == report_json(report)["figures"]
    assert body["sums_ok"] is True
    pdf = tmp_path / "r.pdf"
    assert main([*base, "--facility", "f_1", "--format", "pdf", "--out", str(pdf)]) == 0
    assert "Lapas Cilegon" in _pdftotext(pdf.read_bytes(), pdf)
    csv_out = tmp_path / "r.csv"
    assert main([*base, "--region", "kanwil", "--format", "csv", "--out", str(csv_out)]) == 0
    assert csv_out.read_bytes() == report_csv(both).encode()
    assert main([*base, "--region", "nobody", "--format", "csv"]) == 1
    assert db.read_bytes() == before


async def _regional_auditor(data_dir: Path) -> None:
    """``kanwil``, a regional auditor of both seeded facilities."""
    store = open_store(data_dir)
    try:
        await Admin(store).staff("kanwil", Role.REGIONAL_AUDITOR, "x" * 12, None, ["f_1", OTHER])
    finally:
        await store.aclose()


@pytest.mark.parametrize("month", ["2027-13", "27-01", "2027-1", ""])
def test_cli_refuses_a_bad_month(
    tmp_path: Path, month: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A month that is not YYYY-MM is refused, naming the flag's format."""
    args = ["report", "monthly", "--data-dir", str(tmp_path), "--facility", "f", "--month", month]
    assert main(args) == 1
    assert "YYYY-MM" in capsys.readouterr().err
