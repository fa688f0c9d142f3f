"""A visit's timeline drawn from its audit events: when media was up, so that gaps show.

``connected`` is logged when both sides' media first flows; a side's ``left`` (dropped or gone)
takes it down, and the visit is up again once every side that left is back (``reconnected`` or
``joined``); ``ended`` closes it. Officers watching come and go without touching the media.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.audit.chain import AuditRecord

# Whose leaving takes the visit's media down: the sides of the call, not a monitoring officer.
SIDES = frozenset({"family", "teacher", "terminal"})
BACK = frozenset({"joined", "reconnected"})
OVER = frozenset({"ended", "terminated"})


@dataclass(frozen=True, slots=True)
class Interval:
    """Media up from ``start_ms`` to ``end_ms``."""

    start_ms: int
    end_ms: int


def media_intervals(events: Iterable[AuditRecord], until_ms: int) -> list[Interval]:
    """The intervals media was up, in order; one still open at the last event ends at
    ``until_ms`` (the visit's end, or now for a visit still live)."""
    out: list[Interval] = []
    started: int | None = None  # start of the interval now open
    connected = False
    away: set[str] = set()
    for event in events:
        if event.action == "connected":
            connected = True
            started = event.ts_ms if started is None else started
        elif event.action == "left" and event.actor_role in SIDES:
            away.add(event.actor_id)
            if started is not None:
                out.append(Interval(started, event.ts_ms))
                started = None
        elif event.action in BACK and event.actor_role in SIDES:
            away.discard(event.actor_id)
            if connected and not away and started is None:
                started = event.ts_ms
        elif event.action in OVER:
            if started is not None:
                out.append(Interval(started, event.ts_ms))
            started = None
            connected = False
    if started is not None and until_ms > started:
        out.append(Interval(started, until_ms))
    return out
