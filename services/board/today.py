"""The today board, computed: a pure function of the facts (store and live) and a time.

One place decides a visit's board state and the alerts; the API serialises what this returns,
and the feed sends the same rows, so the page never works a state out for itself. Time-based
alerts come with the moment they fall due (``ready_due_ms``, ``waiting_alert_ms``), so a page
can raise them between pushes without knowing the thresholds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from services.board.facts import DayFacts, LiveState, TerminalLive, VisitFacts, VisitLive
from services.domain.model import Terminal, VisitStatus
from services.domain.pii import mask

# A visit starting within this long whose inmate is not marked ready is an alert.
READY_LEAD_MS = 10 * 60_000
# A family waiting longer than this is an alert.
WAIT_ALERT_MS = 5 * 60_000


class BoardState(enum.StrEnum):
    """Where a visit stands on the board, in the order a day moves it along."""

    REQUESTED = "requested"  # waiting for an officer's approval
    SCHEDULED = "scheduled"
    INMATE_READY = "inmate_ready"  # an officer brought the inmate to the visit room
    FAMILY_WAITING = "family_waiting"  # a guest is in, the call is not up
    LIVE = "live"  # media came up; counts down to ``end_ms``
    ENDED = "ended"  # with ``end_reason``
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class AlertKind(enum.StrEnum):
    NOT_READY = "not_ready"  # starts within 10 min, inmate not marked ready
    FAMILY_WAITING = "family_waiting"  # a family has waited more than 5 min
    TERMINAL_OFFLINE = "terminal_offline"  # a visit-room terminal has no session


_CLOSED = {
    VisitStatus.REQUESTED: BoardState.REQUESTED,
    VisitStatus.REJECTED: BoardState.REJECTED,
    VisitStatus.CANCELLED: BoardState.CANCELLED,
    VisitStatus.ENDED: BoardState.ENDED,
}
# States in which a missing "ready" matters: the inmate is not known to be in the room.
_NEEDS_READY = frozenset({BoardState.SCHEDULED, BoardState.FAMILY_WAITING})


@dataclass(frozen=True, slots=True)
class VisitRow:
    """One visit on the board. Names as officers see them; the NIK masked (last 4 digits)."""

    id: str
    code: str
    room_id: str
    terminal_id: str
    kind: str
    start_ms: int
    end_ms: int
    state: BoardState
    end_reason: str | None
    priority: bool
    review: bool
    inmate_number: str
    inmate_name: str
    inmate_block: str  # the cell block, for the printed schedule ("" when not known)
    family_name: str
    family_nik: str
    terminal_present: bool
    family_present: bool
    ready_ms: int | None
    family_waiting_since_ms: int | None
    ready_due_ms: int | None  # from then on, a missing "ready" is an alert (None: cannot be)
    waiting_alert_ms: int | None  # from then on, the family's wait is an alert


@dataclass(frozen=True, slots=True)
class TerminalRow:
    """A visit-room terminal and its device session."""

    id: str
    name: str
    room_id: str
    online: bool
    last_seen_ms: int | None
    visit_id: str | None
    agent: str


@dataclass(frozen=True, slots=True)
class RoomRow:
    id: str
    name: str
    terminals: tuple[TerminalRow, ...]


@dataclass(frozen=True, slots=True)
class Alert:
    """Something an officer should act on; ``since_ms`` is when it began (None: unknown)."""

    kind: AlertKind
    visit_id: str | None
    terminal_id: str | None
    since_ms: int | None


@dataclass(frozen=True, slots=True)
class FacilityInfo:
    id: str
    name: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Board:
    """A facility's day: rooms with their terminals, every visit of the day, and the alerts."""

    facility: FacilityInfo
    date: str  # YYYY-MM-DD, in the facility's time zone
    now_ms: int
    rooms: tuple[RoomRow, ...]
    visits: tuple[VisitRow, ...]
    alerts: tuple[Alert, ...]


