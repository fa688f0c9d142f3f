"""The audit log for auditors (and admins): search, one visit's timeline, export, verify,
checkpoints.

Every handler here reads the log, and each read but the witness's (checkpoints) is itself an
audit event (``services.audit.reads``), written before the answer. Staff see the facilities
they reach (``services.access.guard.scope``): one, a regional auditor's region, or all.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, cast

import structlog
from aiohttp import web

from services.access.guard import scope
from services.access.tokens import Claims, staff_of
from services.audit.export import FORMATS, export_chunks
from services.audit.query import AuditQuery, audit_query, iter_events
from services.audit.reads import AuditReads, Read
from services.audit.runs import NODE_STARTED
from services.audit.signing import public_hex
from services.audit.witness import WitnessState, read_store
from services.booking.scheduling import visit_json
from services.domain.model import Visit, VisitStatus
from services.domain.pii import name_for
from services.errors import BadRequest, Forbidden, TatapError
from services.http.api.context import ApiContext
from services.http.plumbing import respond
from services.http.staff_auth import AUDIT_READERS, StaffAuth, scoped_visit
from services.params import query_int
from services.reports.lost import node_downs, visit_loss

# The query parameters of an audit search (``audit_query``), as the document lists them.
AUDIT_FILTERS = (
    "facility",
    "inmate",
    "visitor",
    "terminal",
    "visit",
    "action",
    "officer",
    "kind",
    "end_reason",
    "since_ms",
    "until_ms",
    "after",
    "before",
    "order",
    "limit",
)
log = structlog.get_logger("tatap.audit")
EXPORT_PARAMS = ("format", *(f for f in AUDIT_FILTERS if f not in ("after", "before", "limit")))


@dataclass(frozen=True)
class EventPage:
    """Events oldest first (``order=desc``: newest first); the next page is asked for with
    ``after=next_after`` (or ``before=next_before``); null at the end."""

    events: list[dict[str, Any]]
    next_after: int | None
    next_before: int | None = None


@dataclass(frozen=True)
class MediaUp:
    """An interval when the visit's media was up."""

    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Timeline:
    """One visit, every event logged about it, and when its media was up."""

    visit: dict[str, object]
    timeline: list[dict[str, Any]]
    media: list[MediaUp]
    # Time lost to faults (services/reports/lost.py): scheduled_ms, connected_ms, lost_ms by
    # cause (system, family, officer), and gaps with their cause.
    loss: dict[str, object]


