"""Time lost to faults, by cause, from a visit's audit events and its node's downs: each cause,
their precedence, a no-show's leading gap, ends early and on time, and node downs read from the
log's `node-started` events."""

from __future__ import annotations

import dataclasses
import time

import orjson

from services.audit.chain import AuditRecord
from services.domain.model import EndReason, Visit, VisitKind, VisitStatus
from services.ids import FacilityId, InmateId, RoomId, TerminalId, VisitId
from services.reports.lost import Cause, Gap, VisitLoss, node_downs, visit_loss

T0 = 1_780_000_000_000  # the scheduled start, ms
MIN = 60_000
TERM, FAM = "p_term", "p_fam"


def _visit(minutes: int = 15, reason: EndReason | None = None) -> Visit:
    return Visit(
        id=VisitId("v_1"),
        code="ABC",
        facility_id=FacilityId("f_1"),
        room_id=RoomId("r_1"),
        terminal_id=TerminalId("t_1"),
        inmate_id=InmateId("i_1"),
        kind=VisitKind.REGULAR,
        status=VisitStatus.ENDED if reason else VisitStatus.LIVE,
        start=T0 / 1000,
        end=(T0 + minutes * MIN) / 1000,
        end_reason=reason,
    )


def _ev(
    minute: float, action: str, role: str = "", pid: str = "", **details: object
) -> AuditRecord:
    return AuditRecord(
        seq=0,
        ts_ms=T0 + round(minute * MIN),
        facility_id="f_1",
        visit_id="v_1",
        actor_role=role or "system",
        actor_id=pid or "node-1",
        action=action,
        details=orjson.dumps(details).decode(),
        prev_hash="",
        hash="",
    )


def _start(at: float = 0) -> list[AuditRecord]:
    return [
        _ev(at, "joined", "terminal", TERM),
        _ev(at, "joined", "family", FAM),
        _ev(at, "connected", "family", FAM),
    ]


def _mins(loss: VisitLoss) -> dict[str, float]:
    return {c.value: ms / MIN for c, ms in loss.lost_by_cause().items()}


def _end(minute: float, reason: str) -> AuditRecord:
    return _ev(minute, "ended", reason=reason)


def test_a_clean_visit_loses_nothing() -> None:
    """Media up from the start to the scheduled end: all connected, no gaps."""
    events = [*_start(), _end(15, "completed")]
    loss = visit_loss(_visit(reason=EndReason.COMPLETED), events, [], T0 + 20 * MIN)
    assert loss.scheduled_ms == 15 * MIN and loss.connected_ms == 15 * MIN
    assert loss.gaps == ()


def test_family_drop_is_family_loss() -> None:
    """The family's socket drops for 3 minutes while the terminal and node are fine."""
    events = [
        *_start(),
        _ev(5, "left", "family", FAM, reason="dropped"),
        _ev(8, "reconnected", "family", FAM),
        _end(15, "completed"),
    ]
    loss = visit_loss(_visit(reason=EndReason.COMPLETED), events, [], T0 + 20 * MIN)
    assert loss.gaps == (Gap(T0 + 5 * MIN, T0 + 8 * MIN, Cause.FAMILY),)
    assert _mins(loss) == {"system": 0, "family": 3, "officer": 0}
    assert loss.connected_ms == 12 * MIN


def test_terminal_offline_is_system_loss() -> None:
    """The visit-room terminal drops for 2 minutes: system."""
    events = [
        *_start(),
        _ev(4, "left", "terminal", TERM, reason="dropped"),
        _ev(6, "reconnected", "terminal", TERM),
        _end(15, "completed"),
    ]
    loss = visit_loss(_visit(reason=EndReason.COMPLETED), events, [], T0 + 20 * MIN)
    assert _mins(loss) == {"system": 2, "family": 0, "officer": 0}


def test_node_down_is_system_until_media_is_said_again() -> None:
    """The node is down minutes 5–7 (no `left` written: it was killed); the sides come back at 7.5
    and media is said again at 8: 3 minutes of system loss, though the sides came back sooner."""
    events = [
        *_start(),
        _ev(7.5, "reconnected", "terminal", TERM),
        _ev(7.5, "reconnected", "family", FAM),
        _ev(8, "connected", "terminal", TERM),
        _end(15, "completed"),
    ]
    downs = [(T0 + 5 * MIN, T0 + 7 * MIN)]
    loss = visit_loss(_visit(reason=EndReason.COMPLETED), events, downs, T0 + 20 * MIN)
    assert loss.gaps == (Gap(T0 + 5 * MIN, T0 + 8 * MIN, Cause.SYSTEM),)
    assert loss.connected_ms == 12 * MIN


