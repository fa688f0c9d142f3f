"""Who may answer the survey about a visit, when, and the answer recorded with its audit event.

Who: a guest seat (family or teacher) of the visit, proved by the visit link the page holds, either
the seat's visit token or its link secret (the family's stable link, or a guest's random one);
a revoked seat or visitor is refused as its link is. One answer per seat per visit.

When (the rule, in ``state``): once the visit has ended, with any end reason (completed, hangup,
terminated, no-show, failed: a family that waited for nothing has the most to tell), and for
``OPEN_DAYS`` after, so that a month's report is not changed long after it was read. Never about
a visit called off before it started (status or end reason ``cancelled``), nor one requested,
rejected or still to come.

The audit event ``survey-answered`` holds the scores, ``asked_to_pay``, the language and the
comment's SHA-256, never the comment; no log line carries the comment either.
"""

from __future__ import annotations

import enum

import structlog

from services.access.guard import Guard
from services.access.revocation import Revocations, seat_keys
from services.access.tokens import hash_secret
from services.audit.chain import AuditEvent
from services.clock import Clock
from services.domain.model import EndReason, Participant, Role, Visit, VisitStatus
from services.errors import AlreadyAnswered, Forbidden, SurveyNotOpen, Unauthorized
from services.store.protocols import Store
from services.surveys.answers import Language, Scores, SurveyAnswer, clean_comment, comment_digest

OPEN_DAYS = 30
GUESTS = frozenset({Role.FAMILY, Role.TEACHER})
log = structlog.get_logger("tatap.surveys")


class SurveyState(enum.StrEnum):
    """What a seat's survey page shows."""

    NOT_YET = "not_yet"  # the visit has not ended yet
    OPEN = "open"  # ask it
    ANSWERED = "answered"  # thanks: the form does not come back
    CLOSED = "closed"  # called off, or ended more than OPEN_DAYS ago


Seat = tuple[Visit, Participant]


class Surveys:
    """Survey answers for the guest seats of visits."""

    def __init__(self, store: Store, guard: Guard, revocations: Revocations, clock: Clock) -> None:
        self._store = store
        self._guard = guard
        self._revocations = revocations
        self._clock = clock

    async def seat_by_token(self, token: str) -> Seat:
        """The seat a visit token (as the visit page holds it) is for; Unauthorized if it is
        not a guest's visit token, the token's revocation error if revoked."""
        claims = self._guard.claims(token)
        if claims.role not in GUESTS or not claims.visit:
            raise Unauthorized("this token does not answer a survey")
        await self._revocations.check(claims)
        found = await self._store.find_participant(claims.sub)
        if found is None or found[0].id != claims.visit:
            raise Unauthorized("this token does not answer a survey")
        return found

    async def seat_by_link(self, link: str) -> Seat:
        """The seat a link secret opens (ended visits too); Unauthorized if none, the
        revocation's error if its seat or visitor is revoked."""
        if not 20 <= len(link) <= 128:
            raise Unauthorized("link invalid")
        found = await self._store.find_link(hash_secret(link))
        if found is None or found[1].role not in GUESTS:
            raise Unauthorized("link invalid")
        visit, seat = found
        revoked = await self._store.find_revocation(
            seat_keys(seat.id, seat.visitor_id, visit.facility_id)
        )
        if revoked is not None:
            raise revoked.error
        return found

    async def state(self, seat: Seat) -> SurveyState:
        """Whether this seat is asked the survey now (see the module docstring)."""
        visit, participant = seat
        if await self._store.survey_answer(visit.id, participant.id) is not None:
            return SurveyState.ANSWERED
        return self.when(visit)

    def when(self, visit: Visit) -> SurveyState:
        """The visit's survey state for a seat that has not answered."""
        if visit.status is VisitStatus.CANCELLED or visit.end_reason is EndReason.CANCELLED:
            return SurveyState.CLOSED
        if visit.status is not VisitStatus.ENDED:
            return (
                SurveyState.CLOSED if visit.status is VisitStatus.REJECTED else SurveyState.NOT_YET
            )
        ended = visit.ended_at if visit.ended_at is not None else visit.end
        if self._clock.now() > ended + OPEN_DAYS * 86400:
            return SurveyState.CLOSED
        return SurveyState.OPEN

    async def answer(
        self, seat: Seat, scores: Scores, language: Language, comment: str
    ) -> SurveyAnswer:
        """Record this seat's answer with its audit event; AlreadyAnswered for a second one,
        SurveyNotOpen unless the visit's survey is open."""
        visit, participant = seat
        if participant.role not in GUESTS:
            raise Forbidden("only a visit's guests answer its survey")
        state = await self.state(seat)
        if state is SurveyState.ANSWERED:
            raise AlreadyAnswered("this survey was answered already")
        if state is not SurveyState.OPEN:
            raise SurveyNotOpen(f"the survey is {state.value}", state=state.value)
        now_ms = int(self._clock.now() * 1000)
        answer = SurveyAnswer(
            visit.id,
            participant.id,
            visit.facility_id,
            now_ms,
            language,
            scores,
            clean_comment(comment),
        )
        details: dict[str, object] = {**scores.to_json(), "language": language.value}
        if answer.comment:
            details["comment_sha256"] = comment_digest(answer.comment)
        event = AuditEvent(
            "survey-answered",
            participant.role.value,
            participant.id,
            visit.facility_id,
            visit.id,
            details,
            ts=now_ms / 1000,
        )
        await self._store.add_survey_answer(answer, event)
        log.info(
            "survey.answered",
            visit_id=visit.id,
            role=participant.role.value,
            commented=bool(answer.comment),
        )
        return answer
