"""Staff console sessions: a staff token kept in a cookie, renewed by use, ended by logout, by
a staff disable, by an idle timeout and by an absolute lifetime.

A session is a staff token (``services.access.tokens``) whose expiry slides: each use by the
officer issues the same token (same ``jti``, same ``iat``: the time of the login) with its expiry
moved to ``idle_s`` from now, never past ``iat + max_s``. The server-side state is the revocation
table: logout revokes the ``jti`` (every renewed copy with it), and a staff disable shuts out the
account's every token (``services.access.revocation``). Nothing is kept per node, so any node
serves any session.

The cookie alone never authorises a change: an unsafe request must also carry the session's CSRF
token, an HMAC of its ``jti`` that only a page of ours can read (``GET /officer/session``
answers it to same-origin scripts only; no CORS), and come from our own origin when the browser
says where it came from (``Origin``, ``Sec-Fetch-Site``). The cookie's ``SameSite=Strict`` is a
second lock, not the only one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Collection
from dataclasses import dataclass

from services.access.guard import Guard
from services.access.revocation import Revocations
from services.access.tokens import Claims, TokenService
from services.clock import Clock
from services.domain.model import Role, Staff
from services.errors import CsrfRefused, TokenExpired
from services.ids import Actor

SESSION_COOKIE = "tatap_session"
CSRF_HEADER = "X-CSRF-Token"
# A request the page makes on its own (the queue's poll) says so: it does not count as use, so
# a console left open on an empty desk still times out.
BACKGROUND_HEADER = "X-Tatap-Background"
# The same said in the query, for what cannot set a header: a page's EventSource (the board's
# stream reopens by itself all day, which is not the officer's use).
BACKGROUND_QUERY = "background"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Who gets which console: an auditor logging in at /officer is sent to its own.
CONSOLE_OF = {
    Role.OFFICER: "/officer",
    Role.ADMIN: "/officer",
    Role.AUDITOR: "/auditor",
    Role.REGIONAL_AUDITOR: "/auditor",
    Role.INVESTIGATOR: "/auditor",
}


@dataclass(frozen=True, slots=True)
class SessionLimits:
    idle_s: float = 30 * 60.0  # without use
    max_s: float = 12 * 3600.0  # after the login, whatever happens


@dataclass(frozen=True, slots=True)
class Session:
    """A session let in: its claims, and the renewed cookie value to send back ("" for none)."""

    claims: Claims
    renewed: str = ""


class StaffSessions:
    """Open, resume, renew and close console sessions; their CSRF tokens."""

    def __init__(
        self,
        tokens: TokenService,
        guard: Guard,
        revocations: Revocations,
        clock: Clock,
        key: bytes,
        limits: SessionLimits | None = None,
    ) -> None:
        self._tokens = tokens
        self._guard = guard
        self._revocations = revocations
        self._clock = clock
        self._key = hashlib.sha256(b"tatap-csrf\0" + key).digest()  # not the signing key itself
        self.limits = limits or SessionLimits()

    def open(self, staff: Staff) -> tuple[str, Claims]:
        """A new session for a staff member whose password was just checked."""
        now = self._clock.now()
        return self._tokens.issue(
            sub=staff.id,
            role=staff.role,
            visit="",
            now=now,
            ttl_s=self.limits.idle_s,
            not_after=now + self.limits.max_s,
            facility=staff.facility_id or "",
            facilities=staff.facilities,
        )

    async def resume(self, cookie: str, roles: Collection[Role], used: bool) -> Session:
        """The session behind ``cookie`` if it is live, not revoked and of one of ``roles``;
        ``used``: the officer did something, so the idle timeout starts again."""
        claims = await self._guard.staff(cookie, roles)
        now = self._clock.now()
        ends = claims.iat + self.limits.max_s
        if now >= ends:
            raise TokenExpired("the session is over: log in again")
        if not used:
            return Session(claims)
        exp = min(now + self.limits.idle_s, ends)
        # The token carries whole seconds: renew only when that moves it.
        if int(exp) <= int(claims.exp):
            return Session(claims)
        return Session(claims, self._tokens.renew(claims, exp))

    def csrf(self, claims: Claims) -> str:
        """The session's CSRF token: an HMAC of its ``jti``, the same for each renewed copy."""
        return hmac.new(self._key, claims.jti.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, claims: Claims, sent: str) -> None:
        """CsrfRefused unless ``sent`` is the session's CSRF token."""
        if not sent or not hmac.compare_digest(sent.encode(), self.csrf(claims).encode()):
            raise CsrfRefused("this change needs the session's X-CSRF-Token header")

    async def close(self, claims: Claims) -> None:
        """Logout: the session's ``jti`` is revoked (audited), whatever copy of it is used."""
        # Revoked until the latest any renewed copy can live.
        last = dataclasses.replace(claims, exp=claims.iat + self.limits.max_s)
        await self._revocations.revoke_token(last, Actor(claims.role, claims.sub))


__all__ = [
    "BACKGROUND_HEADER",
    "BACKGROUND_QUERY",
    "CONSOLE_OF",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Session",
    "SessionLimits",
    "StaffSessions",
]
