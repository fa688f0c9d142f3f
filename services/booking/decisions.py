"""Officers' side of visit requests: the queue, approve (the visit scheduled, its guests given
links: the family seat's derived, ``FamilyLinks``, another guest's random and shown once) and
reject with a canned reason. A rejection frees the slot and the quota."""

from __future__ import annotations

from services.access.tokens import hash_secret
from services.booking.rejections import Rejection, RejectReason
from services.booking.request_base import RequestBase, request_event
from services.booking.scheduling import ScheduledVisit, guest_links
from services.domain.model import Inmate, InmateStatus, Role, Visit, VisitStatus
from services.errors import BadRequest
from services.ids import Actor

QUEUE_LIMIT = 500
MAX_NOTE = 200
MIN_REF, MAX_REF = 3, 64  # a detaining authority's letter number
REMAND_NEEDS_REF = (
    "the inmate is on remand: approval needs `permission_ref`, the detaining authority's"
    " letter number"
)


def permission_ref(raw: str, inmate: Inmate | None) -> str | None:
    """The detaining authority's letter number as kept (trimmed), or None; BadRequest naming
    ``permission_ref`` if a remand inmate's visit has none, or it is not 3 to 64 characters.
    (An approval and a walk-in both ask it.)"""
    ref = raw.strip()
    if not ref and inmate is not None and inmate.status is InmateStatus.REMAND:
        raise BadRequest(REMAND_NEEDS_REF, field="permission_ref")
    if ref and not MIN_REF <= len(ref) <= MAX_REF:
        raise BadRequest(
            f"`permission_ref` is {MIN_REF} to {MAX_REF} characters", field="permission_ref"
        )
    return ref or None


class OfficerDecisions(RequestBase):
    """The queue, approvals and rejections, each decision audited."""

    async def queue(self, facility_id: str, status: VisitStatus) -> list[Visit]:
        """The facility's requests in ``status``, soonest first."""
        return await self._store.requests(facility_id, status, QUEUE_LIMIT)

    async def approve(self, visit: Visit, actor: Actor, permission_ref: str = "") -> ScheduledVisit:
        """Approve a request: the visit is scheduled and its guests get their links. A remand
        inmate's visit needs ``permission_ref``, the detaining authority's letter number. The family
        seat gets its derived link; another guest (a teacher) a random one shown once."""
        ref = await self._permission(visit, permission_ref)
        links = guest_links(visit)
        family = next(p for p in visit.participants if p.role is Role.FAMILY)
        links[family.id] = self._family.secret(family.id)
        hashed = {str(pid): hash_secret(secret) for pid, secret in links.items()}
        details: dict[str, object] = {"start_ms": int(visit.start * 1000)}
        if ref:
            details["permission_ref"] = ref
        event = request_event("approved", actor, visit, details)
        scheduled = await self._store.approve_request(visit.id, hashed, event, ref)
        return ScheduledVisit(scheduled, links)

    async def _permission(self, visit: Visit, raw: str) -> str | None:
        """The letter number as kept (``permission_ref``)."""
        return permission_ref(raw, await self._store.get_inmate(visit.inmate_id))

    async def reject(self, visit: Visit, reason: RejectReason, note: str, actor: Actor) -> Visit:
        """Turn a request down with a canned reason (``other`` needs a note)."""
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise BadRequest(f"a note is at most {MAX_NOTE} characters", field="note")
        if reason is RejectReason.OTHER and not note:
            raise BadRequest("say why in `note` when the reason is other", field="note")
        event = request_event("rejected", actor, visit, {"reason": reason.value, "note": note})
        return await self._store.reject_request(visit.id, Rejection(reason.value, note), event)
