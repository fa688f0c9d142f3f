"""Staff accounts for admins: list, create, reset a password, disable and enable again. An admin
of one facility manages that facility's accounts only; each change is audited with the admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.access.tokens import Claims
from services.admin.provision import Admin
from services.domain.model import STAFF_ROLES, Role, Staff
from services.errors import BadRequest, NotFound
from services.http.api.context import ApiContext
from services.http.fields import Text, parse_body, spec
from services.http.plumbing import json_body, respond
from services.http.staff_auth import StaffAuth
from services.ids import Actor

MAX_LISTED = 1000
MIN_PASSWORD = 10


@dataclass(frozen=True)
class StaffList:
    """Accounts by username: ``{id, username, role, facility_id, disabled}`` each; and the
    facilities (``{id, name}``) the admin may make accounts in, with their names."""

    staff: list[dict[str, Any]]
    facilities: list[dict[str, str]]


@dataclass(frozen=True)
class NewStaff:
    username: str = spec(Text("`{key}` is 1 to 64 characters without spaces", max_len=64))
    role: str = spec(Text("`{key}` is officer, auditor or admin", max_len=20))
    password: str = spec(
        Text(f"`{{key}}` is {MIN_PASSWORD} to 200 characters", max_len=200, min_len=MIN_PASSWORD)
    )
    facility_id: str = spec(
        Text("`{key}` names a facility", max_len=64, min_len=0, required=False, default="")
    )


@dataclass(frozen=True)
class NewPassword:
    password: str = spec(
        Text(f"`{{key}}` is {MIN_PASSWORD} to 200 characters", max_len=200, min_len=MIN_PASSWORD)
    )


@dataclass(frozen=True)
class Disabling:
    reason: str = spec(
        Text(
            "`{key}` is at most 200 characters", max_len=200, min_len=0, required=False, default=""
        )
    )


def account_json(staff: Staff, disabled: bool) -> dict[str, Any]:
    return {
        "id": staff.id,
        "username": staff.username,
        "role": staff.role.value,
        "facility_id": staff.facility_id or "",
        "disabled": disabled,
    }


class AccountsApi:
    """``/api/v1/staff`` (admin)."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth) -> None:
        self._ctx = ctx
        self._auth = auth

    async def list(self, request: web.Request) -> web.Response:
        claims = await self._auth.require(request, Role.ADMIN)
        store = self._ctx.store
        found = await store.staff_list(claims.facility or None, MAX_LISTED)
        facilities = [
            {"id": i, "name": n}
            for i, n in await store.facility_names(MAX_LISTED)
            if not claims.facility or i == claims.facility
        ]
        accounts = [account_json(a.staff, a.disabled) for a in found]
        return respond(StaffList(accounts, facilities))

    async def create(self, request: web.Request) -> web.Response:
        """A new account; an admin of one facility creates accounts of that facility only."""
        claims = await self._auth.require(request, Role.ADMIN)
        body = parse_body(NewStaff, await json_body(request))
        try:
            role = Role(body.role)
        except ValueError as exc:
            raise BadRequest("`role` is officer, auditor or admin", field="role") from exc
        if role not in STAFF_ROLES:
            raise BadRequest("`role` is officer, auditor or admin", field="role")
        facility_id = body.facility_id
        if claims.facility and facility_id != claims.facility:
            raise NotFound("no such facility", field="facility_id")
        if await self._ctx.store.get_staff_by_username(body.username) is not None:
            raise BadRequest("that username is taken", field="username")
        admin = Admin(self._ctx.store, Actor(claims.role, claims.sub))
        staff = await admin.staff(body.username, role, body.password, facility_id or None)
        return respond(account_json(staff, False), status=201)

    async def reset_password(self, request: web.Request) -> web.Response:
        """A new password for an account (audited; the password itself is never logged); the
        account's sessions and tokens end with it."""
        claims = await self._auth.require(request, Role.ADMIN)
        staff = await self._scoped(claims, request)
        body = parse_body(NewPassword, await json_body(request))
        admin = Admin(self._ctx.store, Actor(claims.role, claims.sub))
        await admin.reset_password(staff, body.password, MIN_PASSWORD)
        return respond(account_json(staff, await self._disabled(staff)))

    async def disable(self, request: web.Request) -> web.Response:
        """The account can no longer log in and its sessions and tokens stop at once."""
        claims = await self._auth.require(request, Role.ADMIN)
        staff = await self._scoped(claims, request)
        if staff.id == claims.sub:
            raise BadRequest("an admin cannot disable its own account")
        body = parse_body(Disabling, await json_body(request, required=False))
        await self._ctx.revocations.disable_staff(
            staff.username, Actor(claims.role, claims.sub), body.reason
        )
        return respond(account_json(staff, True))

    async def _scoped(self, claims: Claims, request: web.Request) -> Staff:
        staff = await self._ctx.store.get_staff(request.match_info["staff_id"])
        if staff is None or (claims.facility and staff.facility_id != claims.facility):
            raise NotFound("no such staff user")
        return staff

    async def _disabled(self, staff: Staff) -> bool:
        return any(
            a.disabled and a.staff.id == staff.id
            for a in await self._ctx.store.staff_list(staff.facility_id, MAX_LISTED)
        )
