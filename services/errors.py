"""Every error Tatap reports to a client, with the HTTP status it maps to.

    TatapError                      500  code "internal"
    ├── ConfigError                      bad settings, raised at start-up only
    ├── BadRequest                  400  "bad_request"     malformed input
    │   └── TooLarge                413  "too_large"
    ├── Unauthorized                401  "unauthorized"    no or bad credentials
    │   ├── TokenExpired                 "token_expired"
    │   └── TokenRevoked                 "token_revoked"
    ├── Forbidden                   403  "forbidden"       wrong role or scope
    │   ├── AccessRevoked                "access_revoked"  participant or staff account revoked
    │   └── CsrfRefused                  "csrf_refused"    a console change without its CSRF
    │                                                      token, or sent from another site
    ├── NotFound                    404  "not_found"
    ├── RequestTimeout              408  "request_timeout" body not sent in time
    ├── Conflict                    409  "conflict"        state forbids it
    │   ├── VisitFull                    "visit_full"
    │   ├── VisitNotOpen                 "visit_not_open"  too early
    │   ├── VisitOver                    "visit_over"      ended or cancelled
    │   ├── VisitUnderReview             "visit_under_review" its inmate left: an officer decides
    │   ├── WitnessRefused               "witness_refused" heads that do not extend the held
    │   ├── SlotFull                     "slot_full"       no room has that slot free
    │   ├── QuotaInmate                  "quota_inmate"    the inmate's visits this week
    │   ├── QuotaVisitor                 "quota_visitor"   the visitor's (NIK) visits this week
    │   ├── VisitorBlocked               "visitor_blocked" the visitor (NIK) may not visit here
    │   ├── DateBlocked                  "date_blocked"    a blocked date or a closure
    │   ├── OutsideWindow                "outside_window"  too soon or too far ahead
    │   ├── KindNotAllowed               "kind_not_allowed" that kind is not taken then
    │   ├── InmateUnavailable            "inmate_unavailable" released or transferred
    │   ├── AlreadyAnswered              "already_answered" the survey, by this participant
    │   └── SurveyNotOpen                "survey_not_open" the visit is not over, or was
    │                                                      called off, or ended too long ago
    ├── RateLimited                 429  "rate_limited"
    └── NotRecorded                 503  "not_recorded"    a write failed; nothing changed

A websocket refused or shut out with one of these closes with the code the signaling protocol
gives its ``code`` (signaling.protocol.close_for; services never import signaling).

Messages are written by us, never copied from untrusted input, so they are safe to send back.
"""

from __future__ import annotations

from typing import ClassVar


class TatapError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code.replace("_", " ")
        self.details = details

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class ConfigError(TatapError):
    code = "config"


class BadRequest(TatapError):
    status = 400
    code = "bad_request"


class TooLarge(BadRequest):
    status = 413
    code = "too_large"


class Unauthorized(TatapError):
    status = 401
    code = "unauthorized"


class TokenExpired(Unauthorized):
    code = "token_expired"


class TokenRevoked(Unauthorized):
    code = "token_revoked"


class Forbidden(TatapError):
    status = 403
    code = "forbidden"


class AccessRevoked(Forbidden):
    """The person is shut out (a revoked participant, a disabled staff account): a new token or
    a new login would not help, unlike ``TokenRevoked``."""

    code = "access_revoked"


class CsrfRefused(Forbidden):
    """A change on a console session (cookie) without the session's CSRF token, or sent by a
    page of another site: the cookie alone never authorises a change."""

    code = "csrf_refused"


class NotFound(TatapError):
    status = 404
    code = "not_found"


class RequestTimeout(TatapError):
    status = 408
    code = "request_timeout"


class Conflict(TatapError):
    status = 409
    code = "conflict"


class VisitFull(Conflict):
    code = "visit_full"


class VisitNotOpen(Conflict):
    code = "visit_not_open"


class VisitOver(Conflict):
    code = "visit_over"


class VisitUnderReview(Conflict):
    """The visit's inmate was released or transferred after it was booked: it does not start
    until an officer clears the flag or cancels the visit."""

    code = "visit_under_review"


class RateLimited(TatapError):
    status = 429
    code = "rate_limited"


class WitnessRefused(Conflict):
    """A node showed a witness signed heads that do not extend the ones it holds."""

    code = "witness_refused"


class MakeupUnavailable(Conflict):
    """No make-up visit is offered for that visit, or it has been taken already."""

    code = "makeup_unavailable"


class SlotFull(Conflict):
    """Every room that offers the slot has a visit in it already."""

    code = "slot_full"


class QuotaInmate(Conflict):
    """The inmate has as many visits as the facility allows in a rolling 7 days."""

    code = "quota_inmate"


class QuotaVisitor(Conflict):
    """The visitor (by NIK) has as many visits as the facility allows in a rolling 7 days."""

    code = "quota_visitor"


class VisitorBlocked(Conflict):
    """The visitor (by NIK) is blocked in that facility or everywhere. The family is told no
    more than that the request cannot be taken: the reason stays with the facility."""

    code = "visitor_blocked"


class DateBlocked(Conflict):
    """The facility takes no visits then: a blocked date or an emergency closure."""

    code = "date_blocked"


class OutsideWindow(Conflict):
    """The slot is sooner or further ahead than the facility's booking window."""

    code = "outside_window"


class KindNotAllowed(Conflict):
    """No room takes that kind of visit at that time (an education visit off its days)."""

    code = "kind_not_allowed"


class InmateUnavailable(Conflict):
    """The inmate was released or transferred: no visit can be booked or approved."""

    code = "inmate_unavailable"


class AlreadyAnswered(Conflict):
    """This participant answered the survey about this visit before; the first answer stands."""

    code = "already_answered"


class SurveyNotOpen(Conflict):
    """The survey about a visit is asked once it has ended, for ``services.surveys.OPEN_DAYS``;
    never about a visit called off."""

    code = "survey_not_open"


class NotRecorded(TatapError):
    """A change that must be on disk before anyone hears of it could not be written, so it did
    not happen (an officer's terminate, say); asking again may succeed."""

    status = 503
    code = "not_recorded"
