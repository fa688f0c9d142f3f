"""What a monthly report is computed from, read once from the store for each facility.

A month is a calendar month in the facility's own time zone (``Month.window``). The store hands
over three kinds of facts for it, and ``services.reports.monthly`` computes every figure from
them without reading anything else:

- ``RequestFact``: each request a family made in the month (its ``requested`` event's time), with
  what had become of it by the month's end: approved, rejected, withdrawn (cancelled by the
  family before a decision) or held (still waiting for an officer).
- ``VisitFact``: each visit booked (approved or scheduled by an officer) to start in the month,
  with its status and end reason as stored, whether it was a walk-in, when it was requested (for
  a request), whether a priority visitor held a seat, and its media events.
- the facility itself (name, time zone), when the node was down around the month, the
  month's survey answers (``services.surveys``) and the IKM sums of the twelve months ending
  with it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.booking.slots import day_bounds, zone
from services.errors import BadRequest

if TYPE_CHECKING:
    from services.audit.chain import AuditRecord
    from services.surveys.answers import SurveyAnswer

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# What a request became by the month's end; the four add up to the requests made.
OUTCOMES = ("approved", "rejected", "withdrawn", "held")
# The events a visit's media minutes and losses are computed from (services.reports.lost).
MEDIA_ACTIONS = ("joined", "left", "connected", "reconnected", "ended", "terminated")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month, ``YYYY-MM``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = MONTH_RE.match(text.strip()) if isinstance(text, str) else None
        if match is None or not 2000 <= int(match.group(1)) <= 2200:
            raise BadRequest("`month` must be YYYY-MM", field="month")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last(self) -> dt.date:
        return dt.date(self.year, self.month, self.days)

    def shift(self, months: int) -> Month:
        """The month ``months`` later (earlier if negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def window(self, timezone: str) -> tuple[int, int]:
        """Epoch ms of the first local midnight of the month and of the next month's."""
        return day_bounds(self.first, timezone)[0], day_bounds(self.last, timezone)[1]


@dataclass(frozen=True, slots=True)
class RequestFact:
    """A family's request made in the month, and what it had become by the month's end."""

    visit_id: str
    kind: str
    requested_ms: int
    outcome: str  # one of OUTCOMES


@dataclass(frozen=True, slots=True)
class VisitFact:
    """A visit booked to start in the month (``status`` and ``end_reason`` as stored now)."""

    visit_id: str
    kind: str
    start_ms: int
    end_ms: int
    status: str
    end_reason: str | None
    walk_in: bool
    requested_ms: int | None  # its ``requested`` event, if it came from a family's request
    priority: bool  # a priority visitor (elderly, disabled, ...) held one of its seats
    events: tuple[AuditRecord, ...]  # its MEDIA_ACTIONS events, oldest first


@dataclass(frozen=True, slots=True)
class FacilityMonth:
    """One facility's facts for one month."""

    facility_id: str
    name: str
    timezone: str
    month: Month
    start_ms: int
    end_ms: int
    requests: tuple[RequestFact, ...]
    visits: tuple[VisitFact, ...]
    node_downs: tuple[tuple[int, int], ...] = ()  # when the node was down (services.reports.lost)
    answers: tuple[SurveyAnswer, ...] = ()  # the month's survey answers, oldest first
    # The IKM chart's: each of the twelve months ending with this one as (YYYY-MM, answers, the
    # IKM elements' scores added up over them).
    ikm_months: tuple[tuple[str, int, int], ...] = ()

    def local_day(self, ms: int) -> int:
        """The day of the month (1-based) of ``ms`` in the facility's zone."""
        day = dt.datetime.fromtimestamp(ms / 1000, zone(self.timezone)).date()
        return max(1, min(self.month.days, (day - self.month.first).days + 1))
