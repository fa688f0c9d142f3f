"""Store roles done on both backends, run by the same tests against each: SQLite and a real
PostgreSQL 15 (the issue's shared scenario tests, which keep the two honest). Rows the role
under test does not own are seeded by SQL, the same statements on both."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.access.revocation import RevocationKind
from services.audit.chain import AuditEvent
from services.audit.query import AuditQuery
from services.audit.signing import Ed25519Signer
from services.clock import SystemClock
from services.errors import AlreadyAnswered
from services.ids import FacilityId, ParticipantId, VisitId
from services.store.postgres.connection import connect as pg_connect
from services.store.postgres.store import PgStore
from services.store.sqlite.store import SqliteStore
from services.surveys.answers import Language, Scores, SurveyAnswer

SEED = (
    "INSERT INTO facilities (id, name, timezone, rules) VALUES (?, 'Lapas', 'Asia/Jakarta', '{}')"
    " ON CONFLICT DO NOTHING",
    "INSERT INTO rooms (id, facility_id, name) VALUES (?, ?, 'Ruang 1')",
    "INSERT INTO terminals (id, facility_id, room_id, name, secret_hash)"
    " VALUES (?, ?, ?, 'PC', 'x')",
    "INSERT INTO visits (id, code, facility_id, room_id, terminal_id, inmate_id, kind, status,"
    " start_ms, end_ms, created_ms) VALUES (?, ?, ?, ?, ?, 'i1', 'regular', 'ended', 0, 1, 0)",
    "INSERT INTO participants (id, visit_id, role, name) VALUES (?, ?, 'family', 'Sari')",
)
SCORES = Scores(4, 3, 3, 4, 5, 4, asked_to_pay=True)


@dataclass
class Backend:
    store: Any  # the roles both backends have so far (audit log, survey answers)
    execute: Callable[[str, tuple[object, ...]], None]

    def seed_visit(self, facility: str, visit: str) -> str:
        """A facility with one ended visit and its family seat; the seat's id."""
        room, terminal, seat = f"r_{visit}", f"t_{visit}", f"p_{visit}"
        self.execute(SEED[0], (facility,))
        self.execute(SEED[1], (room, facility))
        self.execute(SEED[2], (terminal, facility, room))
        self.execute(SEED[3], (visit, f"C{visit}", facility, room, terminal))
        self.execute(SEED[4], (seat, visit))
        return seat


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    signer = Ed25519Signer.from_data_dir(tmp_path)
    now = SystemClock().now
    if request.param == "sqlite":
        path = tmp_path / "t.db"
        lite = SqliteStore(path, signer, now, tmp_path)

        def run_lite(sql: str, args: tuple[object, ...]) -> None:
            conn = sqlite3.connect(path)
            with conn:
                conn.execute(sql, args)
            conn.close()

        yield Backend(lite, run_lite)
        await lite.aclose()
        return
    url: str = request.getfixturevalue("pg_url")
    pg = await PgStore.open(url, signer, now)

    def run_pg(sql: str, args: tuple[object, ...]) -> None:
        with pg_connect(url, autocommit=True) as conn:
            conn.execute(sql.replace("?", "%s"), args)

    yield Backend(pg, run_pg)
    await pg.aclose()


def _answer(facility: str, visit: str, seat: str, at_ms: int, comment: str = "") -> SurveyAnswer:
    return SurveyAnswer(
        VisitId(visit),
        ParticipantId(seat),
        FacilityId(facility),
        at_ms,
        Language.ID,
        SCORES,
        comment,
    )


async def _add(b: Backend, answer: SurveyAnswer) -> None:
    event = AuditEvent(
        "survey-answered", "family", answer.participant_id, answer.facility_id, answer.visit_id
    )
    await b.store.add_survey_answer(answer, event)


async def test_survey_answers_by_facility_and_time(backend: Backend) -> None:
    """Answers at 1000, 2000 (facility 1) and 1500 (facility 2): [1000, 2000) of facility 1 is
    the first alone; of both, the first two oldest first; one answer read back by its seat;
    no facilities, nothing."""
    s1 = backend.seed_visit("f1", "v1a")
    s2 = backend.seed_visit("f1", "v1b")
    s3 = backend.seed_visit("f2", "v2a")
    one, two = _answer("f1", "v1a", s1, 1000, "bagus"), _answer("f1", "v1b", s2, 2000)
    other = _answer("f2", "v2a", s3, 1500)
    for answer in (one, two, other):
        await _add(backend, answer)
    store = backend.store
    assert await store.survey_answers(["f1"], 1000, 2000) == [one]
    assert await store.survey_answers(["f1", "f2"], 1000, 2000) == [one, other]
    assert await store.survey_answers({"f1"}, 0, 3000) == [one, two]
    assert await store.survey_answers([], 0, 3000) == []
    assert await store.survey_answer("v1a", s1) == one
    assert await store.survey_answer("v1a", s2) is None


