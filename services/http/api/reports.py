"""``GET /api/v1/reports/monthly``: a facility's or a region's monthly report for auditors (and
admins), as JSON, CSV, HTML or PDF.

Scope as the audit API's (``services.access.guard.scope``): ``facility`` names one facility the
reader reaches (one outside it is "no such facility"); without it, the report consolidates every
facility the reader reaches (a regional auditor's region; an auditor's own). Every report read is
itself an audit event (``audit-read``, ``read: report``), on disk before the answer.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.access.guard import in_scope, scope
from services.access.tokens import Claims, staff_of
from services.audit.reads import AuditReads, Read
from services.errors import BadRequest, NotFound
from services.http.api.context import ApiContext
from services.http.staff_auth import AUDIT_READERS, StaffAuth
from services.reports.facts import Month
from services.reports.formats import FORMATS, file_name, report_bytes
from services.reports.service import MAX_FACILITIES, monthly_report
from services.reports.texts import LANGS

REPORT_QUERY = ("facility", "month", "format", "lang")


class ReportsApi:
    """``/api/v1/reports/...``."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth) -> None:
        self._ctx = ctx
        self._auth = auth
        self._reads = AuditReads(ctx.store)

    async def monthly(self, request: web.Request) -> web.Response:
        """The month's report over the facility asked for, or every facility the reader
        reaches."""
        claims = await self._auth.require(request, *AUDIT_READERS)
        query = request.query
        month = Month.parse(query.get("month", ""))
        fmt = query.get("format", "json")
        if fmt not in FORMATS:
            raise BadRequest("`format` must be json, csv, html or pdf", field="format")
        lang = query.get("lang", "id")
        if lang not in LANGS:
            raise BadRequest("`lang` must be id or en", field="lang")
        facilities = await self._facilities(claims, query.get("facility", ""))
        report = await monthly_report(self._ctx.store, facilities, month)
        await self._reads.record(
            Read.REPORT,
            claims.role.value,
            staff_of(claims),
            facility_id=facilities[0] if len(facilities) == 1 else claims.facility or "",
            extra={"month": str(month), "facilities": list(facilities), "format": fmt},
        )
        made = self._ctx.now_ms()
        body = await asyncio.to_thread(report_bytes, report, fmt, lang, made)
        headers = {"Cache-Control": "no-store"}
        if fmt in ("csv", "pdf"):
            headers["Content-Disposition"] = f'attachment; filename="{file_name(report, fmt)}"'
        return web.Response(body=body, content_type=FORMATS[fmt].split(";")[0], headers=headers)

    async def _facilities(self, claims: Claims, facility: str) -> list[str]:
        if facility:
            if len(facility) > 64 or not in_scope(claims, facility):
                raise NotFound("no such facility")
            return [facility]
        reach = scope(claims)
        if reach is None:
            names = await self._ctx.store.facility_names(MAX_FACILITIES + 1)
            reach = tuple(fid for fid, _ in names)
        if not reach:
            raise NotFound("no facility in your scope")
        return list(reach)
