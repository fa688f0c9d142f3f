"""``SqliteStore``'s ``SurveyStore`` role: survey answers, each with its audit event."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

from services.audit.chain import AuditEvent
from services.errors import AlreadyAnswered
from services.ids import FacilityId, ParticipantId, VisitId
from services.store.sqlite.base import SqliteBase
from services.store.sqlite.chain_head import Chain
from services.surveys.answers import Language, Scores, SurveyAnswer

_COLS = (
    "visit_id, participant_id, facility_id, answered_ms, language, overall, registration,"
    " on_time, officers, sound, picture, asked_to_pay, comment"
)
# A month of a region's answers is far below this; a bound on one read all the same.
MAX_ANSWERS = 200_000
_CHUNK = 500  # SQLite's bound on variables per statement, with room for the times


class SqliteSurveys(SqliteBase):
    """The ``SurveyStore`` role of ``SqliteStore``."""

    async def add_survey_answer(self, answer: SurveyAnswer, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            s = answer.scores
            row: tuple[object, ...] = (answer.visit_id, answer.participant_id)
            row += (answer.facility_id, answer.answered_ms, answer.language.value)
            row += (s.overall, s.registration, s.on_time, s.officers, s.sound, s.picture)
            row += (int(s.asked_to_pay), answer.comment)
            try:
                conn.execute(
                    f"INSERT INTO survey_answers ({_COLS}) VALUES ({','.join('?' * 13)})", row
                )
            except sqlite3.IntegrityError as exc:
                raise AlreadyAnswered("this survey was answered already") from exc
            chain.append(conn, [event])

        await self._write(job)

    async def survey_answer(self, visit_id: str, participant_id: str) -> SurveyAnswer | None:
        def q(conn: sqlite3.Connection) -> SurveyAnswer | None:
            row = conn.execute(
                f"SELECT {_COLS} FROM survey_answers WHERE visit_id = ? AND participant_id = ?",
                (visit_id, participant_id),
            ).fetchone()
            return None if row is None else answer_of(row)

        return await self._read_inline(q)

    async def survey_answers(
        self, facility_ids: Collection[str], start_ms: int, end_ms: int
    ) -> list[SurveyAnswer]:
        ids = sorted(set(facility_ids))

        def q(conn: sqlite3.Connection) -> list[SurveyAnswer]:
            out: list[SurveyAnswer] = []
            for chunk in range(0, len(ids), _CHUNK):
                part = ids[chunk : chunk + _CHUNK]
                out += [
                    answer_of(row)
                    for row in conn.execute(
                        f"SELECT {_COLS} FROM survey_answers WHERE facility_id IN"
                        f" ({','.join('?' * len(part))}) AND answered_ms >= ? AND answered_ms < ?"
                        f" LIMIT {MAX_ANSWERS}",
                        (*part, start_ms, end_ms),
                    )
                ]
            out.sort(key=lambda a: (a.answered_ms, a.visit_id, a.participant_id))
            return out[:MAX_ANSWERS]

        return await self._read(q)


def answer_of(row: Sequence[Any]) -> SurveyAnswer:
    """A ``survey_answers`` row (``_COLS``) as an answer."""
    scores = Scores(row[5], row[6], row[7], row[8], row[9], row[10], bool(row[11]))
    return SurveyAnswer(
        visit_id=VisitId(row[0]),
        participant_id=ParticipantId(row[1]),
        facility_id=FacilityId(row[2]),
        answered_ms=row[3],
        language=Language(row[4]),
        scores=scores,
        comment=row[12],
    )
