"""What the board is computed from: a day's visits as the store has them, and the live state
of visits and terminals as the node holding their sockets sees it (the ``LiveState`` seam)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.domain.model import Facility, Room, Terminal, Visit
from services.ids import FacilityId, TerminalId, VisitId


@dataclass(frozen=True, slots=True)
class VisitFacts:
    """One visit with what the board shows of its people, read in one query."""

    visit: Visit
    inmate_number: str
    inmate_name: str
    family_name: str  # the first guest's name ("" for none)
    family_nik: str  # the guest's registered visitor's NIK ("" when not registered)
    priority: bool  # a guest's visitor has the special-needs flag
    ready_ms: int | None  # when an officer marked the inmate as in the visit room
    inmate_block: str = ""  # where officers fetch the inmate from ("" when not known)


@dataclass(frozen=True, slots=True)
class DayFacts:
    """A facility's rooms, terminals and one day's visits, from the store."""

    facility: Facility
    rooms: tuple[Room, ...]
    terminals: tuple[Terminal, ...]
    visits: tuple[VisitFacts, ...]


@dataclass(frozen=True, slots=True)
class VisitLive:
    """A visit's sockets on the node that holds it: who is present, whether media came up, and
    since when a guest has been sitting in it."""

    terminal_present: bool
    guest_present: bool
    media_up: bool
    guest_since_ms: int | None  # when the present guest took its seat


@dataclass(frozen=True, slots=True)
class TerminalLive:
    """A visit-room terminal's device session."""

    online: bool
    last_seen_ms: int | None  # now while online; when its socket went, else (None: never here)
    visit_id: VisitId | None  # the visit it sits in now
    agent: str  # the agent version its hello reported ("" if none)


NO_VISIT_LIVE = VisitLive(False, False, False, None)
NEVER_SEEN = TerminalLive(False, None, None, "")


class LiveState(Protocol):
    """What the board asks of the node holding the live sessions (the signaling hub).

    Reads only, and cheap (dictionary lookups): a board of 200 visits asks 200 times.
    """

    def visit(self, visit_id: VisitId) -> VisitLive:
        """The visit's live state (``NO_VISIT_LIVE`` when nobody is in it here)."""
        ...

    def terminal(self, terminal_id: TerminalId) -> TerminalLive:
        """The terminal's session (``NEVER_SEEN`` when it has not connected to this node)."""
        ...


class BoardChanges(Protocol):
    """Where the places that change a visit's or a terminal's board state say so."""

    def visit_changed(self, facility_id: FacilityId, visit_id: VisitId) -> None: ...
    def terminal_changed(self, facility_id: FacilityId, terminal_id: TerminalId) -> None: ...


class NoChanges:
    """A ``BoardChanges`` that tells nobody (a hub without a board feed, as in some tests)."""

    def visit_changed(self, facility_id: FacilityId, visit_id: VisitId) -> None:
        return None

    def terminal_changed(self, facility_id: FacilityId, terminal_id: TerminalId) -> None:
        return None
