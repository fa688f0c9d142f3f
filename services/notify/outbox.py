"""What fills the outbox: the audit log, tailed by seq, and a scan for tomorrow's visits.

The audit log is the durable record of every state change, whoever made it (a family, an
officer, an emergency closure, another process such as the CLI), so the notifier follows it
rather than the code that changes visits. Each event of interest becomes one message per family;
the rows and the cursor past their events commit together, and a replay after a crash in between
adds nothing (rows are unique per event and channel). The notifier's own ``notified`` events are
not among the actions it follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from services.booking.scheduling import new_id
from services.clock import Clock
from services.domain.model import VisitStatus
from services.notify.messages import Facts, compose
from services.notify.records import Channel, Family, Followed, MessageKind, NewMessage
from services.store.protocols import OutboxStore, VisitStore

# The audit actions a family hears about, and the message each becomes.
FOLLOWED: dict[str, MessageKind] = {
    "requested": MessageKind.REQUESTED,
    "approved": MessageKind.APPROVED,
    "rejected": MessageKind.REJECTED,
    "cancelled": MessageKind.CANCELLED,
}
TAIL_BATCH = 100  # events read per transaction (one query, the families joined in)
REMIND_BATCH = 100  # visits reminded per scan
# What a family whose seat is revoked (or who is blocked) is still told: that the visit will not
# be. Nothing that invites it (a request taken, an approval with its link, a reminder).
TOLD_WHEN_REVOKED = frozenset({MessageKind.REJECTED, MessageKind.CANCELLED})
# A reminder goes to visits starting 24 to 36 hours ahead: "the day before", whichever hour the
# scan runs at; a visit approved later than that has just had its approval message.
REMIND_FROM_S = 24 * 3600
REMIND_UNTIL_S = 36 * 3600


class OutboxRecords(OutboxStore, VisitStore, Protocol):
    """What the notifier reads and writes."""


class Collector:
    """Turns audit events and tomorrow's visits into outbox messages on ``channel``."""

    def __init__(self, store: OutboxStore, clock: Clock, channel: Channel) -> None:
        self._store = store
        self._clock = clock
        self._channel = channel

    async def collect(self) -> bool:
        """One batch of events into the outbox; True if there may be more to read at once."""
        now_ms = int(self._clock.now() * 1000)
        events, cursor = await self._store.notify_tail(tuple(FOLLOWED), TAIL_BATCH, now_ms)
        messages = [
            self._message(FOLLOWED[e.action], e.family, e.seq, _details(e.details))
            for e in events
            if not _overtaken(e) and not _shut_out(e)
        ]
        await self._store.add_messages(messages, cursor)
        return len(events) == TAIL_BATCH

    async def remind(self) -> int:
        """Reminders for scheduled visits starting 24 to 36 hours from now; how many made."""
        now_ms = int(self._clock.now() * 1000)
        families = await self._store.unreminded(
            now_ms + REMIND_FROM_S * 1000, now_ms + REMIND_UNTIL_S * 1000, REMIND_BATCH, now_ms
        )
        messages = [self._message(MessageKind.REMINDER, f, 0, {}) for f in families]
        return await self._store.add_messages(messages, None)

    def _message(
        self, kind: MessageKind, family: Family, audit_seq: int, details: Mapping[str, object]
    ) -> NewMessage:
        """The message of ``kind`` to ``family``."""
        facts = Facts(family.facility, family.timezone, family.code, family.start_ms, details)
        return NewMessage(
            id=new_id("n"),
            visit_id=family.visit_id,
            facility_id=family.facility_id,
            kind=kind,
            channel=self._channel,
            audit_seq=audit_seq,
            phone=family.phone,
            text=compose(kind, facts),
            created_ms=int(self._clock.now() * 1000),
        )


def _overtaken(event: Followed) -> bool:
    """A request that was decided before its message was made (auto-approved in the same
    transaction, approved or cancelled at once): "waiting for approval" would only confuse the
    family, who hears the decision next."""
    return event.action == "requested" and event.status != VisitStatus.REQUESTED.value


def _shut_out(event: Followed) -> bool:
    """A family whose seat was revoked, or who is blocked, by the time its message is made
    hears only that the visit will not be."""
    return event.revoked and FOLLOWED[event.action] not in TOLD_WHEN_REVOKED


def _details(text: str) -> dict[str, Any]:
    """An event's details (canonical JSON written by us; anything else reads as none)."""
    try:
        found = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}
