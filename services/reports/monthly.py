"""The monthly report's figures: a pure function of the facts of one or more facilities' month.

Every figure is a ``Figure`` (section, name, breakdown, value), the one shape the page, the CSV
and the PDF show. Figures that are parts of a whole add up to it, and ``checks`` says which
(the tests hold every report to them):

- requests made in the month = approved + rejected + withdrawn + held (what each had become by
  the month's end; "held": still waiting for an officer then), and for each kind alike;
- visits booked to start in the month = the sum of their end reasons, "open" being those not
  ended (yet); walk-ins are among them;
- over the visits that came due (ended for any reason but a cancellation), minutes scheduled =
  connected + lost (by cause: system, family, officer, as ``services.reports.lost`` attributes
  each gap) + unused (time no fault took: a late start, a no-show, an early hang-up).

A regional report takes several facilities' facts, each month in its own facility's time zone,
and computes the same figures over all of them at once (a median is over every visit, not a
median of medians).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import floor

from services.domain.model import EndReason, Visit, VisitKind, VisitStatus
from services.ids import FacilityId, InmateId, RoomId, TerminalId, VisitId
from services.reports.facts import OUTCOMES, FacilityMonth, Month, VisitFact
from services.reports.lost import Cause, VisitLoss, visit_loss
from services.surveys.summary import IKM_CONVERSION, IKM_ELEMENTS, SurveySummary, summarise

KINDS = tuple(k.value for k in VisitKind)
OPEN = "open"  # booked, not ended (yet): scheduled or live when the report was read
END_REASONS = (*(r.value for r in EndReason), OPEN)
ALL = "all"
TENTH_MS = 6_000  # minutes are counted in tenths, so that the parts add up exactly
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Figure:
    """One number of the report. ``unit``: count, percent, minutes or days. ``source``: the
    auditor search's filters that list the events behind it (None where no filter does)."""

    section: str
    name: str
    breakdown: str
    value: float
    unit: str = "count"
    source: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """One month's report over one facility or a region's facilities."""

    month: Month
    facilities: tuple[tuple[str, str], ...]  # (id, name)
    timezone: str  # the first facility's (a region's dates are each facility's own)
    figures: tuple[Figure, ...]
    per_day: tuple[int, ...]  # visits booked per day of the month
    comments: tuple[str, ...] = ()
    ikm_by_month: tuple[tuple[str, float | None], ...] = ()
    ikm_grade: str | None = None  # A-D, the month's (None without answers)

    def value(self, section: str, name: str, breakdown: str = ALL) -> float:
        """The figure's value (KeyError if there is none: a test names what it expected)."""
        for f in self.figures:
            if (f.section, f.name, f.breakdown) == (section, name, breakdown):
                return f.value
        raise KeyError((section, name, breakdown))


def build(month: Month, facts: Sequence[FacilityMonth]) -> MonthlyReport:
    """The report of ``month`` over ``facts`` (one facility's, or a region's)."""
    visits = [v for f in facts for v in f.visits]
    summary = summarise([a for f in facts for a in f.answers])
    figures = [
        *_requests(facts),
        *_visits(visits),
        *_minutes(facts),
        *_lead_and_priority(visits),
        *_survey(summary),
    ]
    return MonthlyReport(
        month=month,
        facilities=tuple((f.facility_id, f.name) for f in facts),
        timezone=facts[0].timezone if facts else "Asia/Jakarta",
        figures=tuple(figures),
        per_day=_per_day(month, facts),
        comments=tuple(text for _, text in summary.comments),
        ikm_by_month=_ikm_by_month(month, facts),
        ikm_grade=summary.ikm_grade,
    )


def _requests(facts: Sequence[FacilityMonth]) -> list[Figure]:
    requests = [r for f in facts for r in f.requests]
    out = []
    for kind in (*KINDS, ALL):
        mine = [r for r in requests if kind in (ALL, r.kind)]
        narrow = {} if kind == ALL else {"kind": kind}
        out.append(
            Figure("requests", "requested", kind, len(mine), source=_src("requested", narrow))
        )
        for outcome in OUTCOMES:
            n = sum(1 for r in mine if r.outcome == outcome)
            action = SOURCE_ACTION.get(outcome)
            source = _src(action, narrow) if action else None
            out.append(Figure("requests", outcome, kind, n, source=source))
    return out


