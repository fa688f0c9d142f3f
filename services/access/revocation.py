"""Revocation: shutting out one token, one participant (whatever link or token they use), one
visitor (every seat that person holds), or one staff account, and checking every token against that.

A revocation is a row in the store, numbered in the order written, with its audit event in the
same transaction. Whoever revoked tells the sockets of its own node at once (``on_revoked``); every
node also polls the store for revocations it has not seen (``signaling.revocation``), since the CLI
and other nodes revoke from other processes.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.access.tokens import Claims, staff_of
from services.audit.chain import AuditEvent
from services.domain.model import Role
from services.errors import AccessRevoked, BadRequest, Conflict, NotFound, TokenRevoked
from services.ids import Actor, ParticipantId, StaffId, VisitorId

if TYPE_CHECKING:
    from services.clock import Clock
    from services.store.protocols import Store


class RevocationKind(enum.StrEnum):
    TOKEN = "token"  # one token (its jti); the link may mint another
    PARTICIPANT = "participant"  # one seat of a visit: its link, and every token for it
    STAFF = "staff"  # a staff account: its logins, staff tokens and monitor tokens
    # A registered visitor: every seat booked for that person, in every visit (subject: the
    # visitor id) or in one facility's visits (``visitor_subject``, revoked by its officers).
    VISITOR = "visitor"
    # A staff account's sessions (subject: the staff id), ended by a password reset: lifted as
    # written, it refuses the tokens issued before it; the account may log in again at once.
    SESSIONS = "sessions"


@dataclass(frozen=True, slots=True)
class Revocation:
    seq: int  # order of writing: a node polls for the ones after the last it applied
    kind: RevocationKind
    subject: str  # jti, participant id, staff id or ``visitor_subject``
    # Lifted (a staff account enabled again, its sessions ended): it shuts out only tokens
    # issued before this time; None: in force, every token under it is shut out.
    before: float | None = None

    def shuts_out(self, issued_at: float) -> bool:
        """Whether a token issued at ``issued_at`` is shut out by this revocation."""
        return self.before is None or issued_at < self.before

    @property
    def error(self) -> TokenRevoked | AccessRevoked:
        """What the holder of a revoked socket or request is told."""
        if self.kind is RevocationKind.TOKEN:
            return TokenRevoked("token revoked")
        if self.kind is RevocationKind.SESSIONS:  # a new login helps: not disabled
            return TokenRevoked("this account's password was reset: log in again")
        if self.kind is RevocationKind.STAFF:
            return AccessRevoked("this staff account is disabled")
        return AccessRevoked("access revoked")


Key = tuple[RevocationKind, str]
# What to record: kind, subject, the token's expiry (token revocations only) and its audit event.
NewRevocation = tuple[RevocationKind, str, float | None, AuditEvent]


def visitor_subject(visitor_id: str, facility_id: str = "") -> str:
    """A visitor revoked everywhere (no facility) or in one facility's visits only. Generated ids
    hold no ``@``, so the two never collide."""
    return f"{visitor_id}@{facility_id}" if facility_id else visitor_id


def keys_of(claims: Claims) -> tuple[Key, ...]:
    """Every revocation that shuts this token out."""
    staff = staff_of(claims)
    if staff:
        return (
            (RevocationKind.TOKEN, claims.jti),
            (RevocationKind.STAFF, staff),
            (RevocationKind.SESSIONS, staff),
        )
    return (
        (RevocationKind.TOKEN, claims.jti),
        *seat_keys(claims.sub, claims.visitor, claims.facility),
    )


def seat_keys(seat_id: str, visitor_id: str | None, facility_id: str) -> tuple[Key, ...]:
    """Every revocation that shuts a guest seat out: the seat's own, and its visitor's
    everywhere or in ``facility_id``."""
    seat: Key = (RevocationKind.PARTICIPANT, seat_id)
    if not visitor_id:  # a guest typed in by hand is shut out seat by seat
        return (seat,)
    return (
        seat,
        (RevocationKind.VISITOR, visitor_subject(visitor_id)),
        (RevocationKind.VISITOR, visitor_subject(visitor_id, facility_id)),
    )


MAX_REASON = 200


class Revocations:
    """Revoke (each with its audit event) and check. ``on_revoked`` closes this node's sockets."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        on_revoked: Callable[[Revocation], object] = lambda _: None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._on_revoked = on_revoked

    async def check(self, claims: Claims) -> None:
        """Raise the revocation's error if any revocation shuts this token out."""
        found = await self._store.find_revocation(keys_of(claims), issued_at=claims.iat)
        if found is not None:
            raise found.error

    async def with_seat_visitor(self, claims: Claims) -> Claims:
        """A guest token without ``vis`` (issued before tokens named their visitor) with its
        seat's registered visitor filled in, so that revoking that person refuses it at
        ``hello`` and closes its socket, as for a token with the claim. Any other token as is."""
        if claims.visitor or claims.role not in (Role.FAMILY, Role.TEACHER):
            return claims
        found = await self._store.find_participant(claims.sub)
        if found is None or found[0].id != claims.visit:
            return claims
        visit, seat = found
        if not seat.visitor_id:
            return claims  # a guest typed in by hand is shut out seat by seat
        return dataclasses.replace(
            claims, visitor=seat.visitor_id, facility=claims.facility or visit.facility_id
        )

    async def check_staff(self, staff_id: StaffId) -> None:
        """Raise AccessRevoked if this staff account is disabled (now: not if enabled again)."""
        found = await self._store.find_revocation(((RevocationKind.STAFF, staff_id),))
        if found is not None:
            raise found.error

    async def revoke_token(self, claims: Claims, actor: Actor) -> Revocation:
        event = AuditEvent(
            "token-revoked",
            actor.role,
            actor.id,
            claims.facility,
            claims.visit,
            {"jti": claims.jti, "role": claims.role.value},
            ts=self._clock.now(),
        )
        return (await self._revoke((RevocationKind.TOKEN, claims.jti, claims.exp, event)))[0]

    async def revoke_participant(
        self,
        participant_id: ParticipantId,
        actor: Actor,
        reason: str = "",
        facility_id: str = "",
    ) -> Revocation:
        """Shut one guest (family member, teacher) out of its visit, and the registered visitor
        behind the seat (if any) out of every other seat too: everywhere, or with
        ``facility_id`` (an officer's scope) in that facility's visits. With ``facility_id`` only
        that facility's participants can be named (anything else is "no such participant", so
        existence does not leak)."""
        _check_reason(reason)
        found = await self._store.find_participant(participant_id) if participant_id else None
        if found is None or (facility_id and found[0].facility_id != facility_id):
            raise NotFound("no such participant")
        visit, participant = found
        if participant.role is Role.TERMINAL:
            # The inmate's side is the prison's own device: end the visit instead.
            raise BadRequest("a terminal's seat is not revoked: terminate or cancel the visit")
        event = AuditEvent(
            "participant-revoked",
            actor.role,
            actor.id,
            visit.facility_id,
            visit.id,
            {"participant": participant.id, "role": participant.role.value, "reason": reason},
            ts=self._clock.now(),
        )
        seat: NewRevocation = (RevocationKind.PARTICIPANT, participant.id, None, event)
        if not participant.visitor_id:
            return (await self._revoke(seat))[0]
        person = self._visitor_revocation(participant.visitor_id, actor, reason, facility_id)
        return (await self._revoke(seat, person))[0]

    async def revoke_visitor(
        self, visitor_id: VisitorId, actor: Actor, reason: str = "", facility_id: str = ""
    ) -> Revocation:
        """Shut a registered visitor out of every seat booked for them, now and later: in every
        facility, or with ``facility_id`` in that facility's visits only."""
        _check_reason(reason)
        if not visitor_id or await self._store.get_visitor(visitor_id) is None:
            raise NotFound("no such visitor")
        return (
            await self._revoke(self._visitor_revocation(visitor_id, actor, reason, facility_id))
        )[0]

    def _visitor_revocation(
        self, visitor_id: str, actor: Actor, reason: str, facility_id: str
    ) -> NewRevocation:
        event = AuditEvent(
            "visitor-revoked",
            actor.role,
            actor.id,
            facility_id,
            "",
            {"visitor": visitor_id, "facility": facility_id or "*", "reason": reason},
            ts=self._clock.now(),
        )
        return (RevocationKind.VISITOR, visitor_subject(visitor_id, facility_id), None, event)

    async def disable_staff(self, username: str, actor: Actor, reason: str = "") -> Revocation:
        """A staff account can no longer log in, and every token it holds stops working."""
        staff_id, event = await self._staff_event("staff-disabled", username, actor, reason)
        return (await self._revoke((RevocationKind.STAFF, staff_id, None, event)))[0]

    async def enable_staff(self, username: str, actor: Actor, reason: str = "") -> None:
        """A disabled staff account may log in again. The tokens it held stay refused: its
        holder logs in again for new ones."""
        staff_id, event = await self._staff_event("staff-enabled", username, actor, reason)
        if not await self._store.lift_revocation(RevocationKind.STAFF, staff_id, event):
            raise Conflict("this staff account is not disabled")

    async def _staff_event(
        self, action: str, username: str, actor: Actor, reason: str
    ) -> tuple[str, AuditEvent]:
        """The staff account named (or NotFound) and the audit event of disabling or enabling it."""
        _check_reason(reason)
        staff = await self._store.get_staff_by_username(username) if username else None
        if staff is None:
            raise NotFound("no such staff user")
        event = AuditEvent(
            action,
            actor.role,
            actor.id,
            staff.facility_id or "",
            "",
            {"staff": staff.id, "role": staff.role.value, "reason": reason},
            ts=self._clock.now(),
        )
        return staff.id, event

    async def record(self, *new: NewRevocation, until: float | None = None) -> list[Revocation]:
        """Record revocations built elsewhere (a visitor blocked by NIK), as ``_revoke`` does;
        ``until``: they stop applying then (None: until lifted)."""
        return await self._revoke(*new, until=until)

    async def _revoke(self, *new: NewRevocation, until: float | None = None) -> list[Revocation]:
        """Record these in one transaction (all or none), then close this node's sockets."""
        revocations = await self._store.add_revocations(new, until)
        for revocation in revocations:
            self._on_revoked(revocation)
        return revocations


def _check_reason(reason: str) -> None:
    if len(reason) > MAX_REASON:
        raise BadRequest(f"a reason is at most {MAX_REASON} characters")


__all__ = [
    "Key",
    "NewRevocation",
    "Revocation",
    "RevocationKind",
    "Revocations",
    "keys_of",
    "visitor_subject",
]
