"""The JSON REST API under ``/api/v1/``: logins, family links, visits for officers, audit for
auditors.

Every handler validates its input and answers errors as ``{"error": {"code", "message"}}`` with a
fitting 4xx (the middleware in ``services.http.plumbing``); an auditor's token reads, never writes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from aiohttp import web

from services.access.known_sources import COOKIE_PATH, DEVICE_COOKIE
from services.access.revocation import Revocations
from services.access.tokens import Claims, TokenService
from services.audit.query import AuditQuery, audit_query
from services.audit.signing import public_hex
from services.booking.scheduling import GuestSpec, VisitService, visit_json
from services.clock import Clock
from services.domain.model import EndReason, Role, Visit, VisitKind, VisitorId
from services.errors import BadRequest, Forbidden, NotFound, Unauthorized
from services.http.openapi import OPENAPI
from services.http.plumbing import json_body, query_int, respond
from services.store.protocols import Store


class LiveVisits(Protocol):
    """What the API asks of the node holding the live sessions (the signaling hub)."""

    async def terminate(self, visit_id: str, actor: tuple[str, str], reason: str) -> None: ...
    def drop(self, visit_id: str, reason: EndReason) -> None: ...


AUDIT_READERS = (Role.AUDITOR, Role.ADMIN)
# How far from now a new visit may start: a little in the past (clock skew, a visit booked as it
# begins), at most a year ahead; anything else is a typo or garbage.
MAX_PAST_START_MS = 3_600_000
MAX_FUTURE_START_MS = 366 * 86_400_000
SCHEDULERS = (Role.OFFICER, Role.ADMIN)


class Api:
    def __init__(
        self,
        store: Store,
        tokens: TokenService,
        visits: VisitService,
        clock: Clock,
        live: LiveVisits,
        base_url: str,
        revocations: Revocations,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._visits = visits
        self._clock = clock
        self._live = live
        self._base_url = base_url
        self._revocations = revocations

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/openapi.json", self.openapi),
            web.post("/api/v1/auth/login", self.login),
            web.post("/api/v1/join", self.join),
            web.post("/api/v1/visits", self.create_visit),
            web.get("/api/v1/visits/{visit_id}", self.get_visit),
            web.post("/api/v1/visits/{visit_id}/cancel", self.cancel_visit),
            web.post("/api/v1/visits/{visit_id}/terminate", self.terminate_visit),
            web.post("/api/v1/visits/{visit_id}/monitor", self.monitor_visit),
            web.post("/api/v1/participants/{participant_id}/revoke", self.revoke_participant),
            web.get("/api/v1/audit/events", self.audit_events),
            web.get("/api/v1/audit/visits/{visit_id}", self.audit_visit),
            web.get("/api/v1/audit/verify", self.audit_verify),
            web.get("/api/v1/audit/checkpoints", self.audit_checkpoints),
        ]

    async def _staff(self, request: web.Request, *roles: Role) -> Claims:
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

    async def openapi(self, request: web.Request) -> web.Response:
        return respond(OPENAPI)

    async def login(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise BadRequest("`username` and `password` are required strings")
        source = request.remote or ""  # the client, when a trusted proxy forwarded it
        device = request.cookies.get(DEVICE_COOKIE, "")
        token, staff, cookie = await self._visits.login(
            username[:100], password[:200], source, device
        )
        await self._revocations.check_staff(staff.id)  # a disabled account gets no token
        resp = respond({"token": token, "role": staff.role.value, "staff_id": staff.id})
        # Lets this browser past the name's backoff next time (services.access.logins).
        known_s = int(self._visits.logins.limits.known_for_s)
        resp.set_cookie(
            DEVICE_COOKIE,
            cookie,
            max_age=known_s,
            path=COOKIE_PATH,
            httponly=True,
            samesite="Strict",
            secure=self._base_url.startswith("https:"),
        )
        return resp

    async def join(self, request: web.Request) -> web.Response:
        """A family or teacher link → a token for the websocket, valid until the visit ends."""
        body = await json_body(request)
        link = body.get("link")
        if not isinstance(link, str):
            raise BadRequest("`link` is required")
        token, claims, visit, participant = await self._visits.open_link(link)
        await self._revocations.check(claims)  # a revoked participant's link opens nothing
        return respond(
            {
                "token": token,
                "expires_ms": int(claims.exp * 1000),
                "you": {"id": participant.id, "role": participant.role.value},
                "visit": visit_json(visit),
                "now_ms": int(self._clock.now() * 1000),
            }
        )

    async def create_visit(self, request: web.Request) -> web.Response:
        claims = await self._staff(request, *SCHEDULERS)
        body = await json_body(request)
        try:
            kind = VisitKind(body.get("kind", "regular"))
        except ValueError as exc:
            raise BadRequest("`kind` must be regular, education or legal") from exc
        start_ms = body.get("start_ms")
        if not isinstance(start_ms, int) or isinstance(start_ms, bool) or start_ms <= 0:
            raise BadRequest("`start_ms` must be a positive integer (ms since the epoch)")
        now_ms = int(self._clock.now() * 1000)
        if not now_ms - MAX_PAST_START_MS <= start_ms <= now_ms + MAX_FUTURE_START_MS:
            raise BadRequest("`start_ms` must lie between an hour ago and a year from now")
        guests = [_guest(g) for g in _list(body, "guests")]
        for guest in guests:
            if guest.visitor_id and await self._store.get_visitor(guest.visitor_id) is None:
                raise NotFound("no such visitor")
        length = body.get("length_s")
        if length is not None and (not isinstance(length, int) or not 60 <= length <= 4 * 3600):
            raise BadRequest("`length_s` must be an integer between 60 and 14400")
        terminal = await self._store.get_terminal(_str(body, "terminal_id"))
        if terminal is None or not _in_scope(claims, terminal.facility_id):
            raise NotFound("no such terminal")
        scheduled = await self._visits.schedule(
            terminal_id=terminal.id,
            inmate_id=_str(body, "inmate_id"),
            kind=kind,
            start=start_ms / 1000,
            guests=guests,
            actor=(claims.role, claims.sub),
            length_s=length,
        )
        out = visit_json(scheduled.visit, staff=True)
        out["links"] = {pid: f"{self._base_url}/v/{s}" for pid, s in scheduled.links.items()}
        return respond(out, status=201)

    async def _visit(self, claims: Claims, request: web.Request) -> Visit:
        """The visit named in the path, if it exists and is in the reader's facility.

        Staff bound to a facility see only its visits; one elsewhere is "no such visit", so that
        its existence does not leak either. Staff without a facility see every facility.
        """
        visit = await self._store.get_visit(request.match_info["visit_id"])
        if visit is None or not _in_scope(claims, visit.facility_id):
            raise NotFound("no such visit")
        return visit

    async def get_visit(self, request: web.Request) -> web.Response:
        claims = await self._staff(request, Role.OFFICER, Role.ADMIN, Role.AUDITOR)
        return respond(visit_json(await self._visit(claims, request), staff=True))

    async def cancel_visit(self, request: web.Request) -> web.Response:
        claims = await self._staff(request, *SCHEDULERS)
        body = await json_body(request, required=False)
        reason = _reason(body)
        target = await self._visit(claims, request)
        visit = await self._visits.cancel(target.id, (claims.role, claims.sub), reason)
        self._live.drop(visit.id, EndReason.CANCELLED)  # anyone waiting early is told and let go
        return respond(visit_json(visit, staff=True))

    async def terminate_visit(self, request: web.Request) -> web.Response:
        claims = await self._staff(request, Role.OFFICER)
        body = await json_body(request, required=False)
        reason = _reason(body)
        visit = await self._visit(claims, request)
        await self._live.terminate(visit.id, (Role.OFFICER.value, claims.sub), reason)
        return respond({"visit_id": visit.id, "ended": "terminated"}, status=202)

    async def monitor_visit(self, request: web.Request) -> web.Response:
        claims = await self._staff(request, Role.OFFICER)
        visit = await self._visit(claims, request)
        token = await self._visits.monitor_token(claims, visit.id)
        return respond({"token": token})

    async def revoke_participant(self, request: web.Request) -> web.Response:
        """Shut a participant out: its link, its tokens, and its open sockets (closed now)."""
        claims = await self._staff(request, Role.OFFICER, Role.ADMIN)
        reason = _reason(await json_body(request, required=False))
        revocation = await self._revocations.revoke_participant(
            request.match_info["participant_id"],
            (claims.role.value, claims.sub),
            reason,
            facility_id=claims.facility,
        )
        return respond({"participant_id": revocation.subject, "revoked": True})

    async def audit_events(self, request: web.Request) -> web.Response:
        claims = await self._staff(request, *AUDIT_READERS)
        query = audit_query(request.query)
        if claims.facility:  # a facility's auditor reads that facility's log only
            if query.facility_id and query.facility_id != claims.facility:
                raise Forbidden("you can read your own facility's log only")
            query = replace(query, facility_id=claims.facility)
        rows = await self._store.audit_search(query)
        nxt = rows[-1].seq if len(rows) == query.limit else None
        return respond({"events": [r.to_json() for r in rows], "next_after": nxt})

    async def audit_visit(self, request: web.Request) -> web.Response:
        claims = await self._staff(request, *AUDIT_READERS)
        visit = await self._visit(claims, request)
        rows = await self._store.audit_search(AuditQuery(visit_id=visit.id, limit=10_000))
        return respond(
            {"visit": visit_json(visit, staff=True), "timeline": [r.to_json() for r in rows]}
        )

    async def audit_verify(self, request: web.Request) -> web.Response:
        claims = await self._staff(request, *AUDIT_READERS)
        # The whole chain is checked (integrity is global), but a facility's auditor is told only
        # how many of its own facility's events it holds.
        result = await self._store.audit_verify(claims.facility)
        body = result.to_json()
        if claims.facility:
            body["facility_id"] = claims.facility
        return respond(body, status=200)

    async def audit_checkpoints(self, request: web.Request) -> web.Response:
        """Signed heads for a witness to keep elsewhere, and the pinned public keys."""
        await self._staff(request, *AUDIT_READERS)
        after = query_int(request.query, "after", 0, 0, 2**62) or 0
        limit = query_int(request.query, "limit", 1000, 1, 1000) or 1000
        page = await self._store.audit_checkpoints(after, limit)
        keys = await self._store.audit_keys()
        return respond(
            {
                "checkpoints": [
                    {
                        "seq": cp.seq,
                        "hash": cp.hash,
                        "key_id": cp.key_id,
                        "signature": cp.signature,
                        "ts_ms": ts,
                    }
                    for cp, ts in page
                ],
                "next_after": page[-1][0].seq if len(page) == limit else None,
                "keys": [
                    {
                        "key_id": k.key_id,
                        "public_key": public_hex(k.public_key),
                        "pinned_seq": k.pinned_seq,
                    }
                    for k in keys
                ],
            }
        )


def _in_scope(claims: Claims, facility_id: str) -> bool:
    return not claims.facility or claims.facility == facility_id


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise BadRequest(f"`{key}` is required (a string of at most 64 characters)")
    return value


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 200:
        raise BadRequest("`reason` must be a string of at most 200 characters")
    return reason


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list) or not 0 < len(value) <= 3:
        raise BadRequest(f"`{key}` must be a list of 1 to 3 entries")
    return value


def _guest(item: Any) -> GuestSpec:
    if not isinstance(item, dict):
        raise BadRequest("each guest is an object {role, name, visitor_id?}")
    try:
        role = Role(str(item.get("role")))
    except ValueError as exc:
        raise BadRequest("a guest's role is family or teacher") from exc
    if role not in (Role.FAMILY, Role.TEACHER):
        raise BadRequest("a guest's role is family or teacher")
    visitor = item.get("visitor_id")
    if visitor is not None and not isinstance(visitor, str):
        raise BadRequest("`visitor_id` must be a string")
    return GuestSpec(role, _str(item, "name"), VisitorId(visitor) if visitor else None)
