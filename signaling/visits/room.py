"""Who is in which visit on this node: seats, their sockets, and the visit's deadlines."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from services.domain.model import MAX_PARTICIPANTS, EndReason, FacilityRules, Role, Visit
from services.ids import ParticipantId
from signaling.runtime.deadlines import Deadline
from signaling.transport.connection import Connection
from signaling.visits.rejoins import Rejoins

GUEST_ROLES = frozenset({Role.FAMILY, Role.TEACHER})


@dataclass(slots=True)
class Seat:
    participant_id: ParticipantId
    role: Role
    conn: Connection | None
    grace: Deadline | None = None  # while the participant is away and may still come back
    since: float = 0.0  # when this socket took the seat (a family waiting since then)
    # The socket went while the visit's end was being written: nobody was told and nothing was
    # logged; if that write fails, the reopened room does both (see visits.reopen).
    dropped_unheard: bool = False


@dataclass(slots=True)
class VisitRoom:
    visit: Visit
    rules: FacilityRules
    seats: dict[ParticipantId, Seat] = field(default_factory=dict)
    ever_joined: set[ParticipantId] = field(default_factory=set)
    live: bool = False
    started_at: float | None = None
    media_up: bool = False
    ready_ms: int | None = None  # when an officer marked the inmate as in the visit room
    # The sides an officer has muted ("family", "inmate"); recovered from the audit log.
    muted: set[str] = field(default_factory=set)
    # Officers' mutes of this visit are written one after another, in the order they came.
    muting: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Who said `connected` while both sides were present: media is up once the terminal and a
    # guest both have (one side's word alone is not proof that anything flowed).
    media_reports: set[Role] = field(default_factory=set)
    # `connected` is written once per node run: a visit recovered after a restart has media_up
    # from the log, and writes it again when both sides say so (services/reports/lost.py).
    media_logged: bool = False
    # True from the moment an end is decided: no more joins, relaying or clock frames.
    ended: bool = False
    reason: EndReason | None = None  # the end decided (once `ended`)
    # An end the schedule cannot recompute (terminated, hangup) while it is being written:
    # `ended` goes out only once it has committed. Resolves to the end on record.
    ending: asyncio.Future[EndReason] | None = None
    deadlines: list[Deadline] = field(default_factory=list)
    connect_deadline: Deadline | None = None
    tick: Deadline | None = None  # the next `time` broadcast
    rejoins: dict[ParticipantId, Rejoins] = field(default_factory=dict)  # per participant id
    # Joins of one visit take turns while their audit event is written, so that seat counts,
    # the scheduled → live change and "joined or reconnected?" are decided on settled state.
    joining: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def end_ms(self) -> int:
        return int(self.visit.end * 1000)

    def remaining_ms(self, now: float) -> int:
        """What is left of the visit at `now`, as `time` and `warning` say it."""
        return int((self.visit.end - now) * 1000)

    @property
    def monitor_seats(self) -> int:
        """Seats left for officers once every participant of the visit has one."""
        return MAX_PARTICIPANTS - len(self.visit.participants)

    def monitors(self) -> int:
        return sum(1 for seat in self.seats.values() if seat.role is Role.OFFICER)

    def present(self) -> list[Seat]:
        return [seat for seat in self.seats.values() if seat.conn is not None]

    def deliver(self, frame: str, to: ParticipantId, skip: ParticipantId) -> None:
        """Hand a frame from the bus to this node's sockets: one participant, or all but one."""
        if to:
            seat = self.seats.get(to)
            if seat is not None and seat.conn is not None:
                seat.conn.send(frame)
            return
        for seat in self.seats.values():
            if seat.conn is not None and seat.participant_id != skip:
                seat.conn.send(frame)

    def participant_role(self, pid: ParticipantId) -> Role | None:
        """The role of one of the visit's own participants (None for an officer or a stranger)."""
        participant = self.visit.participant(pid)
        return participant.role if participant is not None else None

    def roles_joined(self) -> set[Role]:
        roles = set()
        for pid in self.ever_joined:
            participant = self.visit.participant(pid)
            if participant is not None:
                roles.add(participant.role)
        return roles

    def both_sides_joined(self) -> bool:
        roles = self.roles_joined()
        return Role.TERMINAL in roles and bool(roles & GUEST_ROLES)

    def both_sides_reported_media(self) -> bool:
        return Role.TERMINAL in self.media_reports and bool(self.media_reports & GUEST_ROLES)

    def both_sides_present(self) -> bool:
        roles = {seat.role for seat in self.present()}
        return Role.TERMINAL in roles and bool(roles & GUEST_ROLES)

    def cancel_deadlines(self) -> None:
        for deadline in self.deadlines:
            deadline.cancel()
        for seat in self.seats.values():
            if seat.grace is not None:
                seat.grace.cancel()
        for extra in (self.connect_deadline, self.tick):
            if extra is not None:
                extra.cancel()
        for rejoins in self.rejoins.values():
            if rejoins.flush is not None:
                rejoins.flush.cancel()


# Which room each socket sits in on this node. Kept by the visits, not on the socket: the
# transport knows nothing of visits.
Seated = dict[Connection, VisitRoom]
