"""Visits flagged for review: an inmate import said their inmate was released or transferred
after they were booked. Such a visit never starts (the store refuses to make it live, the link
exchange refuses it) until an officer either clears the flag (the inmate is still there, the
export was wrong) or cancels the visit.
"""

from __future__ import annotations

import enum

from services.audit.chain import AuditEvent
from services.clock import Clock
from services.domain.model import EndReason, Visit, VisitStatus
from services.errors import BadRequest, Conflict
from services.ids import Actor
from services.store.protocols import VisitChange, VisitStore

MAX_NOTE = 200
CANCELLABLE = frozenset({VisitStatus.REQUESTED, VisitStatus.APPROVED, VisitStatus.SCHEDULED})


class ReviewAction(enum.StrEnum):
    CLEAR = "clear"  # the visit goes ahead
    CANCEL = "cancel"  # the visit is called off (its family is told, as for any cancellation)


class VisitReview:
    """An officer's decision on a flagged visit, audited."""

    def __init__(self, store: VisitStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def decide(self, visit: Visit, action: ReviewAction, note: str, actor: Actor) -> Visit:
        """Clear the flag or cancel the visit; Conflict if the visit is not flagged."""
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise BadRequest(f"a note is at most {MAX_NOTE} characters", field="note")
        if not visit.review:
            raise Conflict("this visit is not waiting for review")
        if action is ReviewAction.CLEAR:
            event = self._event("review-cleared", actor, visit, {"note": note})
            return await self._store.clear_review(visit.id, event)
        details: dict[str, object] = {"by": "review", "reason": "inmate_unavailable", "note": note}
        change = VisitChange(
            visit.id, VisitStatus.CANCELLED, CANCELLABLE, self._clock.now(), EndReason.CANCELLED
        )
        return await self._store.change_visit(
            change, [self._event("cancelled", actor, visit, details)]
        )

    def _event(
        self, action: str, actor: Actor, visit: Visit, details: dict[str, object]
    ) -> AuditEvent:
        return AuditEvent(action, actor.role, actor.id, visit.facility_id, visit.id, details)