@dataclass(frozen=True)
class WitnessView:
    """The external witness's last head, and how old it is; ``error`` if it cannot be read."""

    configured: bool
    seq: int | None = None
    hash: str | None = None
    ts_ms: int | None = None
    age_s: int | None = None
    heads: int = 0
    error: str | None = None


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
        self._reads = AuditReads(ctx.store)

    async def _read(
        self, claims: Claims, read: Read, query: AuditQuery | None = None, **where: str
    ) -> None:
        """The read recorded (on disk) before it is answered; after the read itself, so that a
        search does not find its own record."""
        facility = where.get("facility_id") or (query.facility_id if query else "")
        await self._reads.record(
            read,
            claims.role.value,
            staff_of(claims),
            facility_id=facility or claims.facility,
            visit_id=where.get("visit_id", ""),
            query=query,
        )

    async def events(self, request: web.Request) -> web.Response:
        """Search the log, within the facilities the reader reaches."""
        claims = await self._auth.require(request, *AUDIT_READERS)
        query = scoped_query(claims, audit_query(request.query))
        rows = await self._ctx.store.audit_search(query)
        await self._read(claims, Read.SEARCH, query)
        full = len(rows) == query.limit
        last = rows[-1].seq if full else None
        page = EventPage(
            events=[r.to_json() for r in rows],
            next_after=None if query.newest_first else last,
            next_before=last if query.newest_first else None,
        )
        return respond(page)

    async def visit(self, request: web.Request) -> web.Response:
        """One visit's timeline, with the intervals its media was up."""
        claims = await self._auth.require(request, *AUDIT_READERS)
        visit = await scoped_visit(self._ctx.store, claims, request)
        rows = await self._ctx.store.audit_search(AuditQuery(visit_id=visit.id, limit=10_000))
        await self._read(claims, Read.TIMELINE, facility_id=visit.facility_id, visit_id=visit.id)
        live = visit.status is VisitStatus.LIVE
        timeline = [r.to_json() for r in rows]
        # A live visit is judged so far; any other as its log tells it, to its scheduled end.
        horizon = self._ctx.now_ms() if live else round(visit.end * 1000)
        loss = visit_loss(visit, rows, await self._node_downs(visit), horizon)
        media = [MediaUp(a, b) for a, b in loss.media]
        facts = await self._visit_facts(claims, visit)
        return respond(Timeline(facts, timeline, media, loss.to_json()))

    async def _node_downs(self, visit: Visit) -> list[tuple[int, int]]:
        """When the node was down during the visit, from the starts after its start."""
        since = round(visit.start * 1000)
        query = AuditQuery(action=NODE_STARTED, since_ms=since, limit=1000)
        return node_downs(await self._ctx.store.audit_search(query))

    async def _visit_facts(self, claims: Claims, visit: Visit) -> dict[str, object]:
        """The visit as staff see it, with its inmate, names as the reader's role may read them
        (``services.domain.pii``); NIK and phone numbers are masked in the log already."""
        out = visit_json(visit, staff=True)
        for seat in cast(list[dict[str, str]], out["participants"]):
            seat["name"] = name_for(claims.role, seat["name"])
        inmate = await self._ctx.store.get_inmate(visit.inmate_id)
        if inmate is not None:
            out["inmate"] = {"number": inmate.number, "name": name_for(claims.role, inmate.name)}
        return out

    async def export(self, request: web.Request) -> web.StreamResponse:
        """The events the filters match, oldest first, as ``tatap audit export`` writes them."""
        claims = await self._auth.require(request, *AUDIT_READERS)
        fmt = request.query.get("format", "csv")
        if fmt not in FORMATS:
            raise BadRequest("`format` must be csv or jsonl")
        query = scoped_query(claims, audit_query(request.query))
        await self._read(claims, Read.EXPORT, query)
        response = web.StreamResponse(
            headers={
                "Content-Type": f"{FORMATS[fmt]}; charset=utf-8",
                "Content-Disposition": f'attachment; filename="audit.{fmt}"',
                "Cache-Control": "no-store",
            }
        )
        await response.prepare(request)
        async for chunk in export_chunks(iter_events(self._ctx.store, query), fmt):
            await response.write(chunk.encode())
        await response.write_eof()
        return response

    async def verify(self, request: web.Request) -> web.Response:
        """Check the hash chain and its signatures, against the witness's heads if one is set;
        and the witness's state."""
        claims = await self._auth.require(request, *AUDIT_READERS)
        witness, state = await self._witness()
        heads = [(h.seq, h.hash) for h in state.heads] if state else []
        # The whole chain is checked (integrity is global), but staff of one facility are told
        # only how many of its own facility's events it holds.
        result = await self._ctx.store.audit_verify(claims.facility, witnessed=heads)
        body = result.to_json()
        if claims.facility:
            body["facility_id"] = claims.facility
        body["witness"] = witness
        await self._read(claims, Read.VERIFY)
        return respond(body)

    async def _witness(self) -> tuple[WitnessView, WitnessState | None]:
        source = self._ctx.witness_store
        if not source:
            return WitnessView(configured=False), None
        try:
            state = await asyncio.to_thread(read_store, source)
        except (OSError, ValueError, TatapError) as exc:  # ValueError: not UTF-8, say
            # The reason stays in the node's log: a path or a URL is not the reader's business.
            log.warning("audit.witness_unreadable", error=type(exc).__name__)
            return WitnessView(configured=True, error="unreadable"), None
        head = state.head
        if head is None:
            return WitnessView(configured=True), state
        age = max(0, (self._ctx.now_ms() - head.ts_ms) // 1000) if head.ts_ms else None
        view = WitnessView(True, head.seq, head.hash, head.ts_ms or None, age, len(state.heads))
        return view, state

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


def scoped_query(claims: Claims, query: AuditQuery) -> AuditQuery:
    """``query`` kept within the facilities ``claims`` reach: a facility outside them is
    refused; none given means all of them."""
    reach = scope(claims)
    if reach is None:
        return query
    if query.facility_id and query.facility_id not in reach:
        raise Forbidden("you can read your own facilities' log only")
    return replace(query, facilities=reach)
