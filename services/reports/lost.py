"""Time a visit lost to faults, by cause, from its audit events and when its node was down.

A pure function of the log (no store, no clock), fast enough to run over a month of visits.

- **Up**: media counts as up from the visit's `connected` until a side of the call leaves or the
  node goes down, and up again when every side that left is back, or, after the node was down,
  at the next `connected` (the node records it again once both sides say their media flows after
  the restart). While the node is down nobody can vouch for the media, nor can officers watch it,
  so that time is never counted as connected.
- **Gaps** between the first media-up and the scheduled end (or ``until_ms`` for a live visit) are
  lost time, by cause:
  - ``system``: the node was down (``node_downs``), the visit-room terminal was away, or the sides
    were back after a restart and media had not come up again;
  - ``family``: a family (or teacher) socket dropped while the terminal and the node were fine;
  - ``officer``: from a `terminated` to the scheduled end.
  System wins over family: when the node or the terminal is down, the visit cannot go on whatever
  the family does, and a node going down drops every socket, the family's included.
- Before the first media-up nothing is lost (a late start or a no-show is told by the end reason),
  except the time the node was down.
- A visit that ended early on a leave keeps losing to the cause of the gap it ended in until the
  scheduled end when the side that ended it was away (its reconnect grace ran out: a family that
  never came back after a drop, a terminal that stayed offline); a side that hung up on purpose
  (its `ended` while present) loses nothing after it.
"""

from __future__ import annotations

import bisect
import enum
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from services.audit.chain import AuditRecord
from services.audit.runs import NODE_STARTED
from services.domain.model import EndReason, Visit, VisitStatus

SIDES = frozenset({"family", "teacher", "terminal"})
BACK = frozenset({"joined", "reconnected"})
TROUBLE = frozenset({"left", "terminated"})
# Visits that were never to be held (not approved, or called off): they lose nothing.
NEVER_HELD = frozenset(
    {VisitStatus.REQUESTED, VisitStatus.APPROVED, VisitStatus.REJECTED, VisitStatus.CANCELLED}
)  # events without which a visit loses nothing


class Cause(enum.StrEnum):
    SYSTEM = "system"
    FAMILY = "family"
    OFFICER = "officer"


@dataclass(frozen=True, slots=True)
class Gap:
    """Media down from ``start_ms`` to ``end_ms``, lost to ``cause``."""

    start_ms: int
    end_ms: int
    cause: Cause

    def to_json(self) -> dict[str, object]:
        return {"start_ms": self.start_ms, "end_ms": self.end_ms, "cause": self.cause.value}


@dataclass(frozen=True, slots=True)
class VisitLoss:
    """A visit's scheduled time, its time with media up, and its lost time in gaps by cause."""

    scheduled_ms: int
    connected_ms: int
    gaps: tuple[Gap, ...]
    # The intervals media counted as up within the scheduled time (they sum to connected_ms).
    media: tuple[tuple[int, int], ...] = ()

    def lost_ms(self, cause: Cause) -> int:
        return sum(g.end_ms - g.start_ms for g in self.gaps if g.cause is cause)

    def lost_by_cause(self) -> dict[Cause, int]:
        return {cause: self.lost_ms(cause) for cause in Cause}

    def to_json(self) -> dict[str, object]:
        return {
            "scheduled_ms": self.scheduled_ms,
            "connected_ms": self.connected_ms,
            "lost_ms": {c.value: ms for c, ms in self.lost_by_cause().items()},
            "gaps": [g.to_json() for g in self.gaps],
        }


def node_downs(events: Sequence[AuditRecord]) -> list[tuple[int, int]]:
    """When the node was down, from its `node-started` events (oldest first): each names when
    the run before it last gave a sign of life (``down_from_ms``)."""
    out: list[tuple[int, int]] = []
    for event in events:
        if event.action != NODE_STARTED:
            continue
        since = _details(event).get("down_from_ms")
        if isinstance(since, int) and 0 < since < event.ts_ms:
            out.append((since, event.ts_ms))
    out.sort()
    return out


def _details(event: AuditRecord) -> dict[str, object]:
    try:
        data = orjson.loads(event.details)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def visit_loss(
    visit: Visit,
    events: Sequence[AuditRecord],
    node_downs: Sequence[tuple[int, int]],
    until_ms: int,
) -> VisitLoss:
    """The loss of one visit: ``events`` are its audit events oldest first, ``node_downs`` the
    sorted intervals its node was down, ``until_ms`` now (a live visit is judged so far)."""
    start_ms, end_ms = round(visit.start * 1000), round(visit.end * 1000)
    if visit.status in NEVER_HELD or visit.end_reason is EndReason.CANCELLED:
        return VisitLoss(end_ms - start_ms, 0, ())  # nothing was to happen: nothing lost
    horizon = min(end_ms, until_ms)
    downs = _downs_within(node_downs, start_ms, horizon)
    if not downs and not any(e.action in TROUBLE for e in events):
        return _smooth(start_ms, end_ms, horizon, events)
    walk = _Walk(start_ms)
    i = 0
    for event in sorted(events, key=_TS):  # seq order may differ by a few ms from time order
        if event.ts_ms > horizon or walk.ended_ms is not None:
            break
        while i < len(downs) and downs[i][0] < event.ts_ms:  # a down starts after the last
            # event of the run before it (its last sign of life may be that very event)
            walk.node(downs[i])
            i += 1
        walk.step(event)
    while walk.ended_ms is None and i < len(downs):
        walk.node(downs[i])
        i += 1
    walk.account(horizon)
    gaps = walk.gaps
    tail = walk.tail_cause(visit.end_reason)
    if tail is not None and walk.ended_ms is not None and walk.ended_ms < end_ms:
        gaps.append(Gap(walk.ended_ms, end_ms, tail))
    media = tuple(walk.media)
    return VisitLoss(end_ms - start_ms, walk.connected_ms, tuple(_merged(gaps)), media)


