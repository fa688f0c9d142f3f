"""A scheduled visit as a plain value, for the pure rules and the tokens built on them."""

from __future__ import annotations

from services.domain.model import Visit, VisitKind, VisitStatus
from services.ids import FacilityId, InmateId, RoomId, TerminalId, VisitId

VISIT = Visit(
    VisitId("v_1"),
    "ABCD2345",
    FacilityId("f_1"),
    RoomId("r_1"),
    TerminalId("t_1"),
    InmateId("i_1"),
    VisitKind.REGULAR,
    VisitStatus.SCHEDULED,
    start=10_000.0,
    end=10_900.0,
)
