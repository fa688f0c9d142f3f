"""Walk-in visits: a family at the gate (turned away for a missing ID card, clothing against the
rules, or simply come without booking) is seated by an officer in a room free now.

A room is free for a walk-in when its terminal is online (the live side says so), nothing booked
in it shares time with the facility's regular length from now (the same ``booked_slots`` read the
booking calendar uses, so a pending request holds its room here too), and no emergency closure
covers that time. The visit is scheduled through ``VisitService`` with its ``scheduled`` audit
event marked ``walk_in``; the store's insert refuses a terminal booked meanwhile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.board.today import TerminalRow
from services.booking.decisions import permission_ref
from services.booking.identity import normalize_name, normalize_phone
from services.booking.scheduling import GuestSpec, ScheduledVisit, VisitService
from services.booking.slots import Closure, Slot
from services.clock import Clock
from services.domain.model import Facility, Inmate, Role, Room, Terminal, VisitKind
from services.errors import Conflict, NotFound
from services.ids import Actor, InmateId, TerminalId

# Inmates a search answers at most: a console's pick list, not an export.
SEARCH_LIMIT = 20


def walk_in_length_s(facility: Facility) -> int:
    """How long a walk-in lasts: the facility's regular visit."""
    return facility.rules.length_s.get(VisitKind.REGULAR.value, 900)


class WalkInReads(Protocol):
    """The store roles a walk-in reads."""

    async def bookable_terminals(self, facility_id: str) -> list[Terminal]: ...
    async def get_room(self, room_id: str) -> Room | None: ...
    async def get_inmate(self, inmate_id: str) -> Inmate | None: ...
    async def search_inmates(self, facility_id: str, text: str, limit: int) -> list[Inmate]: ...
    async def booked_slots(
        self, room_ids: Sequence[str], start_ms: int, end_ms: int
    ) -> list[Slot]: ...
    async def closures(self, facility_id: str, start_ms: int, end_ms: int) -> list[Closure]: ...


class TerminalStates(Protocol):
    """Whether a terminal is online now, as the board shows it (``services.board.rows``)."""

    async def terminal(self, terminal_id: TerminalId) -> TerminalRow | None: ...


@dataclass(frozen=True, slots=True)
class WalkInRoom:
    """A visit room and whether a walk-in may start in it now (``free``); if not, why:
    its terminal is offline, a visit is booked in it until ``busy_until_ms``, or a closure."""

    room_id: str
    room_name: str
    terminal_id: str
    terminal_name: str
    online: bool
    busy_until_ms: int | None
    closed: bool
    free: bool


@dataclass(frozen=True, slots=True)
class WalkInVisitor:
    """The visitor as the officer typed them: a name, and a mobile number if they gave one."""

    name: str
    phone: str = ""
    permission_ref: str = ""  # a remand inmate's: the detaining authority's letter number


class WalkIns:
    """The rooms free now, the inmates to pick from, and the walk-in started."""

    def __init__(
        self, store: WalkInReads, visits: VisitService, live: TerminalStates, clock: Clock
    ) -> None:
        self._store = store
        self._visits = visits
        self._live = live
        self._clock = clock

    async def inmates(self, facility: Facility, text: str) -> list[Inmate]:
        """Inmates of ``facility`` whose number or name contains ``text``; those released or
        transferred are left out (nobody to visit)."""
        found = await self._store.search_inmates(facility.id, text.strip(), SEARCH_LIMIT)
        return [inmate for inmate in found if not inmate.status.gone]

    async def rooms(self, facility: Facility) -> list[WalkInRoom]:
        """Every visit room of ``facility`` with its terminal, and whether it is free now."""
        start_ms = int(self._clock.now() * 1000)
        end_ms = start_ms + walk_in_length_s(facility) * 1000
        terminals = await self._store.bookable_terminals(facility.id)
        booked = await self._store.booked_slots([t.room_id for t in terminals], start_ms, end_ms)
        closed = bool(await self._store.closures(facility.id, start_ms, end_ms))
        out = []
        for terminal in terminals:
            room = await self._store.get_room(terminal.room_id)
            ends = [b.end_ms for b in booked if b.room_id == terminal.room_id]
            state = await self._live.terminal(terminal.id)
            online = state is not None and state.online
            busy_until = max(ends) if ends else None
            out.append(
                WalkInRoom(
                    room_id=terminal.room_id,
                    room_name=room.name if room else terminal.room_id,
                    terminal_id=terminal.id,
                    terminal_name=terminal.name,
                    online=online,
                    busy_until_ms=busy_until,
                    closed=closed,
                    free=online and busy_until is None and not closed,
                )
            )
        return out

    async def start(
        self,
        facility: Facility,
        terminal_id: TerminalId,
        inmate_id: InmateId,
        visitor: WalkInVisitor,
        actor: Actor,
    ) -> ScheduledVisit:
        """A regular visit from now in the terminal's room for ``inmate_id`` with ``visitor``.

        NotFound for a terminal or inmate not of ``facility``; Conflict, saying why, when the
        room is not free now or the inmate is gone; BadRequest for a bad name or phone, or a
        remand inmate's visit without the detaining authority's letter number."""
        name = normalize_name(visitor.name, "visitor_name")
        phone = normalize_phone(visitor.phone, "phone") if visitor.phone.strip() else None
        inmate = await self._store.get_inmate(inmate_id)
        if inmate is None or inmate.facility_id != facility.id:
            raise NotFound("no such inmate in this facility")
        if inmate.status.gone:
            raise Conflict(
                f"the inmate is {inmate.status.value}: no visit can start", reason="inmate_gone"
            )
        ref = permission_ref(visitor.permission_ref, inmate)
        room = next((r for r in await self.rooms(facility) if r.terminal_id == terminal_id), None)
        if room is None:
            raise NotFound("no such visit room in this facility")
        if not room.free:
            reason, message = _why_not_free(room)
            raise Conflict(message, room=room.room_id, reason=reason)
        try:
            return await self._visits.schedule(
                terminal_id=terminal_id,
                inmate_id=inmate.id,
                kind=VisitKind.REGULAR,
                start=self._clock.now(),
                guests=[GuestSpec(Role.FAMILY, name, contact=phone)],
                actor=actor,
                length_s=walk_in_length_s(facility),
                walk_in=True,
                permission_ref=ref,
            )
        except Conflict as exc:  # booked between the look and the insert (the store's check)
            booked = dataclasses.replace(room, busy_until_ms=0, free=False)
            reason, message = _why_not_free(booked)
            raise Conflict(message, room=room.room_id, reason=reason) from exc


def _why_not_free(room: WalkInRoom) -> tuple[str, str]:
    """Why the room picked is not free now: a reason code (the console's text) and a message."""
    if room.closed:
        return "closed", "no free room: the facility is closed for visits now (emergency closure)"
    if not room.online:
        return "offline", f"no free room: the terminal of {room.room_name} is offline"
    return "booked", f"no free room: {room.room_name} is booked for a visit in the next minutes"
