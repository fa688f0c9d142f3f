"""What make-up offers are made of: an ended visit as the offerer judges it, and the offer.

Kept apart from ``services.booking.makeup`` so that the store's roles can name them without
importing the offerer (which uses those roles).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.audit.chain import AuditEvent, AuditRecord
from services.domain.model import Visit
from services.ids import Actor

OFFERED = "makeup-offered"  # the offer's audit event


@dataclass(frozen=True, slots=True)
class Ended:
    """A visit whose `ended` event (``seq``) the offerer reads, with what its loss needs: its
    events oldest first, when the node was down since its start, the facility's rule in
    minutes, and the family seat's visitor."""

    seq: int
    visit: Visit
    events: tuple[AuditRecord, ...]
    node_downs: tuple[tuple[int, int], ...]
    after_min: int
    visitor_id: str


@dataclass(frozen=True, slots=True)
class MakeupOffer:
    """One make-up visit offered to the family of ``visit_id``, which lost ``lost_ms`` to
    system faults; ``used_visit_id`` is the make-up visit once the family takes it."""

    visit_id: str
    facility_id: str
    visitor_id: str
    lost_ms: int
    created_ms: int
    used_visit_id: str | None = None

    def event(self, actor: Actor, after_min: int) -> AuditEvent:
        """The audit event that records the offer (written with it)."""
        details: dict[str, object] = {"lost_system_ms": self.lost_ms, "after_min": after_min}
        return AuditEvent(OFFERED, actor.role, actor.id, self.facility_id, self.visit_id, details)

    def to_json(self) -> dict[str, object]:
        return {
            "visit_id": self.visit_id,
            "lost_system_ms": self.lost_ms,
            "created_ms": self.created_ms,
            "used_visit_id": self.used_visit_id,
        }
