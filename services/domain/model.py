"""The records Tatap keeps: facilities and their rules, rooms, terminals, people, visits."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from services.ids import (
    FacilityId,
    InmateId,
    ParticipantId,
    RoomId,
    StaffId,
    TerminalId,
    VisitId,
    VisitorId,
)


class VisitKind(enum.StrEnum):
    REGULAR = "regular"  # inmate (terminal) + one family device
    EDUCATION = "education"  # inmate + child's device + teacher's device (KONDUKSI)
    LEGAL = "legal"  # inmate + lawyer; never recorded


class Role(enum.StrEnum):
    FAMILY = "family"
    TEACHER = "teacher"
    TERMINAL = "terminal"
    OFFICER = "officer"
    AUDITOR = "auditor"  # reads one facility's log
    REGIONAL_AUDITOR = "regional_auditor"  # reads the log of a set of facilities (a Kanwil)
    INVESTIGATOR = "investigator"  # reads as an auditor; opens recordings once they exist
    ADMIN = "admin"


STAFF_ROLES = frozenset(
    {Role.OFFICER, Role.AUDITOR, Role.REGIONAL_AUDITOR, Role.INVESTIGATOR, Role.ADMIN}
)
# Who reads the audit log: every such read is itself audited (``services.audit.reads``).
AUDITOR_ROLES = frozenset({Role.AUDITOR, Role.REGIONAL_AUDITOR, Role.INVESTIGATOR})


class VisitStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


# Which status may follow which; anything else is a bug or a race and is refused.
VISIT_TRANSITIONS: dict[VisitStatus, frozenset[VisitStatus]] = {
    VisitStatus.REQUESTED: frozenset(
        {VisitStatus.APPROVED, VisitStatus.REJECTED, VisitStatus.CANCELLED}
    ),
    VisitStatus.APPROVED: frozenset({VisitStatus.SCHEDULED, VisitStatus.CANCELLED}),
    VisitStatus.SCHEDULED: frozenset({VisitStatus.LIVE, VisitStatus.ENDED, VisitStatus.CANCELLED}),
    VisitStatus.LIVE: frozenset({VisitStatus.ENDED}),
    VisitStatus.REJECTED: frozenset(),
    VisitStatus.ENDED: frozenset(),
    VisitStatus.CANCELLED: frozenset(),
}


class EndReason(enum.StrEnum):
    COMPLETED = "completed"  # the scheduled end came
    HANGUP = "hangup"  # a participant left for good
    TERMINATED = "terminated"  # an officer ended it
    NO_SHOW = "no_show"  # nobody (or only one side) came within the join grace
    FAILED = "failed"  # media never connected
    CANCELLED = "cancelled"  # called off before the start


# Who may sit in a visit of each kind, besides officers who join as silent monitors.
SEATS: dict[VisitKind, tuple[Role, ...]] = {
    VisitKind.REGULAR: (Role.TERMINAL, Role.FAMILY),
    VisitKind.EDUCATION: (Role.TERMINAL, Role.FAMILY, Role.TEACHER),
    VisitKind.LEGAL: (Role.TERMINAL, Role.FAMILY),
}
MAX_PARTICIPANTS = 4


@dataclass(frozen=True, slots=True)
class FacilityRules:
    """A facility's visit rules; every duration in seconds."""

    length_s: dict[str, int] = field(
        default_factory=lambda: {"regular": 900, "education": 1800, "legal": 1800}
    )
    priority_extra_s: int = 300
    warnings_s: tuple[int, ...] = (300, 60)
    join_grace_s: int = 600
    reconnect_grace_s: int = 60
    # Media must come up within this long after both sides are in, or the visit ends `failed`.
    connect_timeout_s: int = 120

    def to_json(self) -> dict[str, object]:
        return {
            "length_s": dict(self.length_s),
            "priority_extra_s": self.priority_extra_s,
            "warnings_s": list(self.warnings_s),
            "join_grace_s": self.join_grace_s,
            "reconnect_grace_s": self.reconnect_grace_s,
            "connect_timeout_s": self.connect_timeout_s,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FacilityRules:
        defaults = cls()
        lengths = data.get("length_s", defaults.length_s)
        warnings = data.get("warnings_s", defaults.warnings_s)
        assert isinstance(lengths, dict) and isinstance(warnings, list | tuple)
        return cls(
            length_s={str(k): int(v) for k, v in lengths.items()},
            priority_extra_s=int(str(data.get("priority_extra_s", defaults.priority_extra_s))),
            warnings_s=tuple(sorted((int(w) for w in warnings), reverse=True)),
            join_grace_s=int(str(data.get("join_grace_s", defaults.join_grace_s))),
            reconnect_grace_s=int(str(data.get("reconnect_grace_s", defaults.reconnect_grace_s))),
            connect_timeout_s=int(str(data.get("connect_timeout_s", defaults.connect_timeout_s))),
        )


@dataclass(frozen=True, slots=True)
class Facility:
    id: FacilityId
    name: str
    timezone: str
    rules: FacilityRules


@dataclass(frozen=True, slots=True)
class Room:
    id: RoomId
    facility_id: FacilityId
    name: str


@dataclass(frozen=True, slots=True)
class Terminal:
    id: TerminalId
    facility_id: FacilityId
    room_id: RoomId
    name: str
    secret_hash: str


class InmateStatus(enum.StrEnum):
    """Where an inmate stands, from the SDP export (its Indonesian words are import aliases)."""

    CONVICTED = "convicted"  # narapidana
    REMAND = "remand"  # tahanan: each visit needs the detaining authority's permission
    RELEASED = "released"  # bebas
    TRANSFERRED = "transferred"  # pindah (to another facility)

    @property
    def gone(self) -> bool:
        """No longer here: new requests are refused, booked visits flagged for review."""
        return self in (InmateStatus.RELEASED, InmateStatus.TRANSFERRED)


@dataclass(frozen=True, slots=True)
class Inmate:
    id: InmateId
    facility_id: FacilityId
    number: str
    name: str
    block: str
    status: InmateStatus = InmateStatus.CONVICTED


@dataclass(frozen=True, slots=True)
class Visitor:
    id: VisitorId
    name: str
    nik: str
    phone: str
    relationship: str
    priority: bool = False


@dataclass(frozen=True, slots=True)
class Staff:
    id: StaffId
    username: str
    role: Role
    password_hash: str
    facility_id: FacilityId | None
    # A regional auditor's facilities (its region); empty for everyone else.
    facilities: tuple[FacilityId, ...] = ()


@dataclass(frozen=True, slots=True)
class Participant:
    id: ParticipantId
    visit_id: VisitId
    role: Role
    name: str
    visitor_id: VisitorId | None = None
    # A teacher's mobile number (E.164), given with an education request; personal data.
    contact: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    id: VisitId
    code: str
    facility_id: FacilityId
    room_id: RoomId
    terminal_id: TerminalId
    inmate_id: InmateId
    kind: VisitKind
    status: VisitStatus
    start: float  # epoch seconds
    end: float
    started_at: float | None = None
    ended_at: float | None = None
    end_reason: EndReason | None = None
    participants: tuple[Participant, ...] = ()
    # The detaining authority's letter number, for a remand inmate's visit (given at approval).
    permission_ref: str | None = None
    # Its inmate was released or transferred after it was booked: an officer clears or cancels.
    review: bool = False
    # A legal visit's advocate's registration number (a professional number, not personal data).
    advocate_number: str | None = None
    # When an officer marked the inmate as brought to the visit room (see services.board).
    ready_at: float | None = None

    def participant(self, pid: str) -> Participant | None:
        return next((p for p in self.participants if p.id == pid), None)
