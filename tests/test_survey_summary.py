"""The survey summed up as the monthly report shows it: the national IKM formula (PermenPANRB
14/2017), its grades, the quality means, "asked to pay" and the comments."""

from __future__ import annotations

from services.ids import FacilityId, ParticipantId, VisitId
from services.surveys.answers import Language, Scores, SurveyAnswer
from services.surveys.summary import ikm_grade, summarise


def answer(
    n: int,
    ikm: tuple[int, int, int, int],
    quality: tuple[int, int],
    pay: bool = False,
    comment: str = "",
) -> SurveyAnswer:
    overall, registration, on_time, officers = ikm
    scores = Scores(overall, registration, on_time, officers, *quality, asked_to_pay=pay)
    return SurveyAnswer(
        VisitId(f"v{n}"),
        ParticipantId(f"p{n}"),
        FacilityId("f1"),
        1_000 * n,
        Language.ID,
        scores,
        comment,
    )


def test_worked_example() -> None:
    """Four answers, computed by hand.

    answer  overall registration on_time officers | sound picture | pay comment
      1        4        3          4       4      |   5      4    |  no "Bagus"   (at 1000 ms)
      2        3        3          2       4      |   4      3    |  no
      3        2        3          3       3      |   3      3    | yes "Diminta uang" (3000)
      4        4        4          4       4      |   5      5    |  no

    NRR overall = 13/4 = 3.25, registration = 13/4 = 3.25, on time = 13/4 = 3.25,
    officers = 15/4 = 3.75. IKM = (3.25 + 3.25 + 3.25 + 3.75) x 1/4 = 13.5/4 = 3.375 on the 1-4
    scale; x 25 = 84.375, reported 84.38 (half up), which is B (76.61-88.30).
    Sound = 17/4 = 4.25, picture = 15/4 = 3.75; one "asked to pay"; two comments, oldest first.
    """
    answers = [
        answer(3, (2, 3, 3, 3), (3, 3), pay=True, comment="Diminta uang"),
        answer(1, (4, 3, 4, 4), (5, 4), comment="Bagus"),
        answer(2, (3, 3, 2, 4), (4, 3)),
        answer(4, (4, 4, 4, 4), (5, 5)),
    ]
    got = summarise(answers)
    assert got.responses == 4
    assert (got.overall_mean, got.registration_mean, got.on_time_mean, got.officers_mean) == (
        3.25,
        3.25,
        3.25,
        3.75,
    )
    assert (got.ikm, got.ikm_grade) == (84.38, "B")
    assert (got.sound_mean, got.picture_mean) == (4.25, 3.75)
    assert got.asked_to_pay == 1
    assert got.comments == [(1000, "Bagus"), (3000, "Diminta uang")]


def test_extremes() -> None:
    """Every element 4 is IKM 100 (A); every element 1 is 25 (D): the conversion's two ends."""
    best = summarise([answer(1, (4, 4, 4, 4), (5, 5))])
    worst = summarise([answer(1, (1, 1, 1, 1), (1, 1)), answer(2, (1, 1, 1, 1), (1, 1))])
    assert (best.ikm, best.ikm_grade) == (100.0, "A")
    assert (worst.ikm, worst.ikm_grade, worst.responses) == (25.0, "D", 2)


def test_thirds_round_half_up() -> None:
    """Three answers scoring 3,3,3,3 / 3,3,3,3 / 4,3,3,3: total 37 over 12 scores, IKM =
    25 x 37 / 12 = 77.0833..., reported 77.08 (B)."""
    got = summarise(
        [
            answer(1, (3, 3, 3, 3), (3, 3)),
            answer(2, (3, 3, 3, 3), (3, 3)),
            answer(3, (4, 3, 3, 3), (3, 3)),
        ]
    )
    assert (got.ikm, got.ikm_grade) == (77.08, "B")


def test_grade_bounds() -> None:
    """The regulation's table: A 88.31-100, B 76.61-88.30, C 65.00-76.60, D 25.00-64.99."""
    table = {
        100.0: "A",
        88.31: "A",
        88.30: "B",
        76.61: "B",
        76.60: "C",
        65.00: "C",
        64.99: "D",
        25.0: "D",
    }
    assert {value: ikm_grade(value) for value in table} == table


def test_no_answers() -> None:
    """No answers: a count of zero and no index, no means, no comments (not a zero score)."""
    got = summarise([])
    assert (got.responses, got.ikm, got.ikm_grade, got.sound_mean, got.asked_to_pay) == (
        0,
        None,
        None,
        None,
        0,
    )
    assert got.comments == []
