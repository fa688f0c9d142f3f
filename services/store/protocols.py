"""The store seam: every record Tatap keeps, and the audit chain, behind one protocol per role.

A caller takes the narrowest role it uses (``FacilityStore`` for administration,
``RevocationStore`` for the revocation poll, ``AuditReader`` for offline audit commands);
``Store``, the union of the roles, is what the composition root opens. ``SqliteStore`` is the
embedded default and implements every role; a PostgreSQL store implements the same protocols.
Every write that changes a visit carries its audit events and commits with them, so the log can
never miss a state change that happened, nor record one that did not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from services.audit.chain import AuditEvent, AuditRecord, Checkpoint, PinnedKey, VerifyResult
from services.board.facts import DayFacts, VisitFacts
from services.booking.days import BookingSpan
from services.booking.makeup_records import Ended, MakeupOffer
from services.booking.policy import BookingPolicy
from services.booking.quotas import NewRequest, Quotas
from services.booking.rejections import Rejection
from services.booking.slots import BlockedDate, BookingWindow, Closure, Slot, SlotTemplate
from services.domain.model import (
    EndReason,
    Facility,
    Inmate,
    Participant,
    Room,
    Staff,
    Terminal,
    Visit,
    Visitor,
    VisitStatus,
)
from services.ids import FacilityId, TerminalId, VisitId
from services.notify.records import Attempt, Family, Followed, Message, NewMessage
from services.surveys.answers import SurveyAnswer

if TYPE_CHECKING:
    from services.access.revocation import Key, NewRevocation, Revocation, RevocationKind
    from services.audit.anchor import Anchor
    from services.audit.query import AuditQuery
    from services.reports.facts import FacilityMonth, Month


@dataclass(frozen=True, slots=True)
class VisitChange:
    """A status change of one visit, refused unless the visit is in one of ``expect``."""

    visit_id: VisitId
    to: VisitStatus
    expect: frozenset[VisitStatus]
    at: float
    reason: EndReason | None = None


@dataclass(frozen=True, slots=True)
class ClosureEffect:
    """What a closure did to booked visits: cancelled those not yet started; ``running`` are
    live now and share its time (the live hub ends them)."""

    cancelled: tuple[VisitId, ...]
    running: tuple[VisitId, ...]


@dataclass(frozen=True, slots=True)
class InmatesImported:
    """What an inmate import did: rows written, and future visits flagged for review because
    their inmate is now released or transferred."""

    rows: int
    flagged: int


@dataclass(frozen=True, slots=True)
class StaffAccount:
    staff: Staff
    disabled: bool


@dataclass(frozen=True, slots=True)
class BlockedVisitor:
    """A visitor blocked in a facility, and when the block ends (None: until lifted)."""

    visitor: Visitor
    until: float | None


@dataclass(frozen=True, slots=True)
class ClosurePreview:
    """A closure's effect counted before it is made: the visits it would cancel, the families
    (distinct visitors) told, and the live visits it would end."""

    cancelled: int
    families: int
    live: int


class FacilityStore(Protocol):
    """Facilities, rooms, terminals, staff, inmates and visitors; each add commits with its
    audit event."""

    async def add_facility(self, facility: Facility, event: AuditEvent) -> None: ...
    async def get_facility(self, facility_id: str) -> Facility | None: ...
    async def add_room(self, room: Room, event: AuditEvent) -> None: ...
    async def get_room(self, room_id: str) -> Room | None: ...
    async def facility_names(self, limit: int) -> list[tuple[FacilityId, str]]:
        """Every facility's id and name, by name."""
        ...

    async def all_facilities(self, limit: int) -> list[Facility]:
        """Every facility (taking online requests or not), by name."""
        ...

    async def facility_rooms(self, facility_id: str) -> list[Room]:
        """The facility's visit rooms, by name."""
        ...

    async def add_terminal(self, terminal: Terminal, event: AuditEvent) -> None: ...
    async def get_terminal(self, terminal_id: str) -> Terminal | None: ...
    async def add_staff(self, staff: Staff, event: AuditEvent) -> None: ...
    async def get_staff_by_username(self, username: str) -> Staff | None: ...
    async def get_staff(self, staff_id: str) -> Staff | None: ...
    async def staff_list(self, facility_id: str | None, limit: int) -> list[StaffAccount]:
        """Staff accounts by username, with whether each is disabled now; ``facility_id`` None:
        every account, else that facility's own."""
        ...

    async def set_staff_password(
        self, staff_id: str, password_hash: str, event: AuditEvent
    ) -> bool:
        """A new password hash, with its audit event, and every token the account held
        refused from now on (its sessions end; a login with the new password works), all in one
        transaction; False (nothing written) if there is no such account."""
        ...

    async def facility_inmates(self, facility_id: str) -> list[Inmate]:
        """Every inmate the facility has, by number."""
        ...

    async def blocked_visitors(self, facility_id: str, limit: int) -> list[BlockedVisitor]:
        """The visitors blocked in the facility now (revocations not lifted, not past their
        end), newest first."""
        ...

    async def add_inmates(self, inmates: Sequence[Inmate], event: AuditEvent) -> InmatesImported:
        """Insert or update inmates by number. The visits not yet over (requested, approved,
        scheduled) of each one whose status turns released or transferred are flagged for
        review in the same transaction; ``event`` is written with ``flagged`` counting them."""
        ...

    async def get_inmate(self, inmate_id: str) -> Inmate | None: ...
    async def find_inmate(self, facility_id: str, number: str) -> Inmate | None: ...
    async def search_inmates(self, facility_id: str, text: str, limit: int) -> list[Inmate]:
        """At most ``limit`` inmates of the facility whose number or name contains ``text``
        (case-insensitive), the one with exactly that number first, then by name."""
        ...

    async def add_visitor(self, visitor: Visitor) -> None: ...
    async def get_visitor(self, visitor_id: str) -> Visitor | None: ...
    async def visitors_with_nik(self, nik: str) -> list[Visitor]:
        """Every visitor record of one NIK (a person may have been registered more than once)."""
        ...


