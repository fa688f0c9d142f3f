"""The REST API's side of the one guard: the bearer header read, or the console's session
cookie (``services.http.sessions``: a change needs its CSRF token too), then
``services.access.guard``."""

from __future__ import annotations

from aiohttp import web

from services.access.guard import Guard, in_scope
from services.access.tokens import Claims
from services.domain.model import AUDITOR_ROLES, Facility, Role, Visit
from services.errors import NotFound, Unauthorized
from services.http.sessions import SessionCookies
from services.ids import FacilityId
from services.store.protocols import Store

AUDIT_READERS = (*sorted(AUDITOR_ROLES), Role.ADMIN)
SCHEDULERS = (Role.OFFICER, Role.ADMIN)
VISIT_READERS = (Role.OFFICER, Role.ADMIN, *sorted(AUDITOR_ROLES))


class StaffAuth:
    """Bearer token or console session -> claims of a staff member holding one of the roles a
    handler names."""

    def __init__(self, guard: Guard, cookies: SessionCookies) -> None:
        self._guard = guard
        self.cookies = cookies

    async def require(self, request: web.Request, *roles: Role) -> Claims:
        """The caller's claims, or 401 (no or bad token) / 403 (visit token, wrong role, a
        session's change without its CSRF token)."""
        header = request.headers.get("Authorization", "")
        if not header and self.cookies.present(request):
            return await self.cookies.require(request, roles)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("send `Authorization: Bearer <token>`")
        return await self._guard.staff(token.strip(), roles)


async def scoped_facility(store: Store, claims: Claims, facility_id: str | None) -> Facility:
    """The facility named (staff bound to one may leave it out), if it exists and is in the
    reader's scope; "no such facility" otherwise, as for one that does not exist."""
    facility_id = facility_id or claims.facility
    if not facility_id or len(facility_id) > 64 or not in_scope(claims, facility_id):
        raise NotFound("no such facility")
    facility = await store.get_facility(FacilityId(facility_id))
    if facility is None:
        raise NotFound("no such facility")
    return facility


async def scoped_visit(store: Store, claims: Claims, request: web.Request) -> Visit:
    """The visit named in the path, if it exists and is in the reader's facility.

    Staff bound to a facility see only its visits; one elsewhere is "no such visit", so that
    its existence does not leak either. Staff without a facility see every facility.
    """
    visit = await store.get_visit(request.match_info["visit_id"])
    if visit is None or not in_scope(claims, visit.facility_id):
        raise NotFound("no such visit")
    return visit
