"""One answer to the survey after a visit, and the checks every answer passes.

The four IKM elements are scored 1-4 as the national public-service survey does (PermenPANRB
14/2017: 1 tidak puas / not satisfied, 2 kurang puas, 3 puas, 4 sangat puas / very satisfied);
sound and picture quality 1-5; ``asked_to_pay`` is the anti-extortion question asked beside IKM.
The comment is optional free text: at most ``MAX_COMMENT`` characters, no control characters
(a newline or a tab is allowed), surrounding space trimmed.
"""

from __future__ import annotations

import enum
import hashlib
import unicodedata
from dataclasses import dataclass

from services.errors import BadRequest
from services.ids import FacilityId, ParticipantId, VisitId

MAX_COMMENT = 1000
IKM_SCALE = (1, 4)
QUALITY_SCALE = (1, 5)
# A newline and a tab; the zero-width (non-)joiners that emoji and some scripts are built with.
_ALLOWED_CONTROLS = frozenset("\n\t\u200c\u200d")


class Language(enum.StrEnum):
    """The language the survey was answered in (the family pages' two)."""

    ID = "id"
    EN = "en"


@dataclass(frozen=True, slots=True)
class Scores:
    """What the participant chose: the four IKM elements, the two quality scores, and
    whether anyone asked for money."""

    overall: int  # overall satisfaction, 1-4
    registration: int  # how easy registering was, 1-4
    on_time: int  # whether the visit started on time, 1-4
    officers: int  # whether officers were helpful, 1-4
    sound: int  # 1-5
    picture: int  # 1-5
    asked_to_pay: bool

    def __post_init__(self) -> None:
        for name in ("overall", "registration", "on_time", "officers"):
            _check_score(name, getattr(self, name), IKM_SCALE)
        for name in ("sound", "picture"):
            _check_score(name, getattr(self, name), QUALITY_SCALE)
        if not isinstance(self.asked_to_pay, bool):
            raise BadRequest("`asked_to_pay` must be true or false", field="asked_to_pay")

    def to_json(self) -> dict[str, object]:
        """The scores as the audit event records them."""
        return {
            "overall": self.overall,
            "registration": self.registration,
            "on_time": self.on_time,
            "officers": self.officers,
            "sound": self.sound,
            "picture": self.picture,
            "asked_to_pay": self.asked_to_pay,
        }


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    """One participant's answer about one visit, as stored."""

    visit_id: VisitId
    participant_id: ParticipantId
    facility_id: FacilityId  # the visit's
    answered_ms: int
    language: Language
    scores: Scores
    comment: str = ""  # "" when none was given

    def __post_init__(self) -> None:
        if self.comment != clean_comment(self.comment):
            raise BadRequest("`comment` is not a checked comment", field="comment")


def _check_score(name: str, value: object, scale: tuple[int, int]) -> None:
    low, high = scale
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"`{name}` must be a whole number from {low} to {high}", field=name)


def clean_comment(text: str) -> str:
    """``text`` trimmed, or BadRequest if it is too long or holds a control or format
    character (a bidirectional override, say) other than a newline, a tab or a joiner."""
    text = text.strip()
    if len(text) > MAX_COMMENT:
        raise BadRequest(f"`comment` is longer than {MAX_COMMENT} characters", field="comment")
    for ch in text:
        if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
            raise BadRequest("`comment` holds a control character", field="comment")
    return text


def comment_digest(comment: str) -> str:
    """SHA-256 (hex) of the comment's UTF-8: what the audit log keeps instead of its text."""
    return hashlib.sha256(comment.encode()).hexdigest()