class VisitStore(Protocol):
    """Visits and their participants, each change with its audit events."""

    async def add_visit(
        self, visit: Visit, link_hashes: dict[str, str], events: Sequence[AuditEvent]
    ) -> None:
        """Insert a visit and its participants; Conflict if its terminal is booked then."""
        ...

    async def get_visit(self, visit_id: str) -> Visit | None: ...
    async def terminal_visit(
        self, terminal_id: TerminalId, now: float, early_s: float
    ) -> Visit | None:
        """The visit a terminal serves at ``now``: open (or opening within ``early_s``)."""
        ...

    async def next_terminal_visit(self, terminal_id: TerminalId, now: float) -> Visit | None: ...
    async def due_visit_ids(self, now: float, horizon_s: float) -> list[str]:
        """Visits scheduled or live whose window opens before ``now + horizon_s``."""
        ...

    async def change_visit(self, change: VisitChange, events: Sequence[AuditEvent]) -> Visit:
        """Apply a status change with its audit events; Conflict if the visit moved on already."""
        ...

    async def find_participant(self, participant_id: str) -> tuple[Visit, Participant] | None: ...
    async def clear_review(self, visit_id: str, event: AuditEvent) -> Visit:
        """Lift a visit's review flag with its audit event; Conflict if it has none."""
        ...


