"""Scheduling visits: who sits where, for how long, and calling a visit off before it starts.

Every guest but the terminal gets a link secret, returned once and stored hashed; exchanging it
for a token is ``services.access.links``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from services.access.tokens import hash_secret, new_link_token
from services.audit.chain import AuditEvent
from services.clock import Clock
from services.domain.model import (
    SEATS,
    EndReason,
    FacilityRules,
    Participant,
    Role,
    Visit,
    VisitKind,
    VisitStatus,
)
from services.domain.pii import mask
from services.errors import BadRequest, NotFound
from services.ids import Actor, InmateId, ParticipantId, TerminalId, VisitId, VisitorId
from services.store.protocols import Store, VisitChange

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone


def new_id(prefix: str) -> str:
    """A fresh random id, its kind named by ``prefix`` (``v``, ``p``, ``t`` ...)."""
    return f"{prefix}_{secrets.token_hex(8)}"


def new_visit_code() -> str:
    """A short human code for the phone and the notice board; it admits nobody on its own."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


@dataclass(frozen=True, slots=True)
class GuestSpec:
    """Someone who joins from outside: a family member (with visitor id) or a teacher."""

    role: Role
    name: str
    visitor_id: VisitorId | None = None
    contact: str | None = None  # a teacher's mobile number (E.164)


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    """A new visit and its guests' link secrets."""

    visit: Visit
    links: dict[ParticipantId, str]  # participant → link secret (shown once, stored hashed)


class VisitService:
    """Schedules visits and cancels them, each change written with its audit event."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def schedule(
        self,
        *,
        terminal_id: TerminalId,
        inmate_id: InmateId,
        kind: VisitKind,
        start: float,
        guests: list[GuestSpec],
        actor: Actor,
        length_s: int | None = None,
        walk_in: bool = False,
        permission_ref: str | None = None,
    ) -> ScheduledVisit:
        """A visit on ``terminal_id`` for ``inmate_id`` with ``guests``, and their link secrets.
        Without ``length_s`` it lasts the facility's length for its kind (longer with priority).
        ``walk_in``: a family at the gate, started now (``services.booking.walkins``);
        ``permission_ref``: a remand inmate's detaining authority's letter number."""
        terminal = await self._store.get_terminal(terminal_id)
        if terminal is None:
            raise NotFound("no such terminal")
        facility = await self._store.get_facility(terminal.facility_id)
        inmate = await self._store.get_inmate(inmate_id)
        if facility is None or inmate is None or inmate.facility_id != facility.id:
            raise NotFound("no such inmate in the terminal's facility")
        _check_guests(kind, guests)
        if length_s is None:
            length_s = await self._length(facility.rules, kind, guests)
        if length_s <= 0:
            raise BadRequest("a visit must last more than zero seconds")
        visit_id = VisitId(new_id("v"))
        visit = Visit(
            id=visit_id,
            code=new_visit_code(),
            facility_id=facility.id,
            room_id=terminal.room_id,
            terminal_id=terminal.id,
            inmate_id=inmate.id,
            kind=kind,
            status=VisitStatus.SCHEDULED,
            start=start,
            end=start + length_s,
            participants=seats(visit_id, terminal.name, guests),
            permission_ref=permission_ref,
        )
        links = guest_links(visit)
        event = _scheduled_event(visit, guests, actor, walk_in)
        hashed = {str(pid): hash_secret(secret) for pid, secret in links.items()}
        await self._store.add_visit(visit, hashed, [event])
        return ScheduledVisit(visit, links)

    async def _length(self, rules: FacilityRules, kind: VisitKind, guests: list[GuestSpec]) -> int:
        """The facility's length for this kind, longer if any guest is a priority visitor."""
        length_s = rules.length_s.get(kind.value, 900)
        for guest in guests:
            visitor = await self._store.get_visitor(guest.visitor_id) if guest.visitor_id else None
            if visitor and visitor.priority:
                return length_s + rules.priority_extra_s
        return length_s

    async def cancel(self, visit_id: VisitId, actor: Actor, why: str = "") -> Visit:
        """Call off a visit that has not started; Conflict once it is live or over."""
        visit = await self._store.get_visit(visit_id)
        if visit is None:
            raise NotFound("no such visit")
        event = AuditEvent(
            "cancelled", actor.role, actor.id, visit.facility_id, visit_id, {"why": why[:200]}
        )
        return await self._store.change_visit(
            VisitChange(
                visit.id,
                VisitStatus.CANCELLED,
                frozenset({VisitStatus.SCHEDULED}),
                self._clock.now(),
                EndReason.CANCELLED,
            ),
            [event],
        )


def _scheduled_event(
    visit: Visit, guests: list[GuestSpec], actor: Actor, walk_in: bool = False
) -> AuditEvent:
    """What the log keeps of a new visit: when, where, for whom; guests by visitor id, not name.
    A walk-in is a ``scheduled`` event with ``walk_in: true`` (the one place it is recorded; the
    officer is the event's actor); other events do not carry the key."""
    details: dict[str, object] = {
        "kind": visit.kind.value,
        "start_ms": int(visit.start * 1000),
        "end_ms": int(visit.end * 1000),
        "terminal": visit.terminal_id,
        "inmate": visit.inmate_id,
        "guests": [{"role": g.role.value, "visitor": g.visitor_id or ""} for g in guests],
    }
    if walk_in:
        details["walk_in"] = True
    if visit.permission_ref:
        details["permission_ref"] = visit.permission_ref
    return AuditEvent("scheduled", actor.role, actor.id, visit.facility_id, visit.id, details)


def guest_links(visit: Visit) -> dict[ParticipantId, str]:
    """A fresh link secret for every seat but the terminal's (shown once, stored hashed)."""
    return {p.id: new_link_token() for p in visit.participants if p.role is not Role.TERMINAL}


def seats(visit_id: VisitId, terminal: str, guests: list[GuestSpec]) -> tuple[Participant, ...]:
    """The terminal's seat, then one per guest, each with a fresh participant id."""
    seats = [Participant(ParticipantId(new_id("p")), visit_id, Role.TERMINAL, terminal)]
    seats += [
        Participant(ParticipantId(new_id("p")), visit_id, g.role, g.name, g.visitor_id, g.contact)
        for g in guests
    ]
    return tuple(seats)


def _check_guests(kind: VisitKind, guests: list[GuestSpec]) -> None:
    roles = sorted(g.role.value for g in guests)
    wanted = sorted(r.value for r in SEATS[kind] if r is not Role.TERMINAL)
    if roles != wanted:
        raise BadRequest(f"a {kind.value} visit needs guests {wanted}, got {roles}")


def visit_json(visit: Visit, *, staff: bool = False) -> dict[str, object]:
    """A visit as the API shows it; participant names are masked unless the reader is staff."""
    return {
        "id": visit.id,
        "code": visit.code,
        "facility_id": visit.facility_id,
        "terminal_id": visit.terminal_id,
        "inmate_id": visit.inmate_id,
        "kind": visit.kind.value,
        "status": visit.status.value,
        "start_ms": int(visit.start * 1000),
        "end_ms": int(visit.end * 1000),
        "end_reason": visit.end_reason.value if visit.end_reason else None,
        "participants": [
            {"id": p.id, "role": p.role.value, "name": p.name if staff else mask(p.name, 1)}
            for p in visit.participants
        ],
    }
