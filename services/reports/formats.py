"""The monthly report in each of its formats, the same for the API and ``tatap report``.

CSV: one row per figure, ``section,name,breakdown,value,unit``; ``breakdown`` is ``all`` for a
total and a kind, an end reason or a cause for a part of one; ``value`` is a count, a percentage
(one decimal), minutes (one decimal), days (one decimal), an index (IKM, two decimals) or a
mean score (two decimals) as ``unit`` says. The CSV holds exactly
the JSON's ``figures``, in the same order; the names are codes, the same in every language.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from services.reports.monthly import MonthlyReport, checks
from services.reports.pdf import html_to_pdf
from services.reports.render import number, render_html, source_url

FORMATS = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
CSV_COLUMNS = ("section", "name", "breakdown", "value", "unit")


def report_json(report: MonthlyReport) -> dict[str, Any]:
    """The report as the API's JSON answers it (and ``tatap report --format json`` prints)."""
    return {
        "month": str(report.month),
        "facilities": [{"id": i, "name": n} for i, n in report.facilities],
        "figures": [{**asdict(f), "source_url": source_url(report, f)} for f in report.figures],
        "per_day": list(report.per_day),
        "ikm_by_month": [{"month": m, "ikm": v} for m, v in report.ikm_by_month],
        "comments": list(report.comments),
        "ikm_grade": report.ikm_grade,
        "sums_ok": not checks(report),
    }


def report_csv(report: MonthlyReport) -> str:
    """One row per figure (see the module docstring), with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for f in report.figures:
        writer.writerow((f.section, f.name, f.breakdown, number(f.value), f.unit))
    return out.getvalue()


def report_bytes(report: MonthlyReport, fmt: str, lang: str, made_ms: int) -> bytes:
    """The report as ``fmt`` (one of FORMATS)."""
    import orjson

    if fmt == "json":
        return orjson.dumps(report_json(report))
    if fmt == "csv":
        return report_csv(report).encode()
    html = render_html(report, lang, made_ms)
    return html.encode() if fmt == "html" else html_to_pdf(html)


def file_name(report: MonthlyReport, fmt: str) -> str:
    """``laporan-<facility or region>-<YYYY-MM>.<fmt>``."""
    who = report.facilities[0][0] if len(report.facilities) == 1 else "wilayah"
    safe = "".join(c for c in who if c.isalnum() or c in "-_") or "laporan"
    return f"laporan-{safe}-{report.month}.{fmt}"
