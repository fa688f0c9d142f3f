"""The board computed (``services.board.today``): a pure function, tested on hand-made facts."""

from __future__ import annotations

import dataclasses

import pytest

from services.board.facts import NO_VISIT_LIVE, TerminalLive, VisitFacts, VisitLive
from services.board.today import (
    READY_LEAD_MS,
    WAIT_ALERT_MS,
    AlertKind,
    BoardState,
    alerts,
    terminal_row,
    visit_row,
    visit_state,
)
from services.domain.model import EndReason, Terminal, Visit, VisitKind, VisitStatus
from services.ids import FacilityId, InmateId, RoomId, TerminalId, VisitId

START_MS = 1_800_000_000_000
END_MS = START_MS + 900_000


def facts(status: VisitStatus = VisitStatus.SCHEDULED, ready_ms: int | None = None) -> VisitFacts:
    visit = Visit(
        id=VisitId("v1"),
        code="ABC123",
        facility_id=FacilityId("f1"),
        room_id=RoomId("r1"),
        terminal_id=TerminalId("t1"),
        inmate_id=InmateId("i1"),
        kind=VisitKind.REGULAR,
        status=status,
        start=START_MS / 1000,
        end=END_MS / 1000,
        end_reason=EndReason.HANGUP if status is VisitStatus.ENDED else None,
    )
    return VisitFacts(visit, "B-1", "Budi", "Siti", "3201234567890123", True, ready_ms)


WAITING = VisitLive(terminal_present=False, guest_present=True, media_up=False, guest_since_ms=5)
LIVE = VisitLive(terminal_present=True, guest_present=True, media_up=True, guest_since_ms=5)


@pytest.mark.parametrize(
    ("status", "ready", "live", "state"),
    [
        (VisitStatus.REQUESTED, None, NO_VISIT_LIVE, BoardState.REQUESTED),
        (VisitStatus.REJECTED, None, NO_VISIT_LIVE, BoardState.REJECTED),
        (VisitStatus.APPROVED, None, NO_VISIT_LIVE, BoardState.SCHEDULED),
        (VisitStatus.SCHEDULED, None, NO_VISIT_LIVE, BoardState.SCHEDULED),
        (VisitStatus.SCHEDULED, 1, NO_VISIT_LIVE, BoardState.INMATE_READY),
        (VisitStatus.SCHEDULED, 1, WAITING, BoardState.FAMILY_WAITING),
        (VisitStatus.LIVE, 1, LIVE, BoardState.LIVE),
        (VisitStatus.LIVE, None, LIVE, BoardState.LIVE),
        (VisitStatus.ENDED, 1, LIVE, BoardState.ENDED),  # the record wins over a stale room
        (VisitStatus.CANCELLED, None, WAITING, BoardState.CANCELLED),
    ],
)
def test_a_visits_board_state(
    status: VisitStatus, ready: int | None, live: VisitLive, state: BoardState
) -> None:
    """The record decides first, then media, then a guest in the room, then "ready"."""
    assert visit_state(facts(status, ready), live) is state


def test_the_row_masks_the_nik_and_names_the_alert_moments() -> None:
    """The NIK shows its last 4 digits; a missing ready falls due 10 minutes before the start,
    a wait 5 minutes after the guest sat down."""
    row = visit_row(facts(), WAITING)
    assert row.family_nik == "************0123"
    assert row.ready_due_ms == START_MS - READY_LEAD_MS
    assert row.family_waiting_since_ms == 5
    assert row.waiting_alert_ms == 5 + WAIT_ALERT_MS
    assert row.priority is True
    ready = visit_row(facts(ready_ms=1), NO_VISIT_LIVE)
    assert ready.ready_due_ms is None and ready.waiting_alert_ms is None


def test_not_ready_is_an_alert_from_ten_minutes_before_the_start_to_the_end() -> None:
    row = visit_row(facts(), NO_VISIT_LIVE)
    due = START_MS - READY_LEAD_MS
    assert alerts([row], [], due - 1) == ()
    assert [a.kind for a in alerts([row], [], due)] == [AlertKind.NOT_READY]
    assert [a.kind for a in alerts([row], [], END_MS - 1)] == [AlertKind.NOT_READY]
    assert alerts([row], [], END_MS) == ()
    live = visit_row(facts(VisitStatus.LIVE), LIVE)
    assert alerts([live], [], START_MS) == ()  # on the call: the inmate is there


def test_a_family_waiting_is_an_alert_after_five_minutes() -> None:
    row = visit_row(facts(ready_ms=1), WAITING)
    assert alerts([row], [], 5 + WAIT_ALERT_MS) == ()
    (alert,) = alerts([row], [], 5 + WAIT_ALERT_MS + 1)
    assert (alert.kind, alert.visit_id, alert.since_ms) == (AlertKind.FAMILY_WAITING, "v1", 5)


def test_an_offline_terminal_is_an_alert() -> None:
    terminal = Terminal(TerminalId("t1"), FacilityId("f1"), RoomId("r1"), "PC 1", "")
    online = terminal_row(terminal, TerminalLive(True, 10, VisitId("v1"), "tatap-terminal/1"))
    assert alerts([], [online], 20) == ()
    offline = dataclasses.replace(online, online=False, visit_id=None)
    (alert,) = alerts([], [offline], 20)
    assert (alert.kind, alert.terminal_id, alert.since_ms) == (AlertKind.TERMINAL_OFFLINE, "t1", 10)
