"""The monthly report as HTML, from one template (``services/web/reports/report.html``): the
auditor console shows its ``<main>``, ``format=html`` serves it whole, and the PDF is printed from
it. Each figure's source is a link to the auditor search with the matching filter."""

from __future__ import annotations

import datetime as dt
import string
from html import escape
from pathlib import Path
from urllib.parse import urlencode

from services.reports.charts import day_bars, labelled_bars
from services.reports.monthly import ALL, END_REASONS, Figure, MonthlyReport, checks
from services.reports.texts import t

WEB = Path(__file__).resolve().parent.parent / "web" / "reports"
TEMPLATE = string.Template((WEB / "report.html").read_text())
CSS = (WEB / "report.css").read_text()
SECTIONS = ("requests", "visits", "end_reasons", "minutes", "lead_time", "priority")
SEARCH = "/auditor#search?"


def render_html(report: MonthlyReport, lang: str, made_ms: int) -> str:
    """The whole report page in ``lang`` (``id`` or ``en``), made at ``made_ms``."""
    region = len(report.facilities) > 1
    bad = checks(report)
    sums = t("sums_ok", lang) if not bad else f"{t('sums_bad', lang)} {'; '.join(bad)}"
    reasons = [(t(r, lang), report.value("end_reasons", r)) for r in END_REASONS]
    return TEMPLATE.substitute(
        lang=lang if lang in ("id", "en") else "id",
        css=CSS,
        title=escape(t("title", lang)),
        scope_label=escape(t("region" if region else "facility", lang)),
        scope=escape(", ".join(name for _, name in report.facilities)),
        month_label=escape(t("month", lang)),
        month=str(report.month),
        made_label=escape(t("made", lang)),
        made=dt.datetime.fromtimestamp(made_ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        zone_note=escape(t("zone_note", lang)) if region else "",
        read_only=escape(t("read_only", lang)),
        sums=escape(sums),
        sections="\n".join(_section(report, s, lang) for s in SECTIONS) + _survey(report, lang),
        chart_per_day=escape(t("chart_per_day", lang)),
        per_day=day_bars(report.per_day, t("chart_per_day", lang)),
        chart_end_reasons=escape(t("chart_end_reasons", lang)),
        end_reasons=labelled_bars(reasons, t("chart_end_reasons", lang)),
        chart_ikm=escape(t("chart_ikm", lang)),
        ikm=_ikm(report, lang),
    )


def _section(report: MonthlyReport, section: str, lang: str) -> str:
    rows = "".join(_row(report, f, lang) for f in report.figures if f.section == section)
    return (
        f'  <section class="report-section" data-section="{section}">'
        f"<h2>{escape(t('s_' + section, lang))}</h2><table>"
        f"<thead><tr><th>{escape(t('col_figure', lang))}</th><th>{escape(t('col_value', lang))}"
        f"</th><th>{escape(t('col_source', lang))}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _row(report: MonthlyReport, figure: Figure, lang: str) -> str:
    name = t(figure.name, lang)
    part = figure.breakdown != ALL
    label = f"{t(figure.breakdown, lang)}" if part else name
    if part and figure.section != "end_reasons":
        label = f"{name}: {t(figure.breakdown, lang)}"
    unit = t(f"u_{figure.unit}", lang)
    value = f"{number(figure.value)} {unit}".strip()
    key = escape(f"{figure.section}.{figure.name}.{figure.breakdown}")
    cls = "part" if part else ""
    return (
        f'<tr data-figure="{key}"><td class="{cls}">{escape(label)}</td>'
        f'<td class="num">{escape(value)}</td>'
        f'<td class="src">{_source(report, figure, lang)}</td></tr>'
    )


def number(value: float) -> str:
    """A figure's value as written: no trailing zeros (3, 2.5, 78.13)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def source_url(report: MonthlyReport, figure: Figure) -> str | None:
    """The auditor search listing ``figure``'s events in the month, or None."""
    if figure.source is None:
        return None
    params = dict(figure.source)
    params["since"] = report.month.first.isoformat()
    params["until"] = report.month.last.isoformat()
    if len(report.facilities) == 1:
        params["facility"] = report.facilities[0][0]
    return SEARCH + urlencode(params)


def _source(report: MonthlyReport, figure: Figure, lang: str) -> str:
    url = source_url(report, figure)
    if url is None:
        return ""
    return f'<a href="{escape(url)}">{escape(t("source_link", lang))}</a>'


def _survey(report: MonthlyReport, lang: str) -> str:
    rows = "".join(_row(report, f, lang) for f in report.figures if f.section == "survey")
    body = f"<table><tbody>{rows}</tbody></table>"
    if report.ikm_grade:
        body += (
            f"<p>{escape(t('ikm_grade', lang))}: <strong>{escape(report.ikm_grade)}</strong></p>"
        )
    else:
        body += f'<p class="report-note">{escape(t("survey_missing", lang))}</p>'
    comments = "".join(f"<li>{escape(c)}</li>" for c in report.comments)
    if comments:
        body += f'<h3>{escape(t("comments", lang))}</h3><ul class="comments">{comments}</ul>'
    return (
        f'\n  <section class="report-section" data-section="survey">'
        f"<h2>{escape(t('s_survey', lang))}</h2>{body}</section>"
    )


def _ikm(report: MonthlyReport, lang: str) -> str:
    points = report.ikm_by_month or tuple(
        (str(report.month.shift(-i)), None) for i in range(11, -1, -1)
    )
    items = [(month if v is not None else f"{month} (–)", v or 0.0) for month, v in points]
    return labelled_bars(items, t("chart_ikm", lang), scale=100.0)