class CalendarStore(Protocol):
    """A facility's calendar (see ``services.booking.slots``): slot templates, the booking
    window, blocked dates, closures, and the intervals visits hold; each change with its audit
    event."""

    async def add_slot_template(self, template: SlotTemplate, event: AuditEvent) -> None:
        """Insert a template; Conflict, naming the other, if it overlaps one of its room's."""
        ...

    async def get_slot_template(self, template_id: str) -> SlotTemplate | None: ...
    async def remove_slot_template(self, template_id: str, event: AuditEvent) -> bool:
        """Delete a template with its audit event; False (and no event) if there is none."""
        ...

    async def slot_templates(
        self, facility_id: str, room_id: str | None = None
    ) -> list[SlotTemplate]: ...
    async def set_booking_window(
        self, facility_id: str, window: BookingWindow, event: AuditEvent
    ) -> None: ...
    async def booking_window(self, facility_id: str) -> BookingWindow:
        """The facility's window; the defaults if it never set one."""
        ...

    async def add_blocked_date(self, blocked: BlockedDate, event: AuditEvent) -> None:
        """Block a local date; Conflict if it is blocked already."""
        ...

    async def blocked_dates(
        self, facility_id: str, first: dt.date, last: dt.date
    ) -> list[BlockedDate]:
        """The facility's blocked dates from ``first`` to ``last`` inclusive, in date order."""
        ...

    async def add_closure(self, closure: Closure, event: AuditEvent) -> ClosureEffect:
        """Record a closure and, in the same transaction, cancel every visit not yet started
        (requested, approved, scheduled) that shares time with it, one ``cancelled`` event each
        (``{"by": "closure", "reason": ...}``, by ``event``'s actor); ``event`` is written with
        ``cancelled`` counting them. Live visits sharing its time are named, not changed."""
        ...

    async def closure_preview(self, facility_id: str, start_ms: int, end_ms: int) -> ClosurePreview:
        """What ``add_closure`` would do now over ``[start_ms, end_ms)``, counted, changing
        nothing."""
        ...

    async def closures(self, facility_id: str, start_ms: int, end_ms: int) -> list[Closure]:
        """The facility's closures that share time with ``[start_ms, end_ms)``."""
        ...

    async def booked_slots(self, room_ids: Sequence[str], start_ms: int, end_ms: int) -> list[Slot]:
        """The intervals that visits in an ``OCCUPYING`` status hold in ``room_ids`` and that
        share time with ``[start_ms, end_ms)``."""
        ...

    async def booking_span(self, facility_id: str, now: float) -> BookingSpan | None:
        """In one read: the facility, its rules over the dates its booking window offers at
        ``now`` (``services.booking.days.window_dates``), the rooms that have a terminal, and
        the intervals booked in them over those dates; None for an unknown facility."""
        ...


class RequestStore(Protocol):
    """Families' visit requests (see ``services.booking.requests``): placed against the slot
    and the quotas atomically, then approved, rejected or looked up by code."""

    async def request_facilities(self) -> list[Facility]:
        """Facilities that take online requests: those with at least one slot template."""
        ...

    async def bookable_terminals(self, facility_id: str) -> list[Terminal]:
        """One terminal per room of the facility, by room: where a request may be placed."""
        ...

    async def quotas(self, facility_id: str) -> Quotas:
        """The facility's quotas; the defaults if it never set them."""
        ...

    async def set_quotas(self, facility_id: str, quotas: Quotas, event: AuditEvent) -> None: ...
    async def booking_policy(self, facility_id: str) -> BookingPolicy:
        """The facility's booking policy; the defaults if it never set one."""
        ...

    async def set_booking_policy(
        self, facility_id: str, policy: BookingPolicy, event: AuditEvent
    ) -> None: ...
    async def add_request(self, request: NewRequest) -> Visit:
        """In one transaction: VisitorBlocked if the visitor's NIK is blocked in the facility or
        everywhere, QuotaInmate or QuotaVisitor if a quota is used up, SlotFull if no place is
        free; else the visit inserted (as placed) with its event."""
        ...

    async def visit_by_code(self, code: str) -> Visit | None: ...
    async def requests(self, facility_id: str, status: VisitStatus, limit: int) -> list[Visit]:
        """The facility's visits in ``status``, soonest first."""
        ...

    async def approve_request(
        self,
        visit_id: str,
        link_hashes: dict[str, str],
        event: AuditEvent,
        permission_ref: str | None = None,
    ) -> Visit:
        """A requested visit scheduled, its guests' links stored hashed, with the detaining
        authority's letter number if given; Conflict otherwise, BadRequest if its inmate is
        on remand and ``permission_ref`` is missing."""
        ...

    async def reject_request(self, visit_id: str, why: Rejection, event: AuditEvent) -> Visit:
        """A requested visit rejected (its slot and quota freed); Conflict otherwise."""
        ...

    async def rejection(self, visit_id: str) -> Rejection | None: ...


class AccessStore(Protocol):
    """What a link or a token opens: the seat behind a family link, revoked token ids."""

    async def find_link(self, link_hash: str) -> tuple[Visit, Participant] | None: ...
    async def revoke(self, jti: str, exp: float, event: AuditEvent) -> None: ...
    async def is_revoked(self, jti: str) -> bool: ...


