"""The today board for officers: the day's board, its live event stream, and "inmate ready"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aiohttp import web

from services.access.revocation import keys_of
from services.access.tokens import Claims
from services.audit.chain import AuditEvent
from services.board.feed import FINAL
from services.domain.model import Facility
from services.errors import BadRequest, NotFound, TatapError
from services.http.api.context import ApiContext
from services.http.plumbing import respond
from services.http.staff_auth import SCHEDULERS, StaffAuth, scoped_facility, scoped_visit

BOARD_QUERY = ("facility", "date")
EVENTS_QUERY = ("facility", "background")  # background=1: not the officer's use

_SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",  # nginx: pass each event on at once
}


@dataclass(frozen=True)
class ReadyMarked:
    """The inmate is marked as in the visit room (since ``ready_ms``; a second mark keeps the
    first)."""

    visit_id: str
    ready_ms: int


class BoardApi:
    """``/api/v1/board``, ``/api/v1/board/events`` and ``/api/v1/visits/{visit_id}/ready``."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth) -> None:
        self._ctx = ctx
        self._auth = auth

    async def board(self, request: web.Request) -> web.Response:
        """A facility's day (today in its time zone unless ``date`` says otherwise)."""
        claims = await self._auth.require(request, *SCHEDULERS)
        facility = await self._facility(request, claims)
        rows = self._ctx.board
        date = _date(request.query.get("date")) or rows.today(facility.timezone)
        facts = await rows.day(facility.id, facility.timezone, date)
        if facts is None:
            raise NotFound("no such facility")
        return respond(await rows.board(facts, date))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: each changed visit or terminal row of the facility, as it changes.

        ``visit`` and ``terminal`` events carry the row(s) and their alerts; ``resync`` means
        "reconnect and read the board again" (this subscriber fell behind, or the node is
        stopping); ``closed`` that the credentials no longer hold (a revocation ends the stream
        as it closes sockets; an expiry is found at the next heartbeat). A comment line every
        ``board_heartbeat_s`` keeps proxies from closing it.
        """
        claims = await self._auth.require(request, *SCHEDULERS)
        facility = await self._facility(request, claims)
        feed = self._ctx.feed
        sub = feed.subscribe(facility.id, keys_of(claims), claims.iat)
        response = web.StreamResponse(headers=_SSE_HEADERS)
        try:
            await response.prepare(request)
            await response.write(b"retry: 2000\nevent: hello\ndata: {}\n\n")
            while True:
                event = await sub.next(feed.heartbeat_s)
                if event is None:
                    await self._auth.require(request, *SCHEDULERS)
                    await response.write(b": ping\n\n")
                    continue
                await response.write(_frame(event.name, event.data))
                if event.name in FINAL:
                    break
        except TatapError as exc:  # the credentials no longer hold: say so, and end
            await response.write(_frame("closed", f'{{"code":"{exc.code}"}}'.encode()))
        except ConnectionResetError:
            pass  # the officer went away
        finally:
            feed.unsubscribe(sub)
        return response

    async def ready(self, request: web.Request) -> web.Response:
        """The officer has brought the inmate to the visit room: on record with the officer,
        the family's page told. Idempotent; 409 for a visit not (or no longer) going ahead."""
        claims = await self._auth.require(request, *SCHEDULERS)
        visit = await scoped_visit(self._ctx.store, claims, request)
        event = AuditEvent(
            "inmate-ready", claims.role.value, claims.sub, visit.facility_id, visit.id
        )
        marked, changed = await self._ctx.store.mark_ready(visit.id, self._ctx.now_ms(), event)
        assert marked.ready_at is not None
        ready_ms = int(round(marked.ready_at * 1000))
        if changed:
            self._ctx.live.inmate_ready(marked.id, ready_ms)
            self._ctx.changed(marked)
        return respond(ReadyMarked(visit_id=marked.id, ready_ms=ready_ms))

    async def _facility(self, request: web.Request, claims: Claims) -> Facility:
        """The facility named by ``facility`` (staff bound to one may leave it out), in scope."""
        return await scoped_facility(self._ctx.store, claims, request.query.get("facility"))


def _date(text: str | None) -> dt.date | None:
    """``YYYY-MM-DD``, or BadRequest."""
    if text is None:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest("`date` must be a date as YYYY-MM-DD", field="date") from exc


def _frame(name: str, data: bytes) -> bytes:
    """One server-sent event; ``data`` is one line of JSON (orjson writes no newline)."""
    return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"
