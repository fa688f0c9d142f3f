"""Scheduling visits and letting people in: links, codes, device credentials, staff logins."""

from __future__ import annotations

import functools
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.access.logins import LoginGuard
from services.access.tokens import (
    Claims,
    TokenService,
    hash_secret,
    monitor_subject,
    new_link_token,
)
from services.audit.chain import AuditEvent
from services.clock import Clock
from services.domain.model import (
    SEATS,
    EndReason,
    Participant,
    ParticipantId,
    Role,
    Staff,
    Terminal,
    Visit,
    VisitId,
    VisitKind,
    VisitorId,
    VisitStatus,
)
from services.domain.pii import mask
from services.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    Unauthorized,
    VisitOver,
)
from services.store.protocols import Store, VisitChange

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """What an unknown name's password is checked against, so that it costs what a wrong password
    costs. Made on first use: hashing takes ~0.1 s and 64 MiB, which no other command should pay."""
    return _hasher.hash("not-a-password-of-anyone")


def _check_unknown(password: str) -> bool:
    """A login for a name nobody has: as slow as a wrong password (on the password pool's
    threads, like every check), and always refused."""
    check_password(_dummy_hash(), password)
    return False


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def new_visit_code() -> str:
    """A short human code for the phone and the notice board; it admits nobody on its own."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class GuestSpec:
    """Someone who joins from outside: a family member (with visitor id) or a teacher."""

    role: Role
    name: str
    visitor_id: VisitorId | None = None


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    visit: Visit
    links: dict[ParticipantId, str]  # participant → link secret (shown once, stored hashed)


class VisitService:
    def __init__(
        self,
        store: Store,
        tokens: TokenService,
        clock: Clock,
        token_grace_s: int,
        staff_ttl_s: int = 8 * 3600,
        logins: LoginGuard | None = None,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._clock = clock
        self._grace = token_grace_s
        self._staff_ttl = staff_ttl_s
        self.logins = logins or LoginGuard()

    async def schedule(
        self,
        *,
        terminal_id: str,
        inmate_id: str,
        kind: VisitKind,
        start: float,
        guests: list[GuestSpec],
        actor: tuple[Role, str],
        length_s: int | None = None,
    ) -> ScheduledVisit:
        terminal = await self._store.get_terminal(terminal_id)
        if terminal is None:
            raise NotFound("no such terminal")
        facility = await self._store.get_facility(terminal.facility_id)
        inmate = await self._store.get_inmate(inmate_id)
        if facility is None or inmate is None or inmate.facility_id != facility.id:
            raise NotFound("no such inmate in the terminal's facility")
        _check_guests(kind, guests)
        if length_s is None:
            length_s = facility.rules.length_s.get(kind.value, 900)
            priority = False
            for guest in guests:
                visitor = (
                    await self._store.get_visitor(guest.visitor_id) if guest.visitor_id else None
                )
                priority = priority or bool(visitor and visitor.priority)
            if priority:
                length_s += facility.rules.priority_extra_s
        if length_s <= 0:
            raise BadRequest("a visit must last more than zero seconds")
        visit_id = VisitId(new_id("v"))
        participants = [
            Participant(ParticipantId(new_id("p")), visit_id, Role.TERMINAL, terminal.name)
        ]
        participants += [
            Participant(ParticipantId(new_id("p")), visit_id, g.role, g.name, g.visitor_id)
            for g in guests
        ]
        visit = Visit(
            id=visit_id,
            code=new_visit_code(),
            facility_id=facility.id,
            room_id=terminal.room_id,
            terminal_id=terminal.id,
            inmate_id=inmate.id,
            kind=kind,
            status=VisitStatus.SCHEDULED,
            start=start,
            end=start + length_s,
            participants=tuple(participants),
        )
        links = {p.id: new_link_token() for p in participants if p.role is not Role.TERMINAL}
        event = AuditEvent(
            "scheduled",
            actor[0].value,
            actor[1],
            facility.id,
            visit_id,
            {
                "kind": kind.value,
                "start_ms": int(start * 1000),
                "end_ms": int(visit.end * 1000),
                "terminal": terminal.id,
                "inmate": inmate.id,
                "guests": [{"role": g.role.value, "visitor": g.visitor_id or ""} for g in guests],
            },
        )
        hashed = {str(pid): hash_secret(secret) for pid, secret in links.items()}
        await self._store.add_visit(visit, hashed, [event])
        return ScheduledVisit(visit, links)

    async def open_link(self, link: str) -> tuple[str, Claims, Visit, Participant]:
        """Exchange a family/teacher link secret for a token valid until the visit's end."""
        if not isinstance(link, str) or not 20 <= len(link) <= 128:
            raise Unauthorized("link invalid")
        found = await self._store.find_link(hash_secret(link))
        if found is None:
            raise Unauthorized("link invalid")
        visit, participant = found
        self._check_open(visit)
        token, claims = self._tokens.issue(
            sub=participant.id,
            role=participant.role,
            visit=visit.id,
            now=self._clock.now(),
            ttl_s=visit.end - self._clock.now() + self._grace,
            not_after=visit.end + self._grace,
            facility=visit.facility_id,
            visitor=participant.visitor_id or "",
        )
        return token, claims, visit, participant

    async def participant_token(self, visit: Visit, participant: Participant) -> str:
        """A token for one seat of a visit (the CLI prints these for tests and the terminal)."""
        now = self._clock.now()
        token, _ = self._tokens.issue(
            sub=participant.id,
            role=participant.role,
            visit=visit.id,
            now=now,
            ttl_s=max(visit.end - now, 0) + self._grace,
            not_after=visit.end + self._grace,
            facility=visit.facility_id,
            visitor=participant.visitor_id or "",
        )
        return token

    async def authenticate_terminal(self, terminal_id: str, secret: str) -> Terminal:
        terminal = await self._store.get_terminal(terminal_id) if terminal_id else None
        if terminal is None or not hmac.compare_digest(terminal.secret_hash, hash_secret(secret)):
            raise Unauthorized("terminal credentials invalid")
        return terminal

    async def login(
        self, username: str, password: str, source: str = "", device: str = ""
    ) -> tuple[str, Staff, str]:
        """A staff token for a right password, and the "known device" cookie value to set.
        argon2 runs on the login guard's own small pool (it takes ~0.1 s and 64 MiB on purpose);
        an unknown name costs the same as a wrong password, so timing does not tell which names
        exist. Failures are throttled per ``source`` address (or ``device`` cookie) and per
        name (see services.access.logins)."""
        who = self.logins.source(username, source, device, self._clock.now())
        self.logins.admit(username, who, self._clock.now())
        staff = await self._store.get_staff_by_username(username)
        if staff is None:
            ok = await self.logins.check(who, _check_unknown, password)
        else:
            ok = await self.logins.check(who, check_password, staff.password_hash, password)
        if staff is None or not ok:
            self.logins.failed(username, who, self._clock.now())
            raise Unauthorized("wrong username or password")
        cookie = self.logins.succeeded(username, who, self._clock.now())
        token, _ = self._tokens.issue(
            sub=staff.id,
            role=staff.role,
            visit="",
            now=self._clock.now(),
            ttl_s=self._staff_ttl,
            facility=staff.facility_id or "",
        )
        return token, staff, cookie

    async def monitor_token(self, officer: Claims, visit_id: str) -> str:
        """An officer's receive-only seat in one visit."""
        if officer.role is not Role.OFFICER:
            raise Forbidden("only officers monitor visits")
        visit = await self._store.get_visit(visit_id)
        if visit is None:
            raise NotFound("no such visit")
        self._check_open(visit)
        token, _ = self._tokens.issue(
            sub=monitor_subject(officer.sub),
            role=Role.OFFICER,
            visit=visit.id,
            now=self._clock.now(),
            ttl_s=visit.end - self._clock.now() + self._grace,
            not_after=visit.end + self._grace,
            facility=visit.facility_id,
        )
        return token

    async def cancel(self, visit_id: str, actor: tuple[Role, str], why: str = "") -> Visit:
        visit = await self._store.get_visit(visit_id)
        if visit is None:
            raise NotFound("no such visit")
        event = AuditEvent(
            "cancelled", actor[0].value, actor[1], visit.facility_id, visit_id, {"why": why[:200]}
        )
        return await self._store.change_visit(
            VisitChange(
                visit.id,
                VisitStatus.CANCELLED,
                frozenset({VisitStatus.SCHEDULED}),
                self._clock.now(),
                EndReason.CANCELLED,
            ),
            [event],
        )

    def _check_open(self, visit: Visit) -> None:
        if visit.status in (VisitStatus.ENDED, VisitStatus.CANCELLED, VisitStatus.REJECTED):
            raise VisitOver(f"this visit is {visit.status.value}", reason=visit.end_reason or "")
        if self._clock.now() >= visit.end:
            raise VisitOver("this visit's time is over")


def _check_guests(kind: VisitKind, guests: list[GuestSpec]) -> None:
    roles = sorted(g.role.value for g in guests)
    wanted = sorted(r.value for r in SEATS[kind] if r is not Role.TERMINAL)
    if roles != wanted:
        raise BadRequest(f"a {kind.value} visit needs guests {wanted}, got {roles}")


def visit_json(visit: Visit, *, staff: bool = False) -> dict[str, object]:
    """A visit as the API shows it; participant names are masked unless the reader is staff."""
    return {
        "id": visit.id,
        "code": visit.code,
        "facility_id": visit.facility_id,
        "terminal_id": visit.terminal_id,
        "inmate_id": visit.inmate_id,
        "kind": visit.kind.value,
        "status": visit.status.value,
        "start_ms": int(visit.start * 1000),
        "end_ms": int(visit.end * 1000),
        "end_reason": visit.end_reason.value if visit.end_reason else None,
        "participants": [
            {"id": p.id, "role": p.role.value, "name": p.name if staff else mask(p.name, 1)}
            for p in visit.participants
        ],
    }