class RevocationStore(Protocol):
    """Revocations of seats, visitors and staff accounts (see ``services.access.revocation``)."""

    async def add_revocation(
        self, kind: RevocationKind, subject: str, exp: float | None, event: AuditEvent
    ) -> Revocation:
        """Record a revocation with its audit event (none if it was recorded already)."""
        ...

    async def add_revocations(
        self, new: Sequence[NewRevocation], until: float | None = None
    ) -> list[Revocation]:
        """Record several in one transaction, each with its audit event (none for one recorded
        already, unless ``until`` changes its end), in the order given. ``until``: they stop
        applying then (a block's end); None: until lifted."""
        ...

    async def find_revocation(
        self, keys: Sequence[Key], issued_at: float | None = None
    ) -> Revocation | None:
        """The oldest revocation under one of ``keys`` that holds. A lifted one (a staff account
        enabled again) holds only for a token issued (``issued_at``) before the lift; without
        ``issued_at`` (is the account disabled now?) it does not hold."""
        ...

    async def lift_revocation(self, kind: RevocationKind, subject: str, event: AuditEvent) -> bool:
        """Lift a revocation in force, with its audit event; False (and no event) if there is
        none. Revoking the same subject again writes a new revocation (a new seq)."""
        ...

    async def revocations_after(self, seq: int, limit: int = 1000) -> list[Revocation]:
        """Revocations written after ``seq``, oldest first (a node's poll). ``seq`` must grow in
        commit order, or a poll could step over a row committed late (SQLite: one writer)."""
        ...

    async def revocation_head(self) -> int:
        """The highest seq ever given to a revocation, pruned or not (0 when there is none)."""
        ...

    async def prune_revocations(self, expired_before: float, limit: int) -> int:
        """Delete up to ``limit`` token revocations whose token expired before
        ``expired_before`` (their audit events stay); returns how many."""
        ...


class AuditReader(Protocol):
    """The audit log read, never written: what the API's auditors and the offline
    ``tatap audit`` commands need. ``services.store.factory.open_audit_reader`` opens one
    read-only."""

    async def aclose(self) -> None: ...
    async def audit_search(self, query: AuditQuery) -> list[AuditRecord]:
        """Events matching every filter of ``query``, oldest first, after ``query.after_seq``."""
        ...

    async def audit_verify(
        self,
        facility_id: str = "",
        *,
        live: bool = True,
        witnessed: Sequence[tuple[int, str]] = (),
        anchors: Sequence[Anchor] = (),
    ) -> VerifyResult:
        """The whole chain checked (integrity is global); with ``facility_id``, ``events``
        counts that facility's events only. ``live``: the log's node may be running (its
        unsigned tail is reported while young); ``witnessed`` (seq, hash) heads must still be
        there; ``anchors`` must each trust every pinned key."""
        ...

    async def audit_checkpoints(self, after_seq: int, limit: int) -> list[tuple[Checkpoint, int]]:
        """Signed checkpoints after ``after_seq``, oldest first, each with its time (ms)."""
        ...

    async def audit_keys(self) -> list[PinnedKey]:
        """The keys verification trusts, in the order they were pinned."""
        ...


class ReportReader(Protocol):
    """What the monthly report reads (``services.reports``), never writes: for the API and,
    opened read-only by ``services.store.factory.open_report_reader``, ``tatap report``."""

    async def aclose(self) -> None: ...
    async def report_month(self, facility_id: str, month: Month) -> FacilityMonth | None:
        """The facility's facts for ``month`` in its time zone (``services.reports.facts``);
        None if there is no such facility."""
        ...

    async def region_facilities(self, username: str) -> list[str] | None:
        """The facility ids of the regional auditor ``username``; None if there is none."""
        ...


