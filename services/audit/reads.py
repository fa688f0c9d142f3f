"""Every read of the audit log through the node is itself an audit event (``audit-read``): who
read, what (a search, a visit's timeline, an export, a verification) and with which filters. The
audit API records each read here, before it answers, so that no answer leaves unrecorded."""

from __future__ import annotations

import enum
from typing import Protocol

from services.audit.chain import AuditEvent, AuditRecord
from services.audit.query import AuditQuery

READ_ACTION = "audit-read"


class Read(enum.StrEnum):
    SEARCH = "search"
    TIMELINE = "timeline"
    EXPORT = "export"
    VERIFY = "verify"
    REPORT = "report"  # a monthly report (services.reports), with its month and facilities


class AuditAppend(Protocol):
    """The one thing this needs of the log: a durable append."""

    async def append(self, events: list[AuditEvent]) -> list[AuditRecord]: ...


class AuditReads:
    """Records reads of the audit log."""

    def __init__(self, log: AuditAppend) -> None:
        self._log = log

    async def record(
        self,
        read: Read,
        actor_role: str,
        actor_id: str,
        *,
        facility_id: str = "",
        visit_id: str = "",
        query: AuditQuery | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        """Append (on disk when this returns) that ``actor`` read ``read``; the filters of
        ``query`` are recorded as ``AuditQuery.filters`` gives them, a person's data masked."""
        details: dict[str, object] = {"read": read.value}
        if query is not None:
            details["filters"] = query.filters()
        if extra:
            details.update(extra)
        event = AuditEvent(READ_ACTION, actor_role, actor_id, facility_id, visit_id, details)
        await self._log.append([event])
