"""What a family's request asks the store to do in one transaction, and the limits it checks.

The store takes a ``NewRequest`` and, inside one write transaction, counts the inmate's and the
visitor's visits in a rolling 7 days against the facility's ``Quotas``, picks the first of the
offered places whose room is still free at that time, and inserts the visit; so two requests
racing for the last slot, or for the last visit of a week, cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.audit.chain import AuditEvent
from services.domain.model import Terminal, Visit, Visitor

WEEK_MS = 7 * 86_400_000


@dataclass(frozen=True, slots=True)
class Quotas:
    """Visits an inmate, and a visitor (by NIK), may have in any rolling 7 days."""

    per_inmate: int = 1
    per_visitor: int = 1

    def to_json(self) -> dict[str, object]:
        return {"per_inmate": self.per_inmate, "per_visitor": self.per_visitor}


@dataclass(frozen=True, slots=True)
class NewRequest:
    """A requested visit to insert atomically.

    ``visit`` names the first of ``places`` as its room and terminal; the store moves it to the
    first place whose room is free. Its family seat names ``visitor``, whom the store replaces
    by the visitor already on record with the same NIK, if there is one. ``event`` is the
    ``requested`` audit event (its details already masked). ``extra_ms`` (a priority visitor's
    extra time) moves the visit's end on past its slot, but never into the room's next visit nor
    a closure: the store clips it there, in the same transaction. With ``approval`` (the
    facility approves known visitors at once), a visitor who already had a visit with this inmate
    scheduled, held or ended gets the request approved in the same transaction, ``approval``
    written after ``event``, and its family seat's link hash set to ``family_link_hash``; never
    when the inmate is on remand. With ``makeup_for`` (a family taking its make-up visit, see
    ``services.booking.makeup_taking``), the quotas are not checked, the visit is approved with
    ``approval`` whoever the visitor is, and the offer of visit ``makeup_for`` is marked used by
    it, ``makeup_event`` written last; MakeupUnavailable if the offer is gone or used."""

    visit: Visit
    places: tuple[Terminal, ...]
    visitor: Visitor
    quotas: Quotas
    event: AuditEvent
    extra_ms: int = 0
    approval: AuditEvent | None = None
    family_link_hash: str = ""
    makeup_for: str = ""
    makeup_event: AuditEvent | None = None
