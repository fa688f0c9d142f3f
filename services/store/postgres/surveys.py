"""``PgStore``'s ``SurveyStore`` role: survey answers, each with its audit event in the same
transaction (as ``services.store.sqlite.surveys``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import psycopg
from psycopg import AsyncConnection

from services.audit.chain import AuditEvent
from services.errors import AlreadyAnswered
from services.store.postgres.chain_head import PgChain
from services.store.postgres.reader import PgReads
from services.store.postgres.writer import PgWriter
from services.store.sqlite.surveys import _COLS, MAX_ANSWERS, answer_of
from services.surveys.answers import SurveyAnswer

INSERT = f"INSERT INTO survey_answers ({_COLS}) VALUES ({','.join(['%s'] * 13)})"


class PgSurveys(PgReads):
    """The ``SurveyStore`` role of ``PgStore``."""

    _writer: PgWriter

    async def add_survey_answer(self, answer: SurveyAnswer, event: AuditEvent) -> None:
        s = answer.scores
        row: tuple[object, ...] = (answer.visit_id, answer.participant_id)
        row += (answer.facility_id, answer.answered_ms, answer.language.value)
        row += (s.overall, s.registration, s.on_time, s.officers, s.sound, s.picture)
        row += (int(s.asked_to_pay), answer.comment)

        async def job(conn: AsyncConnection[Any], chain: PgChain) -> None:
            try:
                await conn.execute(INSERT, row)
            except psycopg.errors.UniqueViolation as exc:
                raise AlreadyAnswered("this survey was answered already") from exc
            chain.append([event])

        await self._writer.run(job)

    async def survey_answer(self, visit_id: str, participant_id: str) -> SurveyAnswer | None:
        rows = await self._fetch(
            f"SELECT {_COLS} FROM survey_answers WHERE visit_id = %s AND participant_id = %s",
            (visit_id, participant_id),
        )
        return answer_of(rows[0]) if rows else None

    async def survey_answers(
        self, facility_ids: Collection[str], start_ms: int, end_ms: int
    ) -> list[SurveyAnswer]:
        rows = await self._fetch(
            f"SELECT {_COLS} FROM survey_answers WHERE facility_id = ANY(%s)"
            " AND answered_ms >= %s AND answered_ms < %s"
            " ORDER BY answered_ms, visit_id, participant_id LIMIT %s",
            (sorted(set(facility_ids)), start_ms, end_ms, MAX_ANSWERS),
        )
        return [answer_of(row) for row in rows]
