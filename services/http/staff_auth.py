"""The one place the REST API checks a staff bearer token and its role.

TODO: when ``services.access.guard`` (token -> claims, revocation, role, facility) lands, this
module becomes a thin call into it; handlers keep calling ``StaffAuth.require``.
"""

from __future__ import annotations

from aiohttp import web

from services.access.revocation import Revocations
from services.access.tokens import Claims, TokenService
from services.clock import Clock
from services.domain.model import Role, Visit
from services.errors import Forbidden, NotFound, Unauthorized
from services.store.protocols import Store

AUDIT_READERS = (Role.AUDITOR, Role.ADMIN)
SCHEDULERS = (Role.OFFICER, Role.ADMIN)
VISIT_READERS = (Role.OFFICER, Role.ADMIN, Role.AUDITOR)


class StaffAuth:
    """Bearer token -> claims of a staff member holding one of the roles a handler names."""

    def __init__(self, tokens: TokenService, clock: Clock, revocations: Revocations) -> None:
        self._tokens = tokens
        self._clock = clock
        self._revocations = revocations

    async def require(self, request: web.Request, *roles: Role) -> Claims:
        """The caller's claims, or 401 (no or bad token) / 403 (visit token, wrong role)."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("send `Authorization: Bearer <token>`")
        claims = self._tokens.decode(token.strip(), self._clock.now())
        if claims.visit:
            raise Forbidden("a visit token cannot use the staff API")
        await self._revocations.check(claims)
        if claims.role not in roles:
            raise Forbidden(f"this needs one of: {', '.join(r.value for r in roles)}")
        return claims


def in_scope(claims: Claims, facility_id: str) -> bool:
    """Staff bound to a facility reach only its records; staff without one reach every one."""
    return not claims.facility or claims.facility == facility_id


async def scoped_visit(store: Store, claims: Claims, request: web.Request) -> Visit:
    """The visit named in the path, if it exists and is in the reader's facility.

    Staff bound to a facility see only its visits; one elsewhere is "no such visit", so that
    its existence does not leak either. Staff without a facility see every facility.
    """
    visit = await store.get_visit(request.match_info["visit_id"])
    if visit is None or not in_scope(claims, visit.facility_id):
        raise NotFound("no such visit")
    return visit
