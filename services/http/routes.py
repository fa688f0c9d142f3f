"""The route table: every URL a node answers besides its pages, in one place.

Each entry names its handler, its typed request and response bodies and its status, so the
OpenAPI document (``services.http.openapi``) is written from this table and cannot miss a route.
The websocket and the metrics are served by the composition root (``signaling.app``), which hands
their handlers to ``api_routes``; they are listed here all the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.access.guesses import Guesses
from services.admin.imports import Applied, Preview
from services.board.today import Board
from services.booking.requests import RequestService
from services.http.api.accounts import AccountsApi, Disabling, NewPassword, NewStaff, StaffList
from services.http.api.audit import (
    AUDIT_FILTERS,
    EXPORT_PARAMS,
    AuditApi,
    CheckpointPage,
    EventPage,
    Timeline,
)
from services.http.api.board import BOARD_QUERY, EVENTS_QUERY, BoardApi, ReadyMarked
from services.http.api.console import ConsoleApi, ConsoleSession, FacilityChoices, LoggedOut
from services.http.api.context import ApiContext
from services.http.api.facilities import (
    DAY_QUERY,
    SLOT_QUERY,
    ClosureBody,
    ClosureMade,
    FacilitiesApi,
    FacilityList,
    FreeDays,
    FreeSlots,
    QuotaBody,
    QuotasSet,
)
from services.http.api.health import Alive, HealthApi, NotReady, Ready
from services.http.api.inmates import InmateAnswer, InmateQuestion, InmatesApi
from services.http.api.links import Join, Joined, LinksApi
from services.http.api.notifications import Notifications, NotificationsApi
from services.http.api.participants import ParticipantsApi, Revoked
from services.http.api.reports import REPORT_QUERY, ReportsApi
from services.http.api.requests import (
    QUEUE_QUERY,
    Approval,
    CodeAndNik,
    MakeupTake,
    NewRequest,
    Rejection,
    Requested,
    RequestsApi,
)
from services.http.api.roster import IMPORT_QUERY, PREVIEW_QUERY, RosterApi
from services.http.api.schedule import (
    PREVIEW_QUERY as CLOSURE_PREVIEW_QUERY,
)
from services.http.api.schedule import (
    BlockBody,
    Blocked,
    BlockedDateBody,
    ClosurePreviewed,
    MakeupBody,
    RelationshipsBody,
    Schedule,
    ScheduleApi,
    TemplateBody,
    UnblockBody,
)
from services.http.api.staff import LoggedIn, Login, StaffApi
from services.http.api.surveys import (
    Answered,
    StateBody,
    SurveyBody,
    SurveysApi,
    SurveyStateAnswer,
)
from services.http.api.visits import (
    MonitorToken,
    NewVisit,
    Reason,
    ReviewDecision,
    Terminated,
    TerminateReason,
    VisitsApi,
)
from services.http.api.walkins import (
    INMATES_QUERY,
    ROOMS_QUERY,
    FoundInmates,
    NewWalkIn,
    WalkInRooms,
    WalkInsApi,
    WalkInStarted,
)
from services.http.openapi import document
from services.http.plumbing import Handler, respond
from services.http.sessions import SessionCookies
from services.http.staff_auth import StaffAuth

VISIT = dict[str, object]  # a visit as ``services.booking.scheduling.visit_json`` shows it


@dataclass(frozen=True)
class Areas:
    """One handler object per area of the API, built once per node."""

    health: HealthApi
    staff: StaffApi
    links: LinksApi
    visits: VisitsApi
    participants: ParticipantsApi
    audit: AuditApi
    facilities: FacilitiesApi
    requests: RequestsApi
    notifications: NotificationsApi
    inmates: InmatesApi
    board: BoardApi
    console: ConsoleApi
    schedule: ScheduleApi
    roster: RosterApi
    accounts: AccountsApi
    walkins: WalkInsApi
    reports: ReportsApi
    surveys: SurveysApi

    @classmethod
    def create(cls, ctx: ApiContext) -> Areas:
        """Every area over the same services and the same staff check."""
        cookies = SessionCookies(ctx.sessions, ctx.base_url)
        auth = StaffAuth(ctx.guard, cookies)
        requests = RequestService(ctx.store, ctx.clock, ctx.links.family, ctx.node_id)
        names = Guesses(ctx.clock)  # wrong inmate names per address, from either door
        return cls(
            health=HealthApi(ctx),
            staff=StaffApi(ctx),
            links=LinksApi(ctx),
            visits=VisitsApi(ctx, auth),
            participants=ParticipantsApi(ctx, auth),
            audit=AuditApi(ctx, auth),
            facilities=FacilitiesApi(ctx, auth, requests),
            requests=RequestsApi(ctx, auth, requests, names),
            notifications=NotificationsApi(ctx, auth),
            inmates=InmatesApi(ctx.store, names),
            board=BoardApi(ctx, auth),
            console=ConsoleApi(ctx, cookies),
            schedule=ScheduleApi(ctx, auth, requests),
            roster=RosterApi(ctx, auth),
            accounts=AccountsApi(ctx, auth),
            walkins=WalkInsApi(ctx, auth),
            reports=ReportsApi(ctx, auth),
            surveys=SurveysApi(ctx, requests),
        )


@dataclass(frozen=True)
class Route:
    """One operation: what it takes, what it answers, and which handler serves it."""

    method: str
    path: str
    summary: str
    serve: Callable[[Areas], Handler] | None  # None: served by the composition root
    body: type | None = None  # the typed request body (``services.http.fields``)
    body_required: bool = True
    response: Any = None  # the type the answer is built from (None: not JSON)
    status: int = 200
    auth: bool = True  # a staff bearer token
    query: tuple[str, ...] = ()
    limited: bool = False  # may answer 429 with Retry-After
    content: str = "application/json"  # of the success ("": none, a websocket)
    errors: bool = True  # may answer a typed error (``services.errors``)
    other: tuple[tuple[int, Any], ...] = ()  # further (status, response type) it may answer
    upload: bool = False  # the body is a file (raw bytes), not JSON


def _openapi(areas: Areas) -> Handler:
    async def openapi(request: web.Request) -> web.Response:
        return respond(OPENAPI)

    return openapi


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/healthz",
        "Liveness",
        lambda a: a.health.alive,
        response=Alive,
        auth=False,
        errors=False,
    ),
    Route(
        "GET",
        "/readyz",
        "Readiness (503: the store does not answer)",
        lambda a: a.health.ready,
        response=Ready,
        auth=False,
        errors=False,
        other=((503, NotReady),),
    ),
    Route(
        "GET",
        "/metrics",
        "Prometheus gauges and counters of this node",
        None,
        auth=False,
        content="text/plain",
        errors=False,
    ),
    Route(
        "GET",
        "/ws",
        "The signaling websocket (signaling/PROTOCOL.md)",
        None,
        status=101,
        auth=False,
        content="",
        errors=False,
    ),
    Route(
        "GET",
        "/api/v1/openapi.json",
        "This document",
        _openapi,
        response=dict[str, Any],
        auth=False,
    ),
    Route(
        "POST",
        "/api/v1/auth/login",
        "Staff login → bearer token",
        lambda a: a.staff.login,
        body=Login,
        response=LoggedIn,
        auth=False,
        limited=True,
    ),
    Route(
        "POST",
        "/officer/login",
        "Staff console login (JSON, or a form: 303 to the role's console) → an HttpOnly,"
        " SameSite=Strict session cookie; throttled as the API login",
        lambda a: a.console.login,
        body=Login,
        response=ConsoleSession,
        auth=False,
        limited=True,
    ),
    Route(
        "GET",
        "/officer/session",
        "Who is logged in on this console session, and its CSRF token (session cookie)",
        lambda a: a.console.session,
        response=ConsoleSession,
        auth=False,
    ),
    Route(
        "GET",
        "/officer/facilities",
        "The facilities this console session's staff member may pick, by name: its own, a"
        " regional auditor's region, or every facility (taking requests or not) for staff of"
        " every facility (session cookie)",
        lambda a: a.console.facilities,
        response=FacilityChoices,
        auth=False,
    ),
    Route(
        "POST",
        "/officer/logout",
        "End the console session: revoked and its cookie cleared (session cookie and"
        " `X-CSRF-Token`)",
        lambda a: a.console.logout,
        response=LoggedOut,
        auth=False,
    ),
    Route(
        "POST",
        "/api/v1/join",
        "Family/teacher link → websocket token",
        lambda a: a.links.join,
        body=Join,
        response=Joined,
        auth=False,
    ),
    Route(
        "POST",
        "/api/v1/visits",
        "Schedule a visit (officer, admin)",
        lambda a: a.visits.create,
        body=NewVisit,
        response=VISIT,
        status=201,
    ),
    Route(
        "POST",
        "/api/v1/visits/walk-in",
        "Start a walk-in visit now in a free room (officer, admin): the family link, shown once,"
        " and as an SVG QR code; audited as `scheduled` with `walk_in: true` and the officer;"
        " 409 saying why when the room is not free (terminal offline, booked, closure)",
        lambda a: a.walkins.start,
        body=NewWalkIn,
        response=WalkInStarted,
        status=201,
    ),
    Route(
        "GET",
        "/api/v1/visits/walk-in/rooms",
        "A facility's visit rooms, each free for a walk-in now or not, and why (officer, admin)",
        lambda a: a.walkins.rooms,
        response=WalkInRooms,
        query=ROOMS_QUERY,
    ),
    Route(
        "GET",
        "/api/v1/inmates",
        "Inmates of a facility whose number or name contains `q` (2-100 characters; at most"
        " 20; officer, admin)",
        lambda a: a.walkins.inmates,
        response=FoundInmates,
        query=INMATES_QUERY,
    ),
    Route(
        "GET",
        "/api/v1/visits/{visit_id}",
        "One visit (staff)",
        lambda a: a.visits.get,
        response=VISIT,
    ),
    Route(
        "POST",
        "/api/v1/visits/{visit_id}/cancel",
        "Cancel before the start (officer, admin)",
        lambda a: a.visits.cancel,
        body=Reason,
        body_required=False,
        response=VISIT,
    ),
    Route(
        "POST",
        "/api/v1/visits/{visit_id}/terminate",
        "End a visit now, with a non-blank reason (recorded with the officer; 400 without one)"
        " (officer)",
        lambda a: a.visits.terminate,
        body=TerminateReason,
        response=Terminated,
        status=202,
    ),
    Route(
        "POST",
        "/api/v1/visits/{visit_id}/monitor",
        "Receive-only monitor token (officer)",
        lambda a: a.visits.monitor,
        response=MonitorToken,
    ),
    Route(
        "POST",
        "/api/v1/visits/{visit_id}/ready",
        "The inmate is in the visit room: audited with the officer, the family's page told;"
        " idempotent, 409 for a visit requested, rejected, cancelled or ended (officer, admin)",
        lambda a: a.board.ready,
        response=ReadyMarked,
    ),
    Route(
        "GET",
        "/api/v1/board",
        "The today board: a facility's rooms and terminals, the day's visits with their board"
        " state, and the alerts (officer, admin; `date` defaults to today in its time zone)",
        lambda a: a.board.board,
        response=Board,
        query=BOARD_QUERY,
    ),
    Route(
        "GET",
        "/api/v1/board/events",
        "The board's live feed as server-sent events: `visit` and `terminal` rows as they"
        " change, `resync` to read the board again (officer, admin; signaling/PROTOCOL.md)",
        lambda a: a.board.events,
        query=EVENTS_QUERY,
        content="text/event-stream",
        limited=True,
    ),
    Route(
        "POST",
        "/api/v1/visits/{visit_id}/review",
        "Decide on a visit flagged for review (its inmate was released or transferred):"
        " `clear` lets it go ahead, `cancel` calls it off (officer, admin)",
        lambda a: a.visits.review,
        body=ReviewDecision,
        response=VISIT,
    ),
    Route(
        "POST",
        "/api/v1/participants/{participant_id}/revoke",
        "Shut a participant out of its visit, and its registered visitor out of every visit"
        " (officer: that facility's visits; admin)",
        lambda a: a.participants.revoke,
        body=Reason,
        body_required=False,
        response=Revoked,
    ),
    Route(
        "GET",
        "/api/v1/facilities",
        "Facilities that take online visit requests",
        lambda a: a.facilities.list,
        response=FacilityList,
        auth=False,
    ),
    Route(
        "GET",
        "/api/v1/facilities/{facility_id}/slots",
        "A day's free slots (`date` YYYY-MM-DD, local; `kind`, default regular)",
        lambda a: a.facilities.slots,
        response=FreeSlots,
        auth=False,
        query=SLOT_QUERY,
        limited=True,
    ),
    Route(
        "GET",
        "/api/v1/facilities/{facility_id}/days",
        "The booking window's dates (local), each with its count of free start times for `kind`"
        " (default regular); 0 for a date with none",
        lambda a: a.facilities.days,
        response=FreeDays,
        auth=False,
        query=DAY_QUERY,
        limited=True,
    ),
    Route(
        "PUT",
        "/api/v1/facilities/{facility_id}/quotas",
        "Set a facility's quotas: visits per inmate and per visitor NIK in a rolling 7 days"
        " (admin)",
        lambda a: a.facilities.set_quotas,
        body=QuotaBody,
        response=QuotasSet,
    ),
    Route(
        "POST",
        "/api/v1/facilities/{facility_id}/closures",
        "Emergency close: no visit is offered inside; visits booked inside are cancelled (each"
        " audited for its family's message) and live ones ended (officer, admin)",
        lambda a: a.facilities.close,
        body=ClosureBody,
        response=ClosureMade,
        status=201,
    ),
    Route(
        "GET",
        "/api/v1/facilities/{facility_id}/closures/preview",
        "What an emergency close from `start_ms` to `end_ms` would do now: visits cancelled,"
        " families told, live visits ended; nothing changes (officer, admin)",
        lambda a: a.schedule.closure_preview,
        response=ClosurePreviewed,
        query=CLOSURE_PREVIEW_QUERY,
    ),
    Route(
        "GET",
        "/api/v1/facilities/{facility_id}/schedule",
        "A facility's calendar and booking rules for the schedule page: rooms and their slot"
        " templates, blocked dates and closures ahead, quotas, window, relationships, blocked"
        " visitors (NIK masked) (officer, admin)",
        lambda a: a.schedule.schedule,
        response=Schedule,
    ),
    Route(
        "POST",
        "/api/v1/facilities/{facility_id}/templates",
        "Add a slot template to one of the facility's rooms; 409 if it overlaps one the room"
        " has (officer, admin)",
        lambda a: a.schedule.add_template,
        body=TemplateBody,
        response=dict[str, Any],
        status=201,
    ),
    Route(
        "DELETE",
        "/api/v1/facilities/{facility_id}/templates/{template_id}",
        "Remove a slot template; visits booked in its slots stay booked (officer, admin)",
        lambda a: a.schedule.remove_template,
        response=dict[str, Any],
    ),
    Route(
        "POST",
        "/api/v1/facilities/{facility_id}/blocked-dates",
        "Take a local date out of the calendar (a holiday); 409 if it is out already; visits"
        " booked that day stay (officer, admin)",
        lambda a: a.schedule.block_date,
        body=BlockedDateBody,
        response=dict[str, Any],
        status=201,
    ),
    Route(
        "PUT",
        "/api/v1/facilities/{facility_id}/relationships",
        "Set the relationships a facility accepts (admin)",
        lambda a: a.schedule.set_relationships,
        body=RelationshipsBody,
        response=dict[str, Any],
    ),
    Route(
        "PUT",
        "/api/v1/facilities/{facility_id}/makeup",
        "Set after how many minutes lost to system faults a visit's family is offered a make-up"
        " visit (1 to 120), or null for never (admin)",
        lambda a: a.schedule.set_makeup,
        body=MakeupBody,
        response=dict[str, Any],
    ),
    Route(
        "POST",
        "/api/v1/facilities/{facility_id}/blocks",
        "Block a person by NIK in this facility: their seats stop working and their requests"
        " are refused (audited with the NIK masked) (officer, admin)",
        lambda a: a.schedule.block,
        body=BlockBody,
        response=Blocked,
        status=201,
    ),
    Route(
        "POST",
        "/api/v1/facilities/{facility_id}/blocks/lift",
        "Lift a listed visitor's block (every record of its NIK); 409 if not blocked"
        " (officer, admin)",
        lambda a: a.schedule.unblock,
        body=UnblockBody,
        response=Blocked,
    ),
    Route(
        "POST",
        "/api/v1/facilities/{facility_id}/inmates/preview",
        "Preview an inmate import: the raw body is the SDP export (CSV or XLSX, at most 5 MB"
        " and 20,000 rows); the query names each field's column (guessed from the header if"
        " none); each row with its change or its errors, and the digest that the import"
        " needs; nothing is written (officer, admin)",
        lambda a: a.roster.preview,
        response=Preview,
        query=PREVIEW_QUERY,
        upload=True,
    ),
    Route(
        "POST",
        "/api/v1/facilities/{facility_id}/inmates/import",
        "Apply a previewed import: the same file and columns, and the preview's `digest` (409"
        " if they differ); rows in error are skipped and counted (officer, admin)",
        lambda a: a.roster.apply,
        response=Applied,
        query=IMPORT_QUERY,
        upload=True,
    ),
    Route(
        "GET",
        "/api/v1/staff",
        "Staff accounts, with whether each is disabled (admin: those of its facility, or all)",
        lambda a: a.accounts.list,
        response=StaffList,
    ),
    Route(
        "POST",
        "/api/v1/staff",
        "Create a staff account (admin; an admin of one facility, for that facility only)",
        lambda a: a.accounts.create,
        body=NewStaff,
        response=dict[str, Any],
        status=201,
    ),
    Route(
        "POST",
        "/api/v1/staff/{staff_id}/password",
        "Set a new password for a staff account (admin; audited, the password never)",
        lambda a: a.accounts.reset_password,
        body=NewPassword,
        response=dict[str, Any],
    ),
    Route(
        "POST",
        "/api/v1/staff/{staff_id}/disable",
        "Disable a staff account: no login, its sessions and tokens refused at once (admin;"
        " audited)",
        lambda a: a.accounts.disable,
        body=Disabling,
        body_required=False,
        response=dict[str, Any],
    ),
    Route(
        "POST",
        "/api/v1/requests",
        "A family requests a visit (409 `error.code`: slot_full, quota_inmate, quota_visitor,"
        " visitor_blocked, inmate_unavailable, date_blocked, outside_window, kind_not_allowed)",
        lambda a: a.requests.submit,
        body=NewRequest,
        response=Requested,
        status=201,
        auth=False,
        limited=True,
    ),
    Route(
        "POST",
        "/api/v1/inmates/check",
        "Whether a name is that of the inmate with this number (never the name itself;"
        " wrong answers throttled)",
        lambda a: a.inmates.check,
        body=InmateQuestion,
        response=InmateAnswer,
        auth=False,
        limited=True,
    ),
    Route(
        "POST",
        "/api/v1/requests/lookup",
        "A request's state by code and the NIK's last 4 digits (wrong guesses throttled)",
        lambda a: a.requests.lookup,
        body=CodeAndNik,
        response=dict[str, Any],
        auth=False,
        limited=True,
    ),
    Route(
        "POST",
        "/api/v1/requests/makeup",
        "A family takes the make-up visit its ended visit earned (by code and the NIK's last 4"
        " digits) at a free slot: approved at once, counted against no quota (409 `error.code`:"
        " makeup_unavailable, or as a request; wrong guesses throttled)",
        lambda a: a.requests.take_makeup,
        body=MakeupTake,
        response=dict[str, Any],
        status=201,
        auth=False,
        limited=True,
    ),
    Route(
        "POST",
        "/api/v1/requests/cancel",
        "A family cancels its request or approved visit (wrong guesses throttled)",
        lambda a: a.requests.cancel,
        body=CodeAndNik,
        response=dict[str, Any],
        auth=False,
        limited=True,
    ),
    Route(
        "POST",
        "/api/v1/survey",
        "A visit's guest answers its survey once it has ended, by its visit `token` or `link`"
        " (409 `error.code`: already_answered, survey_not_open; audited, the comment by its"
        " SHA-256 only)",
        lambda a: a.surveys.answer,
        body=SurveyBody,
        response=Answered,
        status=201,
        auth=False,
        limited=True,
    ),
    Route(
        "POST",
        "/api/v1/survey/state",
        "Whether a guest is asked the survey now (`open`, `answered`, `not_yet`, `closed`), by"
        " its visit `token` or `link`, or by a request's `code` and `nik_last4` (then with the"
        " family's link to answer with; wrong guesses throttled)",
        lambda a: a.surveys.state,
        body=StateBody,
        response=SurveyStateAnswer,
        auth=False,
        limited=True,
    ),
    Route(
        "GET",
        "/api/v1/requests",
        "The request queue of a facility (officer, admin)",
        lambda a: a.requests.queue,
        response=dict[str, Any],
        query=QUEUE_QUERY,
    ),
    Route(
        "POST",
        "/api/v1/requests/{visit_id}/approve",
        "Approve a request: the visit is scheduled, its guests' links returned (officer, admin;"
        " a remand inmate's visit needs `permission_ref`)",
        lambda a: a.requests.approve,
        body=Approval,
        body_required=False,
        response=VISIT,
    ),
    Route(
        "POST",
        "/api/v1/requests/{visit_id}/reject",
        "Reject a request with a canned reason; slot and quota are freed (officer, admin)",
        lambda a: a.requests.reject,
        body=Rejection,
        response=VISIT,
    ),
    Route(
        "GET",
        "/api/v1/requests/{visit_id}/notifications",
        "What the visit's family was told: each message, its delivery state and a wa.me link"
        " to send it by hand (officer, admin)",
        lambda a: a.notifications.list,
        response=Notifications,
    ),
    Route(
        "POST",
        "/api/v1/requests/{visit_id}/notifications/{message_id}/sent",
        "Mark a message sent by hand (from its wa.me link): audited, and not sent again"
        " (officer, admin; 409 if sent or skipped already)",
        lambda a: a.notifications.sent,
        response=Notifications,
    ),
    Route(
        "GET",
        "/api/v1/audit/events",
        "Search the audit log (auditors, admin; within the reader's facilities; audited)",
        lambda a: a.audit.events,
        response=EventPage,
        query=AUDIT_FILTERS,
    ),
    Route(
        "GET",
        "/api/v1/audit/export",
        "The events a search matches, oldest first, as CSV or JSON lines: the bytes"
        " `tatap audit export` writes (auditors, admin; audited)",
        lambda a: a.audit.export,
        query=EXPORT_PARAMS,
        content="text/csv",
    ),
    Route(
        "GET",
        "/api/v1/audit/visits/{visit_id}",
        "One visit's timeline and its media-up intervals (auditors, admin; audited)",
        lambda a: a.audit.visit,
        response=Timeline,
    ),
    Route(
        "GET",
        "/api/v1/audit/verify",
        "Verify the hash chain, against the witness's heads if one is set, and the witness's"
        " state (auditors, admin; audited; staff of one facility are told its own event"
        " count only)",
        lambda a: a.audit.verify,
        response=dict[str, Any],
    ),
    Route(
        "GET",
        "/api/v1/audit/checkpoints",
        "Signed checkpoints after `after` (seq), oldest first, at most `limit` (1-1000) a page,"
        " and the pinned public keys: what a witness keeps (auditor, admin)",
        lambda a: a.audit.checkpoints,
        response=CheckpointPage,
        query=("after", "limit"),
    ),
    Route(
        "GET",
        "/api/v1/reports/monthly",
        "A month's report (`month=YYYY-MM`, each facility's own time zone) of `facility`, or"
        " consolidated over every facility the reader reaches (a regional auditor's region),"
        " as `format=json|csv|html|pdf` in `lang=id|en`; CSV: one row per figure"
        " (section, name, breakdown, value, unit) (auditors, admin; audited)",
        lambda a: a.reports.monthly,
        query=REPORT_QUERY,
        content="application/json",
    ),
)
OPENAPI = document(ROUTES)


def api_routes(ctx: ApiContext, served: Mapping[str, Handler]) -> list[web.RouteDef]:
    """Every route of the table, bound; ``served`` holds the composition root's handlers by
    path (the websocket, the metrics)."""
    areas = Areas.create(ctx)
    out = []
    for route in ROUTES:
        handler = route.serve(areas) if route.serve else served.get(route.path)
        if handler is None:
            raise ValueError(f"no handler given for {route.path}")
        out.append(web.route(route.method, route.path, handler))
    return out