# The event that records each outcome (a request held has none yet).
SOURCE_ACTION = {"approved": "approved", "rejected": "rejected", "withdrawn": "cancelled"}


def _src(action: str, narrow: dict[str, str]) -> dict[str, str]:
    return {"action": action, **narrow}


def _visits(visits: Sequence[VisitFact]) -> list[Figure]:
    out = []
    for kind in (*KINDS, ALL):
        n = sum(1 for v in visits if kind in (ALL, v.kind))
        # No one search lists bookings: a request's is `approved`, an officer's `scheduled`.
        out.append(Figure("visits", "booked", kind, n))
    walk_ins = sum(1 for v in visits if v.walk_in)
    out.append(Figure("visits", "walk_ins", ALL, walk_ins))
    reasons = Counter(v.end_reason if v.status in ("ended", "cancelled") else OPEN for v in visits)
    for reason in END_REASONS:
        out.append(
            Figure("end_reasons", reason, ALL, reasons.get(reason, 0), source=_ended(reason))
        )
    due = [v for v in visits if _due(v)]
    no_show = sum(1 for v in due if v.end_reason == EndReason.NO_SHOW.value)
    rate = round(100 * no_show / len(due), 1) if due else 0.0
    out.append(Figure("visits", "due", ALL, len(due)))
    src = {"action": "ended", "end_reason": EndReason.NO_SHOW.value}
    out.append(Figure("visits", "no_show_rate", ALL, rate, "percent", src))
    return out


def _ended(reason: str) -> dict[str, str] | None:
    """The search for the events that ended visits with ``reason`` (none for those open)."""
    if reason == OPEN:
        return None
    if reason == EndReason.CANCELLED.value:
        return {"action": "cancelled"}
    return {"action": "ended", "end_reason": reason}


def _due(visit: VisitFact) -> bool:
    """A visit that came due: ended for any reason but a cancellation before its start."""
    return visit.status == "ended" and visit.end_reason != EndReason.CANCELLED.value


def loss(visit: VisitFact, downs: Sequence[tuple[int, int]]) -> VisitLoss:
    """The visit's connected and lost time (``services.reports.lost``)."""
    as_visit = Visit(
        id=VisitId(visit.visit_id),
        code="",
        facility_id=FacilityId(""),
        room_id=RoomId(""),
        terminal_id=TerminalId(""),
        inmate_id=InmateId(""),
        kind=VisitKind(visit.kind),
        status=VisitStatus(visit.status),
        start=visit.start_ms / 1000,
        end=visit.end_ms / 1000,
        end_reason=EndReason(visit.end_reason) if visit.end_reason else None,
    )
    until = visit.events[-1].ts_ms if visit.events else visit.end_ms
    return visit_loss(as_visit, visit.events, downs, max(until, visit.end_ms))


def _minutes(facts: Sequence[FacilityMonth]) -> list[Figure]:
    """Minutes over the visits that came due, in tenths so that the parts add up: connected +
    lost (by cause) + unused (a late start, a no-show, an early hang-up: time no fault took) =
    scheduled."""
    scheduled = connected = 0
    lost = dict.fromkeys(Cause, 0)
    for f in facts:
        for v in f.visits:
            if not _due(v):
                continue
            got = loss(v, f.node_downs)
            scheduled += got.scheduled_ms // TENTH_MS
            connected += got.connected_ms // TENTH_MS
            for cause, ms in got.lost_by_cause().items():
                lost[cause] += ms // TENTH_MS
    total = sum(lost.values())
    out = [
        Figure("minutes", "scheduled", ALL, scheduled / 10, "minutes"),
        Figure("minutes", "connected", ALL, connected / 10, "minutes", {"action": "connected"}),
    ]
    out += [Figure("minutes", "lost", c.value, lost[c] / 10, "minutes") for c in Cause]
    out.append(Figure("minutes", "lost", ALL, total / 10, "minutes"))
    out.append(Figure("minutes", "unused", ALL, (scheduled - connected - total) / 10, "minutes"))
    return out


