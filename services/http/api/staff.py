"""Staff login: username and password -> a bearer token, and a cookie that marks the device."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from services.access.known_sources import COOKIE_PATH, DEVICE_COOKIE
from services.http.api.context import ApiContext
from services.http.fields import Text, parse_body, spec
from services.http.plumbing import json_body, respond

CREDENTIALS = "`username` and `password` are required strings"


@dataclass(frozen=True)
class Login:
    """A staff login; overlong values are cut (100, 200) rather than refused."""

    username: str = spec(Text(CREDENTIALS, max_len=None, min_len=0))
    password: str = spec(Text(CREDENTIALS, max_len=None, min_len=0))


@dataclass(frozen=True)
class LoggedIn:
    """A staff bearer token and whose it is."""

    token: str
    role: str
    staff_id: str


class StaffApi:
    """``POST /api/v1/auth/login``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    async def login(self, request: web.Request) -> web.Response:
        """Password check (throttled per name and address) -> token and a known-device cookie."""
        body = parse_body(Login, await json_body(request))
        source = request.remote or ""  # the client, when a trusted proxy forwarded it
        device = request.cookies.get(DEVICE_COOKIE, "")
        token, staff, cookie = await self._ctx.staff.login(
            body.username[:100], body.password[:200], source, device
        )
        await self._ctx.revocations.check_staff(staff.id)  # a disabled account gets no token
        resp = respond(LoggedIn(token=token, role=staff.role.value, staff_id=staff.id))
        set_device_cookie(resp, self._ctx, cookie)
        return resp


def set_device_cookie(
    response: web.StreamResponse, ctx: ApiContext, value: str, path: str = COOKIE_PATH
) -> None:
    """Lets this browser past the name's backoff next time (services.access.logins), at the
    login it was set by."""
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=int(ctx.staff.logins.limits.known_for_s),
        path=path,
        httponly=True,
        samesite="Strict",
        secure=ctx.base_url.startswith("https:"),
    )
