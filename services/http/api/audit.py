"""The audit log for auditors (and admins): search, one visit's timeline, verify, checkpoints.

Every handler here reads; an auditor's token never writes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from services.audit.query import AuditQuery, audit_query
from services.audit.signing import public_hex
from services.booking.scheduling import visit_json
from services.errors import Forbidden
from services.http.api.context import ApiContext
from services.http.plumbing import respond
from services.http.staff_auth import AUDIT_READERS, StaffAuth, scoped_visit
from services.params import query_int

# The query parameters of an audit search (``audit_query``), as the document lists them.
AUDIT_FILTERS = (
    "facility",
    "inmate",
    "visitor",
    "terminal",
    "visit",
    "action",
    "since_ms",
    "until_ms",
    "after",
    "limit",
)


@dataclass(frozen=True)
class EventPage:
    """Events oldest first; ``next_after`` is the ``after`` of the next page (null at the end)."""

    events: list[dict[str, Any]]
    next_after: int | None


@dataclass(frozen=True)
class Timeline:
    """One visit and every event logged about it."""

    visit: dict[str, object]
    timeline: list[dict[str, Any]]


@dataclass(frozen=True)
class SignedCheckpoint:
    """A signed chain head."""

    seq: int
    hash: str
    key_id: str
    signature: str
    ts_ms: int


@dataclass(frozen=True)
class WitnessKey:
    """A checkpoint signing key and the seq it was pinned at."""

    key_id: str
    public_key: str
    pinned_seq: int


@dataclass(frozen=True)
class CheckpointPage:
    """What a witness keeps: signed heads after ``after`` and the pinned public keys."""

    checkpoints: list[SignedCheckpoint]
    next_after: int | None
    keys: list[WitnessKey]


class AuditApi:
    """``/api/v1/audit/...``."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth) -> None:
        self._ctx = ctx
        self._auth = auth

    async def events(self, request: web.Request) -> web.Response:
        """Search the log; a facility's auditor reads that facility's log only."""
        claims = await self._auth.require(request, *AUDIT_READERS)
        query = audit_query(request.query)
        if claims.facility:
            if query.facility_id and query.facility_id != claims.facility:
                raise Forbidden("you can read your own facility's log only")
            query = replace(query, facility_id=claims.facility)
        rows = await self._ctx.store.audit_search(query)
        nxt = rows[-1].seq if len(rows) == query.limit else None
        return respond(EventPage(events=[r.to_json() for r in rows], next_after=nxt))

    async def visit(self, request: web.Request) -> web.Response:
        """One visit's timeline."""
        claims = await self._auth.require(request, *AUDIT_READERS)
        visit = await scoped_visit(self._ctx.store, claims, request)
        rows = await self._ctx.store.audit_search(AuditQuery(visit_id=visit.id, limit=10_000))
        timeline = [r.to_json() for r in rows]
        return respond(Timeline(visit=visit_json(visit, staff=True), timeline=timeline))

    async def verify(self, request: web.Request) -> web.Response:
        """Check the hash chain and its signatures."""
        claims = await self._auth.require(request, *AUDIT_READERS)
        # The whole chain is checked (integrity is global), but a facility's auditor is told only
        # how many of its own facility's events it holds.
        result = await self._ctx.store.audit_verify(claims.facility)
        body = result.to_json()
        if claims.facility:
            body["facility_id"] = claims.facility
        return respond(body)

    async def checkpoints(self, request: web.Request) -> web.Response:
        """Signed heads for a witness to keep elsewhere, and the pinned public keys."""
        await self._auth.require(request, *AUDIT_READERS)
        after = query_int(request.query, "after", 0, 0, 2**62) or 0
        limit = query_int(request.query, "limit", 1000, 1, 1000) or 1000
        page = await self._ctx.store.audit_checkpoints(after, limit)
        keys = await self._ctx.store.audit_keys()
        out = CheckpointPage(
            checkpoints=[
                SignedCheckpoint(cp.seq, cp.hash, cp.key_id, cp.signature, ts) for cp, ts in page
            ],
            next_after=page[-1][0].seq if len(page) == limit else None,
            keys=[WitnessKey(k.key_id, public_hex(k.public_key), k.pinned_seq) for k in keys],
        )
        return respond(out)