def _lead_and_priority(visits: Sequence[VisitFact]) -> list[Figure]:
    due = [v for v in visits if _due(v)]
    leads = [(v.start_ms - v.requested_ms) / DAY_MS for v in due if v.requested_ms is not None]
    median = round(statistics.median(leads), 1) if leads else 0.0
    served = sum(1 for v in due if v.priority and any(e.action == "connected" for e in v.events))
    return [
        Figure("lead_time", "median_days", ALL, median, "days", {"action": "requested"}),
        Figure("lead_time", "requests_counted", ALL, len(leads)),
        Figure("priority", "served", ALL, served),
        Figure("priority", "booked", ALL, sum(1 for v in visits if v.priority)),
    ]


SURVEY_MEANS = (
    "overall_mean",
    "registration_mean",
    "on_time_mean",
    "officers_mean",
    "sound_mean",
    "picture_mean",
)


def _survey(summary: SurveySummary) -> list[Figure]:
    """The month's answers: count, IKM (the national formula, 25-100), each element's mean, the
    "asked to pay" count; a figure without answers (a mean of none) is left out."""
    out = [Figure("survey", "responses", ALL, summary.responses)]
    if summary.ikm is not None:
        out.append(Figure("survey", "ikm", ALL, summary.ikm, "index"))
    for name in SURVEY_MEANS:
        value = getattr(summary, name)
        if value is not None:
            out.append(Figure("survey", name, ALL, round(value, 2), "score"))
    out.append(Figure("survey", "asked_to_pay", ALL, summary.asked_to_pay))
    return out


def _ikm_by_month(
    month: Month, facts: Sequence[FacilityMonth]
) -> tuple[tuple[str, float | None], ...]:
    """The IKM of each of the twelve months ending with ``month`` (None: no answers), from the
    months' sums: the formula of ``services.surveys.summary.ikm_of``."""
    out: list[tuple[str, float | None]] = []
    for back in range(11, -1, -1):
        name = str(month.shift(-back))
        n = sum(c for f in facts for m, c, _ in f.ikm_months if m == name)
        total = sum(t for f in facts for m, _, t in f.ikm_months if m == name)
        if not n:
            out.append((name, None))
            continue
        exact = Fraction(IKM_CONVERSION * total, len(IKM_ELEMENTS) * n)
        out.append((name, floor(exact * 100 + Fraction(1, 2)) / 100))
    return tuple(out)


def _per_day(month: Month, facts: Sequence[FacilityMonth]) -> tuple[int, ...]:
    days = [0] * month.days
    for f in facts:
        for v in f.visits:
            days[f.local_day(v.start_ms) - 1] += 1
    return tuple(days)


def checks(report: MonthlyReport) -> list[str]:
    """The sums that must hold, each one that does not named; empty when all add up."""
    bad = []
    for kind in (*KINDS, ALL):
        parts = sum(report.value("requests", o, kind) for o in OUTCOMES)
        if parts != report.value("requests", "requested", kind):
            bad.append(f"requests of kind {kind}: outcomes {parts} ≠ requested")
    for section, name in (("requests", "requested"), ("visits", "booked")):
        kinds = sum(report.value(section, name, k) for k in KINDS)
        if kinds != report.value(section, name):
            bad.append(f"{section} {name}: kinds {kinds} ≠ total")
    reasons = sum(report.value("end_reasons", r) for r in END_REASONS)
    if reasons != report.value("visits", "booked"):
        bad.append(f"end reasons {reasons} ≠ visits booked")
    if sum(report.per_day) != report.value("visits", "booked"):
        bad.append("visits per day ≠ visits booked")
    causes = sum(report.value("minutes", "lost", c.value) for c in Cause)
    if round(causes, 1) != report.value("minutes", "lost"):
        bad.append("minutes lost by cause ≠ minutes lost")
    parts = sum(report.value("minutes", n) for n in ("connected", "lost", "unused"))
    if round(parts, 1) != report.value("minutes", "scheduled"):
        bad.append("minutes connected + lost + unused ≠ scheduled")
    return bad
