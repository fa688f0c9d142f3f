"""A facility's booking policy: which relationships it accepts, whether a visitor it has
approved before for the same inmate is approved again at once, and after how many minutes lost
to system faults a visit's family is offered a make-up visit.

Kept per facility by the store (``RequestStore.booking_policy``); a facility that never set one
takes the defaults: every relationship of ``services.booking.relationships``, no auto-approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.booking.problems import Problem, invalid
from services.booking.relationships import Relationship
from services.errors import BadRequest

ALL_RELATIONSHIPS = frozenset(Relationship)


@dataclass(frozen=True, slots=True)
class BookingPolicy:
    relationships: frozenset[Relationship] = field(default_factory=lambda: ALL_RELATIONSHIPS)
    # A request from a visitor with a visit scheduled or held with that inmate before is
    # approved in its own transaction (never for a remand inmate: that needs a letter number).
    auto_approve_known: bool = False
    # A visit that lost more than this many minutes to system faults (services.reports.lost)
    # earns its family a make-up visit, offered at once (services.booking.makeup); None: off.
    makeup_after_min: int | None = None

    def check(self, relationship: str) -> None:
        """BadRequest naming ``relationship``, in both languages, if this facility refuses it."""
        if relationship not in self.relationships:
            raise invalid("relationship", Problem.RELATIONSHIP_NOT_ALLOWED)

    def listed(self) -> list[str]:
        """The accepted relationships in the order the form lists them."""
        return [r.value for r in Relationship if r in self.relationships]

    def to_json(self) -> dict[str, object]:
        return {
            "relationships": self.listed(),
            "auto_approve_known": self.auto_approve_known,
            "makeup_after_min": self.makeup_after_min,
        }


MAKEUP_MIN, MAKEUP_MAX = 1, 120  # the make-up rule's bounds, in minutes


def check_makeup_after(minutes: int | None) -> int | None:
    """``minutes`` if it is a valid make-up rule (None: off); BadRequest otherwise."""
    if minutes is not None and not MAKEUP_MIN <= minutes <= MAKEUP_MAX:
        raise BadRequest(f"a make-up rule is from {MAKEUP_MIN} to {MAKEUP_MAX} minutes, or off")
    return minutes


def parse_relationships(text: str) -> frozenset[Relationship]:
    """``spouse,parent`` as a set; BadRequest naming the wrong word, or for an empty list."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    allowed = ", ".join(r.value for r in Relationship)
    wrong = [n for n in names if n not in {r.value for r in Relationship}]
    if not names or wrong:
        raise BadRequest(f"relationships are some of {allowed}; got {','.join(wrong) or 'none'}")
    return frozenset(Relationship(n) for n in names)
