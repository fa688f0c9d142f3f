"""Which audit events to read: one query, parsed and validated the same way for the REST API's
query parameters and ``tatap audit export``'s flags, and read page by page from any store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from services.errors import BadRequest
from services.params import query_int

if TYPE_CHECKING:
    from services.audit.chain import AuditRecord
    from services.store.protocols import AuditReader

MAX_TEXT = 64  # an id or an action; anything longer is garbage, not a filter
PAGE = 1000  # the most events one search returns (the API's `limit` cap)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters shared by the audit REST API and ``tatap audit export``; empty means any."""

    facility_id: str = ""
    inmate_id: str = ""
    visitor_id: str = ""
    terminal_id: str = ""
    visit_id: str = ""
    action: str = ""
    since_ms: int | None = None
    until_ms: int | None = None
    after_seq: int = 0  # pagination: rows with seq > after_seq
    limit: int = 100


def audit_query(params: Mapping[str, Any]) -> AuditQuery:
    """Filters from query parameters (REST) or CLI flags, validated the same way for both;
    BadRequest names the first bad one."""

    def text(name: str) -> str:
        value = params.get(name) or ""
        if len(value) > MAX_TEXT:
            raise BadRequest(f"`{name}` is too long")
        return str(value)

    return AuditQuery(
        facility_id=text("facility"),
        inmate_id=text("inmate"),
        visitor_id=text("visitor"),
        terminal_id=text("terminal"),
        visit_id=text("visit"),
        action=text("action"),
        since_ms=query_int(params, "since_ms", None, 0, 2**53),
        until_ms=query_int(params, "until_ms", None, 0, 2**53),
        after_seq=query_int(params, "after", 0, 0, 2**62) or 0,
        limit=query_int(params, "limit", 100, 1, PAGE) or 100,
    )


async def iter_events(reader: AuditReader, query: AuditQuery) -> AsyncIterator[AuditRecord]:
    """Every event ``query`` matches (its ``limit`` aside), oldest first, read a page at a time
    so an export of millions of events holds one page in memory."""
    after = query.after_seq
    while True:
        page = await reader.audit_search(replace(query, after_seq=after, limit=PAGE))
        for record in page:
            yield record
        if len(page) < PAGE:
            return
        after = page[-1].seq