def visit_state(facts: VisitFacts, live: VisitLive) -> BoardState:
    """The board state of one visit: its record first, then who is in it, then "ready"."""
    closed = _CLOSED.get(facts.visit.status)
    if closed is not None:
        return closed
    if live.media_up:
        return BoardState.LIVE
    if live.guest_present:
        return BoardState.FAMILY_WAITING
    if facts.ready_ms is not None:
        return BoardState.INMATE_READY
    return BoardState.SCHEDULED


def visit_row(facts: VisitFacts, live: VisitLive) -> VisitRow:
    """One visit as the board shows it."""
    visit = facts.visit
    state = visit_state(facts, live)
    start_ms, end_ms = int(visit.start * 1000), int(visit.end * 1000)
    waiting = state is BoardState.FAMILY_WAITING
    since = live.guest_since_ms if waiting else None
    needs_ready = state in _NEEDS_READY and facts.ready_ms is None
    return VisitRow(
        id=visit.id,
        code=visit.code,
        room_id=visit.room_id,
        terminal_id=visit.terminal_id,
        kind=visit.kind.value,
        start_ms=start_ms,
        end_ms=end_ms,
        state=state,
        end_reason=visit.end_reason.value if visit.end_reason else None,
        priority=facts.priority,
        review=visit.review,
        inmate_number=facts.inmate_number,
        inmate_name=facts.inmate_name,
        inmate_block=facts.inmate_block,
        family_name=facts.family_name,
        family_nik=mask(facts.family_nik),
        terminal_present=live.terminal_present,
        family_present=live.guest_present,
        ready_ms=facts.ready_ms,
        family_waiting_since_ms=since,
        ready_due_ms=start_ms - READY_LEAD_MS if needs_ready else None,
        waiting_alert_ms=since + WAIT_ALERT_MS if since is not None else None,
    )


def terminal_row(terminal: Terminal, live: TerminalLive) -> TerminalRow:
    return TerminalRow(
        id=terminal.id,
        name=terminal.name,
        room_id=terminal.room_id,
        online=live.online,
        last_seen_ms=live.last_seen_ms,
        visit_id=live.visit_id,
        agent=live.agent,
    )


def alerts(
    visits: Iterable[VisitRow], terminals: Iterable[TerminalRow], now_ms: int
) -> tuple[Alert, ...]:
    """What needs an officer at ``now_ms``: inmates not ready for visits about to start,
    families kept waiting, terminals offline."""
    out: list[Alert] = []
    for row in visits:
        due = row.ready_due_ms
        if due is not None and due <= now_ms < row.end_ms:
            out.append(Alert(AlertKind.NOT_READY, row.id, row.terminal_id, due))
        waiting = row.waiting_alert_ms
        if waiting is not None and waiting < now_ms:
            since = row.family_waiting_since_ms
            out.append(Alert(AlertKind.FAMILY_WAITING, row.id, row.terminal_id, since))
    for terminal in terminals:
        if not terminal.online:
            kind = AlertKind.TERMINAL_OFFLINE
            out.append(Alert(kind, terminal.visit_id, terminal.id, terminal.last_seen_ms))
    return tuple(out)


def compute(day: DayFacts, date: str, live: LiveState, now_ms: int) -> Board:
    """The board of one facility's day at ``now_ms``."""
    terminals = [terminal_row(t, live.terminal(t.id)) for t in day.terminals]
    by_room: dict[str, list[TerminalRow]] = {}
    for row in terminals:
        by_room.setdefault(row.room_id, []).append(row)
    rooms = tuple(RoomRow(r.id, r.name, tuple(by_room.get(r.id, ()))) for r in day.rooms)
    visits = tuple(visit_row(v, live.visit(v.visit.id)) for v in day.visits)
    facility = day.facility
    return Board(
        facility=FacilityInfo(facility.id, facility.name, facility.timezone),
        date=date,
        now_ms=now_ms,
        rooms=rooms,
        visits=visits,
        alerts=alerts(visits, terminals, now_ms),
    )