async def test_a_second_answer_is_refused_and_writes_nothing(backend: Backend) -> None:
    """The same seat again: AlreadyAnswered; the first answer and its one audit event stand,
    and the chain verifies."""
    seat = backend.seed_visit("f1", "v1a")
    first = _answer("f1", "v1a", seat, 1000, "first")
    await _add(backend, first)
    with pytest.raises(AlreadyAnswered):
        await _add(backend, _answer("f1", "v1a", seat, 2000, "second"))
    assert await backend.store.survey_answers(["f1"], 0, 10_000) == [first]
    rows = await backend.store.audit_search(AuditQuery(visit_id="v1a", limit=100))
    assert [r.action for r in rows] == ["survey-answered"]
    assert (await backend.store.audit_verify(live=True)).ok


def _revoked(kind: str, subject: str) -> AuditEvent:
    return AuditEvent("token-revoked", "admin", "a1", details={"kind": kind, "subject": subject})


async def test_revocations_numbered_once_and_polled_in_order(backend: Backend) -> None:
    """Revocations get growing seqs polled in order; a repeated one keeps its seq and logs
    nothing; several in one call come back in the order given; a revoked token is found."""
    store = backend.store
    assert await store.revocation_head() == 0
    first = await store.add_revocation(RevocationKind.PARTICIPANT, "p1", None, _revoked("p", "p1"))
    again = await store.add_revocation(RevocationKind.PARTICIPANT, "p1", None, _revoked("p", "p1"))
    assert again == first
    many = await store.add_revocations(
        [
            (RevocationKind.VISITOR, "vis_1", None, _revoked("v", "vis_1")),
            (RevocationKind.STAFF, "s1", None, _revoked("s", "s1")),
        ]
    )
    await store.revoke("jti-1", 4_000_000_000.0, _revoked("t", "jti-1"))
    assert await store.is_revoked("jti-1") and not await store.is_revoked("jti-2")
    polled = await store.revocations_after(0)
    assert [r.subject for r in polled] == ["p1", "vis_1", "s1", "jti-1"]
    assert [r.seq for r in polled] == sorted(r.seq for r in polled)
    assert polled[1:3] == many
    assert [r.subject for r in await store.revocations_after(first.seq, limit=2)] == [
        "vis_1",
        "s1",
    ]
    events = await store.audit_search(AuditQuery(action="token-revoked", limit=100))
    assert len(events) == 4  # the repeat logged nothing
    found = await store.find_revocation(
        ((RevocationKind.STAFF, "s1"), (RevocationKind.VISITOR, "x"))
    )
    assert found == many[1]


async def test_lift_reissue_and_prune(backend: Backend) -> None:
    """A lifted staff revocation no longer holds now but still refuses a token issued before
    the lift; lifting twice does nothing; revoking again gives a new seq; pruning expired
    token revocations never moves the head back."""
    store = backend.store
    staff = await store.add_revocation(RevocationKind.STAFF, "s1", None, _revoked("s", "s1"))
    before_lift = SystemClock().now() - 1
    assert await store.lift_revocation(RevocationKind.STAFF, "s1", _revoked("s", "s1"))
    assert not await store.lift_revocation(RevocationKind.STAFF, "s1", _revoked("s", "s1"))
    key = ((RevocationKind.STAFF, "s1"),)
    assert await store.find_revocation(key) is None
    lifted = await store.find_revocation(key, issued_at=before_lift)
    # The same revocation, now saying when it was lifted (tokens issued before it stay refused).
    assert lifted is not None and (lifted.seq, lifted.subject) == (staff.seq, "s1")
    assert lifted.before is not None and lifted.before > before_lift
    again = await store.add_revocation(RevocationKind.STAFF, "s1", None, _revoked("s", "s1"))
    assert again.seq > staff.seq and await store.find_revocation(key) == again
    old = await store.add_revocation(RevocationKind.TOKEN, "jti-old", 1.0, _revoked("t", "old"))
    head = await store.revocation_head()
    assert head == old.seq
    assert await store.prune_revocations(expired_before=2.0, limit=10) == 1
    assert not await store.is_revoked("jti-old")
    assert await store.revocation_head() == head


async def test_a_block_with_an_end_stops_holding_then(backend: Backend) -> None:
    """A visitor's block with an end holds until then and not after; blocking again moves the
    end (the same seq), and a block past its end is replaced by a new one (a new seq)."""
    store = backend.store
    key = ((RevocationKind.VISITOR, "v1"),)
    now = SystemClock().now()
    first = (
        await store.add_revocations(
            [(RevocationKind.VISITOR, "v1", None, _revoked("v", "v1"))], until=now + 3600
        )
    )[0]
    assert await store.find_revocation(key) == first
    moved = (
        await store.add_revocations(
            [(RevocationKind.VISITOR, "v1", None, _revoked("v", "v1"))], until=now - 1
        )
    )[0]
    assert moved.seq == first.seq
    assert await store.find_revocation(key) is None  # past its end
    again = (
        await store.add_revocations([(RevocationKind.VISITOR, "v1", None, _revoked("v", "v1"))])
    )[0]
    assert again.seq > first.seq and await store.find_revocation(key) == again
