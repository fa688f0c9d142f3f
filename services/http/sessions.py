"""The console session's cookie on the HTTP side: read it, refuse a change sent without its CSRF
token or from another site, and send the renewed token back (``services.access.sessions``)."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from services.access.sessions import (
    BACKGROUND_HEADER,
    BACKGROUND_QUERY,
    CSRF_HEADER,
    SESSION_COOKIE,
    UNSAFE_METHODS,
    StaffSessions,
)
from services.access.tokens import Claims
from services.domain.model import Role
from services.errors import CsrfRefused, Unauthorized
from services.http.plumbing import Handler

# The renewed token a request earned, for ``renewal_middleware`` to set on its response.
RENEWED = web.RequestKey("session_renewed", str)
# Sec-Fetch-Site values of a request our own pages (or the officer typing the URL) made.
OWN_SITE = frozenset({"same-origin", "none"})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class SessionCookies:
    """A console session from its cookie, for ``StaffAuth`` and the console's own routes."""

    def __init__(self, sessions: StaffSessions, base_url: str) -> None:
        self.sessions = sessions
        self._origin = _origin(base_url)
        self.secure = base_url.startswith("https:")  # behind https the cookie never goes in clear

    def present(self, request: web.Request) -> bool:
        return bool(request.cookies.get(SESSION_COOKIE))

    def check_origin(self, request: web.Request) -> None:
        """CsrfRefused when the browser says the request came from another site. A browser sends
        ``Sec-Fetch-Site`` or ``Origin`` with every cross-site POST; a client sending neither is
        not a browser, and still needs the CSRF token."""
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in OWN_SITE:
            raise CsrfRefused("a change must come from the console's own page")
        origin = request.headers.get("Origin")
        if origin is None:
            return
        ours = {self._origin, f"http://{request.host}".lower(), f"https://{request.host}".lower()}
        if origin.lower() not in ours:
            raise CsrfRefused("a change must come from the console's own page")

    async def require(self, request: web.Request, roles: Collection[Role]) -> Claims:
        """The session's claims; for an unsafe method also its CSRF token and our origin."""
        cookie = request.cookies.get(SESSION_COOKIE, "")
        if not cookie:
            raise Unauthorized("log in first")
        unsafe = request.method in UNSAFE_METHODS
        if unsafe:
            self.check_origin(request)
        used = (
            request.headers.get(BACKGROUND_HEADER) != "1"
            and request.query.get(BACKGROUND_QUERY) != "1"
        )
        session = await self.sessions.resume(cookie, roles, used)
        if unsafe:
            self.sessions.check_csrf(session.claims, request.headers.get(CSRF_HEADER, ""))
        if session.renewed:
            request[RENEWED] = session.renewed
        return session.claims

    def set(self, response: web.StreamResponse, token: str) -> None:
        """The session cookie: the browser sends it to this site's own requests only, and no
        script reads it. No Max-Age: it ends with the browser, or sooner by the token's expiry."""
        response.set_cookie(
            SESSION_COOKIE, token, path="/", httponly=True, samesite="Strict", secure=self.secure
        )

    def clear(self, response: web.StreamResponse) -> None:
        response.del_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=self.secure
        )

    def middleware(self) -> Middleware:
        """Sends a renewed session token back with the answer to the request that earned it."""

        @web.middleware
        async def renewal(request: web.Request, handler: Handler) -> web.StreamResponse:
            response = await handler(request)
            token = request.get(RENEWED, "")
            if token and not response.prepared:
                self.set(response, token)
            return response

        return renewal