def test_system_wins_over_family_when_they_overlap() -> None:
    """The family drops at 3; the terminal goes offline 4–6 too: 4–6 is system (the visit could
    not go on whatever the family did), the rest of the family's absence, 3–4 and 6–7, family."""
    events = [
        *_start(),
        _ev(3, "left", "family", FAM, reason="dropped"),
        _ev(4, "left", "terminal", TERM, reason="dropped"),
        _ev(6, "reconnected", "terminal", TERM),
        _ev(7, "reconnected", "family", FAM),
        _end(15, "completed"),
    ]
    loss = visit_loss(_visit(reason=EndReason.COMPLETED), events, [], T0 + 20 * MIN)
    assert [(g.cause.value, (g.start_ms - T0) / MIN, (g.end_ms - T0) / MIN) for g in loss.gaps] == [
        ("family", 3, 4),
        ("system", 4, 6),
        ("family", 6, 7),
    ]


def test_a_node_down_during_a_family_drop_is_system() -> None:
    """Node down 4–6 while the family was already away from 3: 4 until media is said again is
    system, only 3–4 family."""
    events = [
        *_start(),
        _ev(3, "left", "family", FAM, reason="dropped"),
        _ev(6.5, "reconnected", "terminal", TERM),
        _ev(6.5, "reconnected", "family", FAM),
        _ev(7, "connected", "family", FAM),
        _end(15, "completed"),
    ]
    downs = [(T0 + 4 * MIN, T0 + 6 * MIN)]
    loss = visit_loss(_visit(reason=EndReason.COMPLETED), events, downs, T0 + 20 * MIN)
    assert _mins(loss) == {"system": 3, "family": 1, "officer": 0}


def test_terminate_loses_the_rest_to_officer() -> None:
    """An officer terminates at minute 10 of 15: 5 minutes lost to officer."""
    events = [
        *_start(),
        _ev(10, "terminated", "officer", "s_off", note=""),
        _ev(10, "ended", "officer", "s_off", reason="terminated"),
    ]
    loss = visit_loss(_visit(reason=EndReason.TERMINATED), events, [], T0 + 10 * MIN)
    assert loss.gaps == (Gap(T0 + 10 * MIN, T0 + 15 * MIN, Cause.OFFICER),)
    assert loss.connected_ms == 10 * MIN


def test_nobody_joined_is_a_no_show_not_loss() -> None:
    """A visit nobody came to (ended no_show) loses nothing: its end reason says it."""
    events = [_ev(10, "ended", reason="no_show")]
    loss = visit_loss(_visit(reason=EndReason.NO_SHOW), events, [], T0 + 20 * MIN)
    assert loss.gaps == () and loss.connected_ms == 0


def test_a_late_start_is_not_loss_but_a_node_down_at_the_start_is() -> None:
    """Media came up at minute 4: no loss for a late family; but minutes 0–2 with the node
    down are system loss (nobody could have joined)."""
    late = [*_start(4), _end(15, "completed")]
    assert visit_loss(_visit(reason=EndReason.COMPLETED), late, [], T0 + 20 * MIN).gaps == ()
    downs = [(T0 - 5 * MIN, T0 + 2 * MIN)]
    loss = visit_loss(_visit(reason=EndReason.COMPLETED), late, downs, T0 + 20 * MIN)
    assert loss.gaps == (Gap(T0, T0 + 2 * MIN, Cause.SYSTEM),)


def test_a_family_that_never_came_back_loses_to_the_end() -> None:
    """The family drops at 9 and is not back within the grace (ended hangup at 10): 9–15 is
    family; a family that hung up on purpose (its `ended` while present) loses nothing."""
    dropped = [
        *_start(),
        _ev(9, "left", "family", FAM, reason="dropped"),
        _ev(10, "ended", "family", FAM, reason="hangup"),
    ]
    loss = visit_loss(_visit(reason=EndReason.HANGUP), dropped, [], T0 + 20 * MIN)
    assert _mins(loss) == {"system": 0, "family": 6, "officer": 0}
    left = [*_start(), _ev(9, "ended", "family", FAM, reason="hangup")]
    assert visit_loss(_visit(reason=EndReason.HANGUP), left, [], T0 + 20 * MIN).gaps == ()


def test_terminal_that_never_came_back_is_system_to_the_end() -> None:
    """The terminal goes offline at 12 and the visit ends hangup at 13: 12–15 is system."""
    events = [
        *_start(),
        _ev(12, "left", "terminal", TERM, reason="dropped"),
        _ev(13, "ended", "terminal", TERM, reason="hangup"),
    ]
    loss = visit_loss(_visit(reason=EndReason.HANGUP), events, [], T0 + 20 * MIN)
    assert _mins(loss) == {"system": 3, "family": 0, "officer": 0}


def test_a_live_visit_is_judged_until_now() -> None:
    """A live visit whose family is away since 5, judged at 7: 2 minutes so far, nothing later."""
    events = [*_start(), _ev(5, "left", "family", FAM, reason="dropped")]
    loss = visit_loss(_visit(), events, [], T0 + 7 * MIN)
    assert _mins(loss) == {"system": 0, "family": 2, "officer": 0}
    assert loss.connected_ms == 5 * MIN


