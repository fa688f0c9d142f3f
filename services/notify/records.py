"""An outbox message as the store keeps it: what it says, to whom, and how its delivery went."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class MessageKind(enum.StrEnum):
    """What a message tells the family; the first four follow the audit action of that name."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    REMINDER = "reminder"

    @property
    def carries_link(self) -> bool:
        """The family needs its link in this message (built when sent, never stored)."""
        return self in (MessageKind.APPROVED, MessageKind.REMINDER)


class Channel(enum.StrEnum):
    """The way a message goes out."""

    WEBHOOK = "webhook"  # to the configured gateway, by the notifier
    WA_ME = "wa.me"  # by an officer, from the prefilled link: no gateway is configured


class MessageState(enum.StrEnum):
    PENDING = "pending"  # not sent yet: due at ``next_ms`` (webhook) or waiting for an officer
    SENT = "sent"  # the gateway took it (2xx)
    FAILED = "failed"  # the gateway refused it every time, up to the attempt limit
    SKIPPED = "skipped"  # no longer true when due (a reminder for a visit cancelled since)


@dataclass(frozen=True, slots=True)
class Family:
    """A visit's family as a message needs it: where to send, and what to say of the visit."""

    visit_id: str
    facility_id: str
    facility: str  # the facility's name
    timezone: str
    code: str
    start_ms: int
    phone: str  # E.164


@dataclass(frozen=True, slots=True)
class Followed:
    """An audit event the notifier follows, with the family of its visit."""

    seq: int
    action: str
    details: str  # the event's canonical JSON
    status: str  # the visit's status now, when the event is read
    family: Family
    revoked: bool = False  # the family's seat is revoked (or its visitor blocked) now


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to add to the outbox (a second one for the same event and channel is ignored)."""

    id: str
    visit_id: str
    facility_id: str
    kind: MessageKind
    channel: Channel
    audit_seq: int  # the event it reports; 0 for a reminder
    phone: str  # E.164, as the visitor record holds it
    text: str  # without the link
    created_ms: int


@dataclass(frozen=True, slots=True)
class Message:
    """A message in the outbox and its delivery state."""

    id: str
    visit_id: str
    facility_id: str
    kind: MessageKind
    channel: Channel
    audit_seq: int
    phone: str
    text: str
    state: MessageState
    attempts: int
    next_ms: int
    last_error: str
    created_ms: int
    sent_ms: int | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one failed delivery: tried again at ``next_ms``, or given up (None)."""

    message_id: str
    error: str
    next_ms: int | None
