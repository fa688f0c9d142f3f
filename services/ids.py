"""Distinct id types, so a visit id is never passed where a participant id belongs, and the
``Actor`` every audited change names.

Ids are ``NewType`` over ``str``: free at run time, checked by mypy.
"""

from __future__ import annotations

from typing import NamedTuple, NewType

FacilityId = NewType("FacilityId", str)
RoomId = NewType("RoomId", str)
TerminalId = NewType("TerminalId", str)
InmateId = NewType("InmateId", str)
VisitorId = NewType("VisitorId", str)
VisitId = NewType("VisitId", str)
ParticipantId = NewType("ParticipantId", str)
StaffId = NewType("StaffId", str)

# The node's own actions (a visit ending on time, a warning, a failed connect) are done by
# nobody who logged in: their audit rows say so instead of borrowing the admin role.
SYSTEM_ROLE = "system"


class Actor(NamedTuple):
    """Who did something, as the audit log records it: a role's value and that role's id
    (a staff id, a participant id, ``cli``, or ``system:<node>`` for the node itself)."""

    role: str
    id: str

    @classmethod
    def system(cls, node_id: str) -> Actor:
        """The node itself, acting on a deadline rather than on anyone's request."""
        return cls(SYSTEM_ROLE, f"system:{node_id}")


# `tatap` commands run by an operator at the node's console.
CLI_ACTOR = Actor("admin", "cli")