class AuditLog(AuditReader, Protocol):
    """The audit log, appended to by the node."""

    async def append(self, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        """Append events durably; returns once they are on disk."""
        ...


class MakeupStore(Protocol):
    """Make-up offers, made from the audit log by one offerer (see services.booking.makeup)."""

    async def makeup_tail(self, limit: int) -> tuple[list[Ended], int]:
        """The visits of up to ``limit`` `ended` events after the offerer's cursor, in
        facilities with a make-up rule (those without a family visitor left out), and the seq
        the cursor may move to once they are judged."""
        ...

    async def add_makeup_offers(
        self, offers: Sequence[tuple[MakeupOffer, AuditEvent]], cursor: int
    ) -> int:
        """In one transaction: each offer with its event unless its visit has one already, and
        the cursor moved to ``cursor``; how many were added."""
        ...

    async def makeup_offer(self, visit_id: str) -> MakeupOffer | None:
        """The make-up offer made for ``visit_id``, if any."""
        ...


class OutboxStore(Protocol):
    """The notification outbox, filled from the audit log by one notifier (see services.notify)."""

    async def notify_tail(
        self, actions: Sequence[str], limit: int, now_ms: int
    ) -> tuple[list[Followed], int]:
        """Up to ``limit`` events with one of ``actions`` after the notifier's cursor about a
        visit with a family to tell (a phone), oldest first, each saying whether the family's
        seat is revoked at ``now_ms`` (its own revocation or its visitor's block), and the seq
        the cursor may move to once they are in the outbox."""
        ...

    async def add_messages(self, messages: Sequence[NewMessage], cursor: int | None) -> int:
        """Add messages (one already there for the same event or reminder is skipped) and, in
        the same transaction, move the cursor to ``cursor`` (None: leave it); the count added."""
        ...

    async def unreminded(self, start_ms: int, end_ms: int, limit: int, now_ms: int) -> list[Family]:
        """The families of scheduled visits starting in [start_ms, end_ms) without a reminder,
        but those whose seat is revoked at ``now_ms`` (its own revocation, its visitor's block)."""
        ...

    async def due_messages(self, now_ms: int, limit: int) -> list[Message]:
        """Pending webhook messages due by ``now_ms``, oldest first."""
        ...

    async def message_sent(self, message_id: str, now_ms: int, event: AuditEvent) -> bool:
        """The message was delivered: ``sent``, with its ``notified`` event, in one commit;
        False (and no event) if it was sent or skipped already."""
        ...

    async def message_failed(self, attempt: Attempt) -> None:
        """A delivery failed: tried again at ``attempt.next_ms``, or ``failed`` (None)."""
        ...

    async def message_skipped(self, message_id: str, why: str) -> None:
        """The message no longer holds (its visit changed since): ``skipped``, not sent."""
        ...

    async def visit_messages(self, visit_id: str, limit: int) -> list[Message]:
        """A visit's messages, oldest first."""
        ...


class BoardStore(Protocol):
    """What the today board reads (see ``services.board``), and the inmate marked ready."""

    async def board_day(self, facility_id: str, start_ms: int, end_ms: int) -> DayFacts | None:
        """The facility's rooms, terminals and the visits starting in ``[start_ms, end_ms)``,
        soonest first; None if there is no such facility."""
        ...

    async def board_visit(self, visit_id: str) -> VisitFacts | None: ...
    async def mark_ready(self, visit_id: str, at_ms: int, event: AuditEvent) -> tuple[Visit, bool]:
        """Mark a visit's inmate as in the visit room at ``at_ms``, with ``event``; a visit
        marked already is returned as it is (False: nothing written). NotFound, or Conflict for
        a visit requested, rejected, cancelled or ended."""
        ...


class SurveyStore(Protocol):
    """The survey answered after a visit (see ``services.surveys``)."""

    async def add_survey_answer(self, answer: SurveyAnswer, event: AuditEvent) -> None:
        """Store ``answer`` with its audit ``event`` in one transaction; AlreadyAnswered if
        this participant answered about this visit before (the first answer stands)."""
        ...

    async def survey_answer(self, visit_id: str, participant_id: str) -> SurveyAnswer | None:
        """This participant's answer about this visit, if any."""
        ...

    async def survey_answers(
        self, facility_ids: Collection[str], start_ms: int, end_ms: int
    ) -> list[SurveyAnswer]:
        """The answers about visits of ``facility_ids`` given in ``[start_ms, end_ms)``,
        oldest first (read by the visit's facility and the answer's time, from an index)."""
        ...


class Store(
    BoardStore,
    FacilityStore,
    CalendarStore,
    RequestStore,
    VisitStore,
    AccessStore,
    RevocationStore,
    AuditLog,
    OutboxStore,
    MakeupStore,
    ReportReader,
    SurveyStore,
    Protocol,
):
    """Every role at once: what the composition root opens and closes."""
