"""A monthly report gathered: which facilities, their facts read once each, the figures built.
The API and ``tatap report`` both come through here, the caller having settled the reader's
scope."""

from __future__ import annotations

from collections.abc import Sequence

from services.errors import BadRequest, NotFound
from services.reports.facts import FacilityMonth, Month
from services.reports.monthly import MonthlyReport, build
from services.store.protocols import ReportReader

MAX_FACILITIES = 64  # a region is a Kanwil's facilities: tens, not hundreds


async def monthly_report(
    reader: ReportReader, facility_ids: Sequence[str], month: Month
) -> MonthlyReport:
    """The report of ``month`` over ``facility_ids`` (one: a facility's; more: consolidated).
    NotFound names a facility that does not exist."""
    ids = sorted(set(facility_ids))
    if not ids:
        raise BadRequest("name a facility or a region")
    if len(ids) > MAX_FACILITIES:
        raise BadRequest(f"a report covers at most {MAX_FACILITIES} facilities")
    facts: list[FacilityMonth] = []
    for facility_id in ids:
        found = await reader.report_month(facility_id, month)
        if found is None:
            raise NotFound("no such facility")
        facts.append(found)
    return build(month, facts)
