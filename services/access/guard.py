"""The one guard in front of the REST API and ``/ws``: token → claims, revocation, role, facility.

Every request and every ``hello`` goes through here, so that an expired, forged or revoked token,
a visit token on the staff API, or a staff token on ``/ws`` is refused the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from services.access.revocation import Revocations
from services.access.tokens import Claims, TokenService
from services.clock import Clock
from services.domain.model import Role
from services.errors import Forbidden, Unauthorized

# Who may take a seat in a visit over ``/ws`` (officers as monitors); auditors and admins never.
JOINABLE = frozenset({Role.FAMILY, Role.TEACHER, Role.TERMINAL, Role.OFFICER})


def scope(claims: Claims) -> tuple[str, ...] | None:
    """The facilities whose records ``claims`` reach; None for staff of every facility. A
    regional auditor reaches its region's (none if its region is empty, never all of them)."""
    if claims.role is Role.REGIONAL_AUDITOR:
        return claims.facilities
    return (claims.facility,) if claims.facility else None


def in_scope(claims: Claims, facility_id: str) -> bool:
    """Staff bound to a facility (or a region's) reach its records only; staff without one reach
    every facility."""
    reach = scope(claims)
    return reach is None or facility_id in reach


class Guard:
    """Checks tokens against the signing keys, the clock and the revocations."""

    def __init__(self, tokens: TokenService, revocations: Revocations, clock: Clock) -> None:
        self._tokens = tokens
        self._revocations = revocations
        self._clock = clock

    def claims(self, token: str) -> Claims:
        """The claims of a well-signed, unexpired token (revocation is not checked here)."""
        return self._tokens.decode(token, self._clock.now())

    @staticmethod
    def require(claims: Claims, roles: Collection[Role]) -> None:
        """Forbidden unless the token has one of ``roles``. Facility scope is ``in_scope``: the
        caller answers "no such ..." for a record outside it, so its existence does not leak."""
        if claims.role not in roles:
            raise Forbidden(f"this needs one of: {', '.join(r.value for r in roles)}")

    async def staff(self, token: str, roles: Collection[Role]) -> Claims:
        """A staff token for the REST API: not a visit's, not revoked, and of one of ``roles``."""
        claims = self.claims(token)
        if claims.visit:
            raise Forbidden("a visit token cannot use the staff API")
        await self._revocations.check(claims)
        self.require(claims, roles)
        return claims

    async def seat(self, token: str, index: Callable[[Claims], None]) -> Claims:
        """A visit token for ``/ws``, not revoked. ``index`` sees the claims before the
        revocation check, so that a revocation written meanwhile still finds the socket."""
        claims = self.claims(token)
        if claims.role not in JOINABLE or not claims.visit:
            raise Unauthorized("this token does not open a visit")
        claims = await self._revocations.with_seat_visitor(claims)
        index(claims)
        await self._revocations.check(claims)
        return claims
