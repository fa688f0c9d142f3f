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
VISITOR_ID_PREFIX = "vis_"  # an id (``new_id("vis")``), not a name or NIK digits


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters shared by the audit REST API, the auditor console and ``tatap audit export``;
    empty means any.

    ``inmate`` matches an inmate's id, number or part of its name; ``visitor`` a registered
    visitor's id, part of a participant's name, or (four digits) a NIK's last four; ``terminal``
    a terminal's or a room's id or part of a room's name; ``officer`` the staff id or username
    of the event's actor; ``kind`` and ``end_reason`` the visit's. ``facilities`` is the reader's
    scope (a regional auditor's region), set by the caller, never by a parameter.
    """

    facility_id: str = ""
    inmate_id: str = ""
    visitor_id: str = ""
    terminal_id: str = ""
    visit_id: str = ""
    action: str = ""
    officer: str = ""
    kind: str = ""
    end_reason: str = ""
    since_ms: int | None = None
    until_ms: int | None = None
    after_seq: int = 0  # pagination, oldest first: rows with seq > after_seq
    before_seq: int = 0  # pagination, newest first: rows with seq < before_seq (0: from the end)
    newest_first: bool = False
    limit: int = 100
    facilities: tuple[str, ...] | None = None

    def filters(self) -> dict[str, object]:
        """The filters given (the reader's scope and paging aside), as an audit event records
        them: a visitor's name or NIK digits is a person's data, so only that it was given."""
        given: dict[str, object] = {
            name: getattr(self, attr) for name, attr in FILTER_FIELDS.items() if getattr(self, attr)
        }
        if self.visitor_id and not self.visitor_id.startswith(VISITOR_ID_PREFIX):
            given["visitor"] = "***"
        for name in ("since_ms", "until_ms"):
            value = getattr(self, name)
            if value is not None:
                given[name] = value
        return given


# Query parameter -> field, for the filters a caller types.
FILTER_FIELDS = {
    "facility": "facility_id",
    "inmate": "inmate_id",
    "visitor": "visitor_id",
    "terminal": "terminal_id",
    "visit": "visit_id",
    "action": "action",
    "officer": "officer",
    "kind": "kind",
    "end_reason": "end_reason",
}
ORDERS = ("asc", "desc")


def audit_query(params: Mapping[str, Any]) -> AuditQuery:
    """Filters from query parameters (REST) or CLI flags, validated the same way for both;
    BadRequest names the first bad one."""

    def text(name: str) -> str:
        value = params.get(name) or ""
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise BadRequest(f"`{name}` is too long")
        return value.strip()

    order = text("order") or "asc"
    if order not in ORDERS:
        raise BadRequest("`order` must be asc or desc")
    fields: dict[str, Any] = {attr: text(name) for name, attr in FILTER_FIELDS.items()}
    return AuditQuery(
        **fields,
        since_ms=query_int(params, "since_ms", None, 0, 2**53),
        until_ms=query_int(params, "until_ms", None, 0, 2**53),
        after_seq=query_int(params, "after", 0, 0, 2**62) or 0,
        before_seq=query_int(params, "before", 0, 0, 2**62) or 0,
        newest_first=order == "desc",
        limit=query_int(params, "limit", 100, 1, PAGE) or 100,
    )


async def iter_events(reader: AuditReader, query: AuditQuery) -> AsyncIterator[AuditRecord]:
    """Every event ``query`` matches (its ``limit`` aside), oldest first, read a page at a time
    so an export of millions of events holds one page in memory."""
    after = query.after_seq
    while True:
        page = await reader.audit_search(
            replace(query, after_seq=after, before_seq=0, newest_first=False, limit=PAGE)
        )
        for record in page:
            yield record
        if len(page) < PAGE:
            return
        after = page[-1].seq
