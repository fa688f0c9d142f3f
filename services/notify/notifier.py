"""The notifier: one background task per node that fills the outbox and empties it.

Each pass (``pump``) reads new audit events into the outbox, makes the day-before reminders,
and sends what is due to the webhook gateway, a few messages at once. A failed attempt is tried
again after an exponential, jittered delay; after ``max_attempts`` the message is ``failed``.
A delivery is marked ``sent`` together with its ``notified`` audit event (the phone masked), and
that write is shielded, so a shutdown cannot lose a delivery that happened. A crash between the
gateway's answer and that write sends the message again on restart: the gateway drops the copy
by its ``Idempotency-Key``, the outbox id.

Without a webhook URL messages stay ``pending`` on the ``wa.me`` channel, for an officer to send
from the prefilled link. Only one node should run the notifier (see docs/notifications.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

from services.access.links import FamilyLinks
from services.audit.chain import AuditEvent
from services.booking.identity import mask_phone
from services.clock import Clock
from services.domain.model import VisitStatus
from services.ids import Actor
from services.notify.messages import with_link
from services.notify.outbox import Collector, OutboxRecords
from services.notify.records import Attempt, Channel, Message
from services.notify.webhook import Delivery, WebhookSender

log = structlog.get_logger("tatap.notify")

SEND_BATCH = 8  # messages sent at once in one pass
MAX_TAIL_ROUNDS = 10  # event batches read in one pass before sending anything
REMIND_EVERY_S = 60.0
RETRY_BASE_S = 5.0
RETRY_CAP_S = 3600.0


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """How the notifier runs, from settings (``services.core.notify_config``)."""

    base_url: str  # family links are built on it
    node_id: str
    poll_s: float
    max_attempts: int


def notified_event(message: Message, actor: Actor, channel: Channel) -> AuditEvent:
    """The audit event of a delivery: by the notifier to the gateway, or by an officer by hand."""
    details: dict[str, object] = {
        "kind": message.kind.value,
        "channel": channel.value,
        "message": message.id,
        "phone": mask_phone(message.phone),
        "attempts": message.attempts + 1,
    }
    return AuditEvent(
        "notified", actor.role, actor.id, message.facility_id, message.visit_id, details
    )


def retry_delay(attempts: int, rng: random.Random) -> float:
    """Seconds before the next try after ``attempts`` failures: 5 s doubling to an hour, each
    drawn from its upper half ("equal jitter"), so retries spread without coming back at once."""
    ceiling = min(RETRY_CAP_S, RETRY_BASE_S * 2 ** max(attempts - 1, 0))
    return rng.uniform(ceiling / 2, ceiling)


class Notifier:
    """Fills the outbox from the audit log and sends it; ``start`` and ``aclose`` bracket it."""

    def __init__(
        self,
        store: OutboxRecords,
        clock: Clock,
        family: FamilyLinks,
        config: NotifyConfig,
        sender: WebhookSender | None,
        rng: random.Random | None = None,
    ) -> None:
        """``sender`` None: no gateway, messages wait for officers on the wa.me channel."""
        self._store = store
        self._clock = clock
        self._family = family
        self._config = config
        self._rng = rng or random.Random()
        self._sender = sender
        channel = Channel.WEBHOOK if self._sender else Channel.WA_ME
        self._collector = Collector(store, clock, channel)
        self._actor = Actor.system(config.node_id)
        self._lock = asyncio.Lock()  # one pass at a time: a message is never sent twice at once
        self._task: asyncio.Task[None] | None = None
        self._landing: set[asyncio.Task[object]] = set()  # outcome writes a stop must await
        self._next_remind = 0.0

    async def start(self) -> None:
        """Run passes in the background, every ``poll_s``."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="notifier")

    async def aclose(self) -> None:
        """Stop the passes (an in-flight ``sent`` write still lands), then close connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # An attempt's outcome that was being written when the pass was cancelled lands now,
        # before the store closes.
        await asyncio.gather(*self._landing, return_exceptions=True)
        if self._sender is not None:
            await self._sender.aclose()

    async def pump(self) -> bool:
        """One pass: events into the outbox, reminders, then the due messages sent; True if
        there is more to do at once (a full batch read or sent)."""
        async with self._lock:
            more = True
            for _ in range(MAX_TAIL_ROUNDS):
                if not (more := await self._collector.collect()):
                    break
            if self._clock.now() >= self._next_remind:
                await self._collector.remind()
                self._next_remind = self._clock.now() + REMIND_EVERY_S
            return await self._send_due() or more

    async def _send_due(self) -> bool:
        """Send up to a batch of due messages; True if the batch was full."""
        if self._sender is None:
            return False
        due = await self._store.due_messages(int(self._clock.now() * 1000), SEND_BATCH)
        by_visit: dict[str, list[Message]] = {}
        for message in due:
            by_visit.setdefault(message.visit_id, []).append(message)
        # Visits at once (a slow one does not hold up the rest); one visit's messages in order,
        # so that a family reads "approved" before "cancelled". Every one is awaited, failed or
        # not, so that none is still sending when the next pass begins.
        outcomes = await asyncio.gather(
            *(self._deliver_all(ms) for ms in by_visit.values()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                log.error("notify.delivery_failed", exc_info=outcome)
        return len(due) == SEND_BATCH

    async def _run(self) -> None:
        while True:
            more = False
            try:
                more = await self.pump()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad pass must not end notifications for good
                log.exception("notify.pass_failed")
            if more:  # a backlog (after a rush, or a gateway back up): on at once
                await asyncio.sleep(0)
            else:
                await self._clock.sleep_until(self._clock.now() + self._config.poll_s)

    async def _deliver_all(self, messages: list[Message]) -> None:
        for message in messages:
            await self._deliver(message)

    async def _deliver(self, message: Message) -> None:
        assert self._sender is not None
        visit = await self._store.get_visit(message.visit_id)
        stale = visit is not None and visit.status is not VisitStatus.SCHEDULED
        if visit is None or (message.kind.carries_link and stale):
            # The link it would carry no longer opens anything: say nothing rather than mislead.
            status = visit.status.value if visit else "gone"
            await self._store.message_skipped(message.id, f"visit is {status}")
            return
        link = self._family.url(self._config.base_url, visit) if message.kind.carries_link else None
        delivery = Delivery(
            message.id,
            message.kind.value,
            message.visit_id,
            message.phone,
            with_link(message.text, link),
            link,
        )
        error = await self._sender.send(delivery, self._clock.now())
        if error is None:
            event = notified_event(message, self._actor, Channel.WEBHOOK)
            now_ms = int(self._clock.now() * 1000)
            await self._land(self._store.message_sent(message.id, now_ms, event))
            return
        attempts = message.attempts + 1
        next_ms = None
        if attempts < self._config.max_attempts:
            next_ms = int((self._clock.now() + retry_delay(attempts, self._rng)) * 1000)
        log.warning(
            "notify.attempt_failed",
            message=message.id,
            visit_id=message.visit_id,
            attempts=attempts,
            error=error,
            gave_up=next_ms is None,
        )
        await self._land(self._store.message_failed(Attempt(message.id, error, next_ms)))

    async def _land(self, write: Coroutine[Any, Any, object]) -> None:
        """Run an outcome's write to its end even if this pass is cancelled meanwhile."""
        task: asyncio.Task[object] = asyncio.ensure_future(write)
        self._landing.add(task)
        task.add_done_callback(self._landing.discard)
        await asyncio.shield(task)
