"""A set of survey answers summed up as the monthly report shows them.

The IKM index is computed as PermenPANRB 14/2017 (Pedoman Penyusunan Survei Kepuasan Masyarakat)
says: per element the mean of its scores (NRR, nilai rata-rata), each weighted 1/n over the n
elements (here n = 4: overall satisfaction, registration, starting on time, officers), summed
(IKM on the 1-4 scale), times 25 (the conversion to 25-100). The regulation reports it with two
decimals; ``ikm`` is computed exactly (fractions, not floats) and rounded half up to two
decimals, and its grade is read from that rounded value, so the figure and its letter always
agree. The regulation's table of grades on the converted value:

    A (sangat baik)  88.31 - 100.00
    B (baik)         76.61 -  88.30
    C (kurang baik)  65.00 -  76.60
    D (tidak baik)   25.00 -  64.99

Sound and picture quality (1-5) and "asked to pay" are reported beside the index, never in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import floor
from statistics import fmean

from services.surveys.answers import SurveyAnswer

IKM_ELEMENTS = ("overall", "registration", "on_time", "officers")
IKM_CONVERSION = 25
# Each grade's lowest converted value, best first (the table in the module docstring).
GRADES = (("A", 88.31), ("B", 76.61), ("C", 65.00), ("D", 25.00))


@dataclass(frozen=True, slots=True)
class SurveySummary:
    """What a set of answers adds up to; every mean is None when there are no answers."""

    responses: int
    ikm: float | None  # 25-100, two decimals
    ikm_grade: str | None  # A, B, C or D
    overall_mean: float | None  # each IKM element's mean score (its NRR), 1-4
    registration_mean: float | None
    on_time_mean: float | None
    officers_mean: float | None
    sound_mean: float | None  # 1-5
    picture_mean: float | None  # 1-5
    asked_to_pay: int  # answers saying someone asked for money
    comments: list[tuple[int, str]] = field(
        default_factory=list
    )  # (answered_ms, text), oldest first


def ikm_grade(ikm: float) -> str:
    """The grade of a converted IKM value (25-100, two decimals)."""
    for grade, lowest in GRADES:
        if ikm >= lowest:
            return grade
    return "D"


def ikm_of(answers: Sequence[SurveyAnswer]) -> float:
    """The converted IKM of some answers: sum over the elements of (1/n) x NRR, x 25, which is
    25 x (every element score added up) / (n x answers); rounded half up to two decimals."""
    total = sum(getattr(a.scores, name) for a in answers for name in IKM_ELEMENTS)
    exact = Fraction(IKM_CONVERSION * total, len(IKM_ELEMENTS) * len(answers))
    return floor(exact * 100 + Fraction(1, 2)) / 100


def summarise(answers: Sequence[SurveyAnswer]) -> SurveySummary:
    """The summary of ``answers`` (in any order)."""
    if not answers:
        return SurveySummary(0, None, None, None, None, None, None, None, None, 0, [])
    means = {name: fmean(getattr(a.scores, name) for a in answers) for name in IKM_ELEMENTS}
    ikm = ikm_of(answers)
    comments = sorted((a.answered_ms, a.comment) for a in answers if a.comment)
    return SurveySummary(
        responses=len(answers),
        ikm=ikm,
        ikm_grade=ikm_grade(ikm),
        overall_mean=means["overall"],
        registration_mean=means["registration"],
        on_time_mean=means["on_time"],
        officers_mean=means["officers"],
        sound_mean=fmean(a.scores.sound for a in answers),
        picture_mean=fmean(a.scores.picture for a in answers),
        asked_to_pay=sum(1 for a in answers if a.scores.asked_to_pay),
        comments=comments,
    )
