"""The survey after a visit: ``POST /api/v1/survey`` (an answer) and ``POST /api/v1/survey/state``
(whether this seat is asked it). Both are public, authorised by the visit link the page holds:
the seat's visit token (``token``) or its link secret (``link``); ``/status``, which holds a
request's code and the NIK's last 4 digits, asks the state with those and is given the family's
stable link to answer with. Secrets travel in bodies, never in URLs (which logs keep)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from services.access.guesses import Guesses
from services.access.rates import AddressRates
from services.booking.requests import RequestService
from services.domain.model import Role, VisitStatus
from services.errors import BadRequest, NotFound
from services.http.api.context import ApiContext
from services.http.fields import Choice, Flag, Integer, Text, parse_body, spec
from services.http.plumbing import json_body, respond
from services.surveys.answers import MAX_COMMENT, Language, Scores
from services.surveys.service import Seat, Surveys

_TOKEN = Text("`token` must be a visit token", max_len=4096, required=False, default="")
_LINK = Text("`link` must be a link secret", max_len=128, required=False, default="")
_CREDENTIALS = "give exactly one of `token` and `link`"


def _score(name: str, high: int, what: str) -> Integer:
    return Integer(f"`{name}` must be a whole number from 1 to {high}", 1, high, description=what)


@dataclass(frozen=True)
class SurveyBody:
    """An answer: the seat's `token` or `link` (exactly one), the four IKM scores (1-4), sound and
    picture quality (1-5), whether anyone asked for money, the language, an optional comment."""

    token: str = spec(_TOKEN)
    link: str = spec(_LINK)
    overall: int = spec(
        _score("overall", 4, "overall satisfaction (IKM: 1 tidak puas - 4 sangat puas)")
    )
    registration: int = spec(_score("registration", 4, "how easy registering was"))
    on_time: int = spec(_score("on_time", 4, "whether the visit started on time"))
    officers: int = spec(_score("officers", 4, "whether officers were helpful"))
    sound: int = spec(_score("sound", 5, "sound quality"))
    picture: int = spec(_score("picture", 5, "picture quality"))
    asked_to_pay: bool = spec(Flag("`asked_to_pay` must be true or false", required=True))
    language: Language = spec(Choice("`language` must be id or en", Language, default=Language.ID))
    comment: str = spec(
        Text(
            f"`comment` must be text of at most {MAX_COMMENT} characters",
            max_len=MAX_COMMENT * 2,  # trimmed before its length is checked (services.surveys)
            min_len=0,
            required=False,
            default="",
            nullable=True,
        )
    )


@dataclass(frozen=True)
class StateBody:
    """The seat asking: its `token` or `link`, or (on /status) a request's `code` and
    `nik_last4`."""

    token: str = spec(_TOKEN)
    link: str = spec(_LINK)
    code: str = spec(
        Text(
            "`code` must be at most 16 characters",
            max_len=16,
            min_len=0,
            required=False,
            default="",
        )
    )
    nik_last4: str = spec(
        Text("`nik_last4` must be 4 digits", max_len=4, min_len=0, required=False, default="")
    )


@dataclass(frozen=True)
class SurveyStateAnswer:
    """``open``: ask it; ``answered``: thank (the form does not come back); ``not_yet``: the
    visit has not ended; ``closed``: called off, or ended too long ago. ``link``: the family's
    stable link secret to answer with, when asked by code and NIK."""

    state: str
    link: str | None = None


@dataclass(frozen=True)
class Answered:
    """The answer is on disk."""

    state: str
    answered_ms: int


class SurveysApi:
    """``POST /api/v1/survey[/state]``."""

    def __init__(self, ctx: ApiContext, requests: RequestService) -> None:
        self._ctx = ctx
        self._surveys = Surveys(ctx.store, ctx.guard, ctx.revocations, ctx.clock)
        self._requests = requests
        self._rates = AddressRates(ctx.clock, ctx.booking_rate)
        self._guesses = Guesses(ctx.clock)

    async def answer(self, request: web.Request) -> web.Response:
        """A guest answers the survey about its visit, once (409 already_answered after)."""
        self._rates.take(request.remote or "")
        body = parse_body(SurveyBody, await json_body(request))
        seat = await self._seat(body.token, body.link)
        scores = Scores(
            body.overall,
            body.registration,
            body.on_time,
            body.officers,
            body.sound,
            body.picture,
            body.asked_to_pay,
        )
        saved = await self._surveys.answer(seat, scores, body.language, body.comment)
        return respond(Answered(state="answered", answered_ms=saved.answered_ms), status=201)

    async def state(self, request: web.Request) -> web.Response:
        """Whether this seat is asked the survey now."""
        self._rates.take(request.remote or "")
        body = parse_body(StateBody, await json_body(request))
        if body.code or body.nik_last4:
            if body.token or body.link:
                raise BadRequest("give `code` and `nik_last4`, or a `token` or `link`")
            return await self._by_code(request.remote or "", body.code, body.nik_last4)
        seat = await self._seat(body.token, body.link)
        return respond(SurveyStateAnswer((await self._surveys.state(seat)).value))

    async def _seat(self, token: str, link: str) -> Seat:
        if bool(token) == bool(link):
            raise BadRequest(_CREDENTIALS)
        if token:
            return await self._surveys.seat_by_token(token)
        return await self._surveys.seat_by_link(link)

    async def _by_code(self, address: str, code: str, nik_last4: str) -> web.Response:
        """/status's question: the request by code and NIK (wrong guesses throttled as a
        lookup's are), its family seat's state, and the stable link to answer with."""
        self._guesses.check(address)
        try:
            visit = (await self._requests.lookup(code.upper(), nik_last4)).visit
        except NotFound:
            self._guesses.wrong(address)
            raise
        if visit.status is not VisitStatus.ENDED:  # its seat may have no link yet
            return respond(SurveyStateAnswer(self._surveys.when(visit).value))
        family = next(p for p in visit.participants if p.role is Role.FAMILY)
        link = self._ctx.links.family.secret(family.id)
        state = await self._surveys.state(await self._surveys.seat_by_link(link))
        return respond(SurveyStateAnswer(state.value, link))
