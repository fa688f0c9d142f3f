"""One rule says when a visit is open: from ``early_join_s`` before its start until its end,
unless it ended, was cancelled or was rejected first."""

from __future__ import annotations

import dataclasses

import pytest

from services.domain.model import EndReason, VisitStatus
from services.domain.rules import check_not_over, check_open, is_open_yet, opens_at
from services.errors import VisitNotOpen, VisitOver
from tests.helpers.visit import VISIT

EARLY = 300.0


def test_a_visit_opens_early_join_before_its_start() -> None:
    """The window opens `early_join_s` before the start, not a moment sooner."""
    assert opens_at(VISIT, EARLY) == 9_700.0
    assert not is_open_yet(VISIT, 9_699.9, EARLY)
    assert is_open_yet(VISIT, 9_700.0, EARLY)
    check_open(VISIT, 9_700.0, EARLY)


def test_too_early_is_not_open_and_says_when_it_starts() -> None:
    """Before the window: VisitNotOpen, carrying the start for the waiting room."""
    with pytest.raises(VisitNotOpen) as raised:
        check_open(VISIT, 9_000.0, EARLY)
    assert raised.value.details == {"start_ms": 10_000_000}


def test_the_end_closes_it() -> None:
    """At its end a visit is over, open window or not; before, a link may still be used early."""
    check_not_over(VISIT, 0.0)
    for check in (lambda: check_not_over(VISIT, 10_900.0), lambda: check_open(VISIT, 11_000, 0)):
        with pytest.raises(VisitOver):
            check()


@pytest.mark.parametrize("status", [VisitStatus.ENDED, VisitStatus.CANCELLED, VisitStatus.REJECTED])
def test_an_ended_or_called_off_visit_is_over_with_its_reason(status: VisitStatus) -> None:
    """A visit ended, cancelled or rejected is over even within its time, and says why."""
    over = dataclasses.replace(VISIT, status=status, end_reason=EndReason.CANCELLED)
    with pytest.raises(VisitOver) as raised:
        check_open(over, 10_000.0, EARLY)
    assert raised.value.message == f"this visit is {status.value}"
    assert raised.value.details == {"reason": "cancelled"}