_TS = operator.attrgetter("ts_ms")


def _smooth(start_ms: int, end_ms: int, horizon: int, events: Sequence[AuditRecord]) -> VisitLoss:
    """Most visits: nobody left, no terminate, no node down. Media is up from its `connected`
    (or the start) to the end (or the horizon), and nothing is lost."""
    up = ended = None
    for event in events:
        if event.action == "connected" and up is None:
            up = event.ts_ms
        elif event.action == "ended":
            ended = event.ts_ms
            break
    stop = horizon if ended is None else min(ended, horizon)
    begun = 0 if up is None else max(up, start_ms)
    if up is None or stop <= begun:
        return VisitLoss(end_ms - start_ms, 0, ())
    return VisitLoss(end_ms - start_ms, stop - begun, (), ((begun, stop),))


def _downs_within(downs: Sequence[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    """The node-down intervals clipped to [lo, hi] (``downs`` sorted by start)."""
    first = max(bisect.bisect_left(downs, (lo, lo)) - 1, 0)
    out: list[tuple[int, int]] = []
    for a, b in downs[first:]:
        if a >= hi:
            break
        a, b = max(a, lo), min(b, hi)
        if a < b:
            out.append((a, b))
    return out


def _merged(gaps: list[Gap]) -> list[Gap]:
    """Gaps (in time order, as walked) with touching gaps of one cause joined, empty ones
    dropped."""
    out: list[Gap] = []
    for gap in gaps:
        if gap.end_ms <= gap.start_ms:
            continue
        if out and out[-1].cause is gap.cause and out[-1].end_ms >= gap.start_ms:
            last = out.pop()
            gap = Gap(last.start_ms, max(last.end_ms, gap.end_ms), gap.cause)
        out.append(gap)
    return out


class _Walk:
    """The visit's state walked through its events and its node's downs in time order; the
    time from ``t`` to each next change is counted as connected, lost, or neither."""

    __slots__ = (
        "t", "gaps", "connected_ms", "media", "ever_up", "media_said", "node_down", "seen", "away",
        "after_down", "ender", "terminated", "ended_ms",
    )  # fmt: skip

    def __init__(self, start_ms: int) -> None:
        self.t = start_ms  # nothing before the scheduled start counts
        self.gaps: list[Gap] = []
        self.connected_ms = 0
        self.media: list[tuple[int, int]] = []
        self.ever_up = False  # media came up once: from then on, down time is lost
        self.media_said = False  # `connected` heard since the node last came back
        self.node_down = False
        self.seen: set[str] = set()  # sides that ever joined
        self.away: dict[str, str] = {}  # side's id → role, for sides now away
        self.after_down: set[str] = set()  # sides not back since the node came back
        self.ender = ""  # who ended the visit
        self.terminated = False
        self.ended_ms: int | None = None

    @property
    def up(self) -> bool:
        return self.media_said and not self.node_down and not self.away and not self.after_down

    def account(self, to: int) -> None:
        """Count the time from ``t`` to ``to`` as it stands."""
        if to <= self.t or self.ended_ms is not None:
            return
        a, self.t = self.t, to
        if self.node_down:
            self.gaps.append(Gap(a, to, Cause.SYSTEM))
        elif self.up:
            self.connected_ms += to - a
            if self.media and self.media[-1][1] == a:
                a = self.media.pop()[0]
            self.media.append((a, to))
        elif self.ever_up:
            self.gaps.append(Gap(a, to, self._cause()))

    def _cause(self) -> Cause:
        """Why media is down while the node is up."""
        if self.after_down or "terminal" in self.away.values():
            return Cause.SYSTEM
        if self.away:
            return Cause.FAMILY
        return Cause.SYSTEM  # every side back after a restart, media not up again

    def node(self, down: tuple[int, int]) -> None:
        """The node was down from ``down[0]`` to ``down[1]``: every socket went with it."""
        self.account(down[0])
        self.node_down = True
        self.account(down[1])
        self.node_down = False
        self.media_said = False
        self.after_down = set(self.seen)
        self.away.clear()

    def step(self, event: AuditRecord) -> None:
        self.account(event.ts_ms)
        side, action = event.actor_role in SIDES, event.action
        if action == "connected":
            self.media_said = self.ever_up = True
            self.after_down.clear()  # both sides say so: they are back
        elif action == "left" and side:
            self.away[event.actor_id] = event.actor_role
        elif action in BACK and side:
            self.seen.add(event.actor_id)
            self.away.pop(event.actor_id, None)
            self.after_down.discard(event.actor_id)
        elif action == "terminated":
            self.terminated = True
        elif action == "ended":
            self.ended_ms, self.ender = event.ts_ms, event.actor_id

    def tail_cause(self, reason: EndReason | None) -> Cause | None:
        """Who loses the time from an early end to the scheduled end, if anyone."""
        if self.terminated or reason is EndReason.TERMINATED:
            return Cause.OFFICER
        if reason is not EndReason.HANGUP or not self.ever_up:
            return None
        if self.ender in self.after_down:
            return Cause.SYSTEM  # not back since the node was down
        role = self.away.get(self.ender)
        if role is None:
            return None  # hung up while present: on purpose
        return Cause.SYSTEM if role == "terminal" else Cause.FAMILY