def test_node_downs_are_read_from_node_started_events() -> None:
    """Each `node-started` names when its previous run last lived: that interval, in order;
    a first start (no previous run) is none."""
    events = [
        _ev(0, "node-started", down_from_ms=None),
        _ev(9, "node-started", down_from_ms=T0 + 7 * MIN, crashed=True),
        _ev(3, "node-started", down_from_ms=T0 + 2 * MIN, crashed=False),
    ]
    assert node_downs(events) == [(T0 + 2 * MIN, T0 + 3 * MIN), (T0 + 7 * MIN, T0 + 9 * MIN)]


def test_a_month_of_visits_is_fast() -> None:
    """100,000 visits, one in ten troubled (drops of both sides, node downs around), judged within
    2 s of CPU: the monthly report's whole budget is 5 s."""
    visit = _visit(reason=EndReason.COMPLETED)
    smooth = [*_start(), _end(15, "completed")]
    troubled = [
        *_start(),
        _ev(3, "left", "family", FAM, reason="dropped"),
        _ev(4, "reconnected", "family", FAM),
        _ev(6, "left", "terminal", TERM, reason="dropped"),
        _ev(7, "reconnected", "terminal", TERM),
        _end(15, "completed"),
    ]
    downs = [(T0 + (30 * k + 20) * MIN, T0 + (30 * k + 21) * MIN) for k in range(-500, 500)]
    began = time.process_time()  # CPU time: the other processes on the machine aside
    for n in range(100_000):
        visit_loss(visit, troubled if n % 10 == 0 else smooth, downs, T0 + 20 * MIN)
    assert time.process_time() - began < 2.0


def test_a_terminate_during_a_system_gap_splits_it() -> None:
    """The terminal is offline from 6 and an officer terminates at 8: 6–8 is system, and the
    rest of the scheduled time, 8–15, officer."""
    events = [
        *_start(),
        _ev(6, "left", "terminal", TERM, reason="dropped"),
        _ev(8, "terminated", "officer", "s_off", note=""),
        _ev(8, "ended", "officer", "s_off", reason="terminated"),
    ]
    loss = visit_loss(_visit(reason=EndReason.TERMINATED), events, [], T0 + 20 * MIN)
    assert _mins(loss) == {"system": 2, "family": 0, "officer": 7}


def test_events_out_of_time_order_are_walked_in_time_order() -> None:
    """Background writes may land a few ms out of time order in the log: the walk sorts them."""
    events = [
        *_start(),
        _ev(8, "reconnected", "family", FAM),
        _ev(5, "left", "family", FAM, reason="dropped"),
        _end(15, "completed"),
    ]
    loss = visit_loss(_visit(reason=EndReason.COMPLETED), events, [], T0 + 20 * MIN)
    assert _mins(loss) == {"system": 0, "family": 3, "officer": 0}


def test_media_up_intervals_show_the_gaps() -> None:
    """Media is up from `connected` until a side leaves, up again once every side is back, and
    down at the end; an officer's coming and going changes nothing; the intervals sum to the
    connected time."""
    events = [
        _ev(0, "joined", "family", FAM),
        _ev(0.5, "joined", "terminal", TERM),
        _ev(1, "connected", "family", FAM),
        _ev(2, "monitor-joined", "officer", "s1"),
        _ev(3, "left", "officer", "s1", reason="left"),
        _ev(5, "left", "family", FAM, reason="dropped"),
        _ev(5.5, "left", "terminal", TERM, reason="dropped"),
        _ev(6, "reconnected", "family", FAM),
        _ev(7, "reconnected", "terminal", TERM),
        _end(12, "completed"),
    ]
    loss = visit_loss(_visit(reason=EndReason.COMPLETED), events, [], T0 + 20 * MIN)
    assert loss.media == ((T0 + MIN, T0 + 5 * MIN), (T0 + 7 * MIN, T0 + 12 * MIN))
    assert loss.connected_ms == sum(b - a for a, b in loss.media) == 9 * MIN
    smooth = visit_loss(
        _visit(reason=EndReason.COMPLETED), [*_start(2), _end(9, "completed")], [], T0 + 20 * MIN
    )
    assert smooth.media == ((T0 + 2 * MIN, T0 + 9 * MIN),) and smooth.connected_ms == 7 * MIN


def test_a_visit_never_held_loses_nothing_to_a_node_down() -> None:
    """A cancelled (or never approved) visit whose time the node was down in loses nothing; a
    scheduled one loses the down time."""
    downs = [(T0 + 2 * MIN, T0 + 4 * MIN)]
    for status in (VisitStatus.CANCELLED, VisitStatus.REQUESTED, VisitStatus.REJECTED):
        visit = dataclasses.replace(_visit(), status=status)
        assert visit_loss(visit, [], downs, T0 + 20 * MIN).gaps == ()
    scheduled = dataclasses.replace(_visit(), status=VisitStatus.SCHEDULED)
    assert _mins(visit_loss(scheduled, [], downs, T0 + 20 * MIN))["system"] == 2
