"""The store's survey answers as the monthly report reads them: by the visits' facilities and
the answers' time, from an index, oldest first; one answer per seat, with its audit event in
the same transaction."""

from __future__ import annotations

import sqlite3

import pytest

from services.admin.provision import Admin
from services.audit.chain import AuditEvent
from services.audit.query import AuditQuery
from services.booking.scheduling import GuestSpec, ScheduledVisit
from services.domain.model import Role, VisitKind
from services.errors import AlreadyAnswered
from services.ids import Actor
from services.surveys.answers import Language, Scores, SurveyAnswer
from tests.helpers.world import World

SCORES = Scores(4, 3, 3, 4, 5, 4, asked_to_pay=False)


async def _other_facility_visit(world: World) -> ScheduledVisit:
    """A visit in a second facility."""
    admin = Admin(world.store)
    facility = await admin.facility("Rutan Serang")
    room = await admin.room(facility.id, "Ruang A")
    terminal, _ = await admin.terminal(room.id, "PC A", "http://test")
    await admin.import_inmates(facility.id, "number,name,block\nS-1,Sapto,B\n")
    inmate = await world.store.find_inmate(facility.id, "S-1")
    assert inmate is not None
    return await world.visits.schedule(
        terminal_id=terminal.id,
        inmate_id=inmate.id,
        kind=VisitKind.REGULAR,
        start=world.clock.now(),
        guests=[GuestSpec(Role.FAMILY, "Sari")],
        actor=Actor(Role.OFFICER, "s_test"),
        length_s=900,
    )


async def _add(world: World, made: ScheduledVisit, at_ms: int, comment: str = "") -> SurveyAnswer:
    seat = next(p for p in made.visit.participants if p.role is Role.FAMILY)
    answer = SurveyAnswer(
        made.visit.id, seat.id, made.visit.facility_id, at_ms, Language.EN, SCORES, comment
    )
    event = AuditEvent(
        "survey-answered", "family", seat.id, made.visit.facility_id, made.visit.id, {}
    )
    await world.store.add_survey_answer(answer, event)
    return answer


async def test_answers_are_read_by_facility_and_time(world: World) -> None:
    """Answers at 1000, 2000 (facility 1) and 1500 (facility 2): [1000, 2000) of facility 1 is
    the first alone; of both facilities, the first two oldest first; [0, 3000) of facility 1
    both of its own; no facilities, nothing."""
    one = await _add(world, await world.schedule(), 1000, "first")
    two = await _add(world, await world.schedule(start_in=3600), 2000)
    other = await _add(world, await _other_facility_visit(world), 1500)
    f1, f2 = world.facility_id, other.facility_id
    assert await world.store.survey_answers([f1], 1000, 2000) == [one]
    assert await world.store.survey_answers([f1, f2], 1000, 2000) == [one, other]
    assert await world.store.survey_answers({f1}, 0, 3000) == [one, two]
    assert await world.store.survey_answers([], 0, 3000) == []


async def test_a_second_answer_is_refused_and_writes_nothing(world: World) -> None:
    """The same seat again: AlreadyAnswered; the first answer and its one audit event stand."""
    made = await world.schedule()
    first = await _add(world, made, 1000, "first")
    with pytest.raises(AlreadyAnswered):
        await _add(world, made, 2000, "second")
    assert await world.store.survey_answers([world.facility_id], 0, 10_000) == [first]
    rows = await world.store.audit_search(AuditQuery(visit_id=made.visit.id, limit=100))
    assert [r.action for r in rows].count("survey-answered") == 1


def test_the_report_read_uses_the_index(world: World) -> None:
    """SQLite plans the report's read through ``survey_answers_facility``, not a scan."""
    path = world.settings.db_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    try:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM survey_answers WHERE facility_id IN (?, ?)"
            " AND answered_ms >= ? AND answered_ms < ?",
            ("f1", "f2", 0, 1),
        ).fetchall()
    finally:
        conn.close()
    assert "survey_answers_facility" in " ".join(str(row) for row in plan)
