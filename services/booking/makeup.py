"""Make-up visits offered at once: a background task per node that follows the audit log.

A facility may set a rule (``BookingPolicy.makeup_after_min``): a visit that lost more than
that many minutes to system faults (``services.reports.lost``: the node down, the visit-room
terminal away) earns its family one make-up visit. The offerer reads each visit's `ended`
event after its durable cursor, judges the visit's loss from its events, and writes the offers
of a batch, their `makeup-offered` events and the cursor past the batch in one transaction. An
offer is keyed by the original visit, so a replay after a crash in between adds nothing, and a
crash before that write loses nothing (the cursor has not moved). The rule in force when the
offerer reads the event applies. Only one node should run it, like the notifier.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from services.booking.makeup_records import Ended, MakeupOffer
from services.clock import Clock
from services.ids import Actor
from services.reports.lost import Cause, visit_loss
from services.store.protocols import MakeupStore

log = structlog.get_logger("tatap.makeup")

TAIL_BATCH = 50  # ended visits judged per transaction
MINUTE_MS = 60_000


def offer_for(ended: Ended, now_ms: int) -> MakeupOffer | None:
    """The offer ``ended`` earns under its facility's rule, if any: its system-caused loss up
    to its scheduled end exceeds the rule's minutes."""
    visit = ended.visit
    loss = visit_loss(visit, ended.events, ended.node_downs, round(visit.end * 1000))
    lost = loss.lost_ms(Cause.SYSTEM)
    if lost <= ended.after_min * MINUTE_MS:
        return None
    return MakeupOffer(visit.id, visit.facility_id, ended.visitor_id, lost, now_ms)


class MakeupOfferer:
    """Turns ended visits into make-up offers; ``start`` and ``aclose`` bracket its task."""

    def __init__(self, store: MakeupStore, clock: Clock, node_id: str, poll_s: float) -> None:
        self._store = store
        self._clock = clock
        self._actor = Actor.system(node_id)
        self._poll_s = poll_s
        self._task: asyncio.Task[None] | None = None

    async def step(self) -> bool:
        """One batch of ended visits judged and their offers written with the cursor; True if
        there may be more to read at once."""
        ended, cursor = await self._store.makeup_tail(TAIL_BATCH)
        now_ms = int(self._clock.now() * 1000)
        made = []
        for e in ended:
            offer = offer_for(e, now_ms)
            if offer is not None:
                made.append((offer, offer.event(self._actor, e.after_min)))
        await self._store.add_makeup_offers(made, cursor)
        return len(ended) == TAIL_BATCH

    async def start(self) -> None:
        """Run steps in the background, every ``poll_s`` (at once while there is a backlog)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="makeup")

    async def aclose(self) -> None:
        """Stop the task (a step's write, once begun, lands or not as one transaction)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            more = False
            try:
                more = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad step must not end the offers for good
                log.exception("makeup.step_failed")
            if more:
                await asyncio.sleep(0)
            else:
                await self._clock.sleep_until(self._clock.now() + self._poll_s)
