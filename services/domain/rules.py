"""When a visit is open: the one rule that the link exchange, the monitor seat, joining a room,
seating a terminal and terminating from the API all apply.

A visit opens ``early_join_s`` before its start (people gather in the waiting room) and closes at
its end, or earlier when it ends, is cancelled or is rejected. A link may be exchanged, and a
monitor seat taken, before the visit opens: the holder waits until it does.
"""

from __future__ import annotations

from services.domain.model import Visit, VisitStatus
from services.errors import VisitNotOpen, VisitOver, VisitUnderReview

OVER = frozenset({VisitStatus.ENDED, VisitStatus.CANCELLED, VisitStatus.REJECTED})


def opens_at(visit: Visit, early_join_s: float) -> float:
    """When the first participant may take a seat (epoch seconds)."""
    return visit.start - early_join_s


def is_open_yet(visit: Visit, now: float, early_join_s: float) -> bool:
    """Whether the visit's window has begun (it may be over already)."""
    return now >= opens_at(visit, early_join_s)


def check_not_over(visit: Visit, now: float) -> None:
    """VisitOver if the visit ended, was called off, or its time ran out."""
    if visit.status in OVER:
        raise VisitOver(f"this visit is {visit.status.value}", reason=visit.end_reason or "")
    if now >= visit.end:
        raise VisitOver("this visit's time is over")


def check_not_in_review(visit: Visit) -> None:
    """VisitUnderReview if the visit waits for an officer's review (its inmate left)."""
    if visit.review:
        raise VisitUnderReview("this visit waits for an officer's review; ask the facility")


def check_open(visit: Visit, now: float, early_join_s: float) -> None:
    """VisitOver as in ``check_not_over``; VisitNotOpen (with the start) before the window."""
    check_not_over(visit, now)
    if not is_open_yet(visit, now, early_join_s):
        raise VisitNotOpen("this visit has not opened yet", start_ms=int(visit.start * 1000))
