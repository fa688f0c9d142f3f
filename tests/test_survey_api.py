"""The survey after a visit over the real API: answered once per seat, only after the visit
ended, authorised by the seat's visit token or link (or, on /status, by code and NIK, which
hands out the link), recorded with an audit event that holds no comment text, and hostile
input refused with a typed error."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson
import pytest
from structlog.testing import capture_logs

from services.admin.provision import Admin
from services.audit.query import AuditQuery
from services.booking.calendar import CalendarService
from services.booking.scheduling import ScheduledVisit
from services.booking.slots import day_bounds, parse_weekdays
from services.domain.model import EndReason, Role, VisitKind, VisitStatus
from services.ids import VisitId
from services.store.protocols import VisitChange
from tests.helpers.officer import as_officer
from tests.helpers.pair import pair
from tests.helpers.world import World

SCORES: dict[str, Any] = {
    "overall": 4,
    "registration": 3,
    "on_time": 2,
    "officers": 4,
    "sound": 5,
    "picture": 4,
    "asked_to_pay": False,
    "language": "id",
}
COMMENT = "Petugas ramah, tetapi suara putus-putus. Budi, NIK 3201011508900001"


async def _ended(world: World, kind: VisitKind = VisitKind.REGULAR) -> ScheduledVisit:
    """A visit scheduled now and ended on time by the store (as the node's timer does)."""
    made = await world.schedule(kind=kind)
    over = VisitChange(
        made.visit.id,
        VisitStatus.ENDED,
        frozenset({VisitStatus.SCHEDULED, VisitStatus.LIVE}),
        world.clock.now(),
        EndReason.COMPLETED,
    )
    await world.store.change_visit(over, [])
    return made


def _link(made: ScheduledVisit, role: Role = Role.FAMILY) -> str:
    seat = next(p for p in made.visit.participants if p.role is role)
    return made.links[seat.id]


async def _post(world: World, path: str, body: object) -> tuple[int, dict[str, Any]]:
    resp = await world.client.post(
        path, data=orjson.dumps(body), headers={"Content-Type": "application/json"}
    )
    return resp.status, await resp.json()


async def _answer(world: World, **body: Any) -> tuple[int, dict[str, Any]]:
    return await _post(world, "/api/v1/survey", {**SCORES, **body})


async def test_a_family_answers_once_by_its_link(world: World) -> None:
    """Open after the end; 201 with the time; the state is then `answered` and a second answer
    is 409 already_answered; the first one stands in the store."""
    made = await _ended(world)
    link = _link(made)
    assert await _post(world, "/api/v1/survey/state", {"link": link}) == (
        200,
        {"state": "open", "link": None},
    )
    status, body = await _answer(world, link=link, comment=f"  {COMMENT}\n")
    assert (status, body["state"]) == (201, "answered")
    assert body["answered_ms"] == int(world.clock.now() * 1000)
    status, body = await _post(world, "/api/v1/survey/state", {"link": link})
    assert body["state"] == "answered"
    status, body = await _answer(world, link=link, overall=1)
    assert (status, body["error"]["code"]) == (409, "already_answered")
    seat = next(p for p in made.visit.participants if p.role is Role.FAMILY)
    stored = await world.store.survey_answer(made.visit.id, seat.id)
    assert stored is not None and stored.scores.overall == 4 and stored.comment == COMMENT


async def test_the_audit_event_and_the_log_hold_no_comment(world: World) -> None:
    """`survey-answered` names the seat and holds the scores, asked_to_pay, the language and the
    comment's SHA-256; neither it nor any log line holds the comment's text."""
    made = await _ended(world)
    with capture_logs() as logs:
        status, _ = await _answer(world, link=_link(made), asked_to_pay=True, comment=COMMENT)
    assert status == 201
    rows = await world.store.audit_search(AuditQuery(visit_id=made.visit.id, limit=100))
    (event,) = [r for r in rows if r.action == "survey-answered"]
    details = orjson.loads(event.details)
    assert details == {
        **{k: v for k, v in SCORES.items()},
        "asked_to_pay": True,
        "comment_sha256": hashlib.sha256(COMMENT.encode()).hexdigest(),
    }
    assert event.actor_role == "family" and event.facility_id == world.facility_id
    assert "Petugas" not in event.details and "3201" not in event.details
    assert any(line.get("event") == "survey.answered" for line in logs)
    assert "Petugas" not in repr(logs)


async def test_after_a_hangup_the_visit_token_answers(world: World) -> None:
    """A real visit: terminal and family in, the family hangs up (`leave`): the visit ends and
    the family's token, as the visit page holds it, answers the survey."""
    term, fam, visit_id = await pair(world)
    await fam.send({"type": "leave"})
    await term.until("ended")
    visit = await world.store.get_visit(visit_id)
    assert visit is not None and visit.end_reason is EndReason.HANGUP
    seat = next(p for p in visit.participants if p.role is Role.FAMILY)
    token = await world.links.participant_token(visit, seat)
    assert (await _post(world, "/api/v1/survey/state", {"token": token}))[1]["state"] == "open"
    status, _ = await _answer(world, token=token)
    assert status == 201
    assert await world.store.survey_answer(visit_id, seat.id) is not None


async def test_not_before_the_end_nor_after_a_cancel_nor_a_month_on(world: World) -> None:
    """A visit still to come is `not_yet` (answer 409 survey_not_open); one cancelled is
    `closed`; an ended one closes 30 days after its end."""
    coming = await world.schedule(start_in=3600)
    link = _link(coming)
    assert (await _post(world, "/api/v1/survey/state", {"link": link}))[1]["state"] == "not_yet"
    status, body = await _answer(world, link=link)
    assert (status, body["error"]["code"]) == (409, "survey_not_open")
    off = VisitChange(
        coming.visit.id,
        VisitStatus.CANCELLED,
        frozenset({VisitStatus.SCHEDULED}),
        world.clock.now(),
        EndReason.CANCELLED,
    )
    await world.store.change_visit(off, [])
    assert (await _post(world, "/api/v1/survey/state", {"link": link}))[1]["state"] == "closed"
    ended = await _ended(world)
    await world.advance(30 * 86400 + 1)
    state = (await _post(world, "/api/v1/survey/state", {"link": _link(ended)}))[1]["state"]
    assert state == "closed"
    status, body = await _answer(world, link=_link(ended))
    assert (status, body["error"]["code"]) == (409, "survey_not_open")


async def test_each_guest_of_a_visit_answers_for_itself(world: World) -> None:
    """An education visit: the family and the teacher each answer once; neither answers for
    the other."""
    made = await _ended(world, VisitKind.EDUCATION)
    assert (await _answer(world, link=_link(made)))[0] == 201
    assert (await _answer(world, link=_link(made, Role.TEACHER)))[0] == 201
    assert (await _answer(world, link=_link(made, Role.TEACHER)))[0] == 409


async def test_wrong_or_foreign_credentials_are_refused(world: World) -> None:
    """Unknown link, a garbage token, the terminal's token: 401. Neither or both credentials:
    400. Another visit's token answers about that visit only (still to come: 409), never
    about the ended one."""
    ended = await _ended(world)
    other = await world.schedule(start_in=3600)
    for body, code in (
        ({"link": "x" * 43}, 401),
        ({"link": "short"}, 401),
        ({"token": "not.a.token"}, 401),
        ({"token": await world.token(ended, Role.TERMINAL)}, 401),
        ({}, 400),
        ({"link": _link(ended), "token": await world.token(ended, Role.FAMILY)}, 400),
        ({"token": await world.token(other, Role.FAMILY)}, 409),
    ):
        status, answer = await _answer(world, **body)
        assert status == code, (body, answer)
    seat = next(p for p in ended.visit.participants if p.role is Role.FAMILY)
    assert await world.store.survey_answer(ended.visit.id, seat.id) is None


async def test_a_revoked_seat_cannot_answer(world: World) -> None:
    """An officer shut the family out: its link answers nothing (403 access_revoked)."""
    made = await _ended(world)
    seat = next(p for p in made.visit.participants if p.role is Role.FAMILY)
    path = f"/api/v1/participants/{seat.id}/revoke"
    assert (await world.client.post(path, headers=as_officer(world), json={})).status == 200
    status, body = await _answer(world, link=_link(made))
    assert (status, body["error"]["code"]) == (403, "access_revoked")


@pytest.mark.parametrize(
    "change",
    [
        {"overall": 0},
        {"overall": 5},
        {"registration": True},
        {"on_time": "4"},
        {"officers": 3.5},
        {"sound": 6},
        {"picture": 0},
        {"asked_to_pay": None},
        {"asked_to_pay": "no"},
        {"language": "fr"},
        {"comment": "x" * 1001},
        {"comment": "ok\x00"},
        {"comment": "ok\x1b[2J"},
        {"comment": "ok \u202etxt.exe"},
        {"comment": 12},
    ],
)
async def test_hostile_answers_are_refused(world: World, change: dict[str, Any]) -> None:
    """Each out-of-range score, wrong type, unknown language, over-long comment or comment
    with a control or bidirectional-override character: 400, and nothing stored."""
    made = await _ended(world)
    status, body = await _answer(world, link=_link(made), **change)
    assert (status, body["error"]["code"]) == (400, "bad_request"), change
    seat = next(p for p in made.visit.participants if p.role is Role.FAMILY)
    assert await world.store.survey_answer(made.visit.id, seat.id) is None


async def test_a_comment_may_have_lines_emoji_and_1000_characters(world: World) -> None:
    """Newlines, a tab and a family emoji (joined by zero-width joiners) are kept; 1000
    characters after trimming fit."""
    made = await _ended(world)
    comment = "Baris satu\n\tbaris dua 👨\u200d👩\u200d👧 " + "a" * 970
    comment = comment[:1000]
    status, _ = await _answer(world, link=_link(made), comment=f" {comment} ")
    assert status == 201
    seat = next(p for p in made.visit.participants if p.role is Role.FAMILY)
    stored = await world.store.survey_answer(made.visit.id, seat.id)
    assert stored is not None and stored.comment == comment.strip()


async def test_a_body_that_is_not_an_object_is_refused(world: World) -> None:
    """A JSON list, a string, or malformed JSON: 400, never a 500."""
    for raw in (b"[]", b'"x"', b"{", b"null"):
        resp = await world.client.post(
            "/api/v1/survey", data=raw, headers={"Content-Type": "application/json"}
        )
        assert resp.status == 400, raw


NIK = "3201011508900001"


async def _requested(world: World) -> dict[str, Any]:
    """A family's request for next Saturday 08:00 (the facility's time), approved."""
    await Admin(world.store).import_inmates(world.facility_id, "number,name,block\nN-1,Budi,A\n")
    await CalendarService(world.store).add_template(
        world.terminal.room_id,
        parse_weekdays("sat"),
        (480, 540),
        30,
        frozenset({VisitKind.REGULAR}),
    )
    today = dt.datetime.fromtimestamp(world.clock.now(), dt.UTC).date()
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
    visitor = {
        "name": "Siti Aminah",
        "nik": NIK,
        "phone": "0812-3456-7890",
        "relationship": "spouse",
    }
    body = {
        "facility_id": world.facility_id,
        "inmate_number": "N-1",
        "kind": "regular",
        "start_ms": day_bounds(saturday, "Asia/Jakarta")[0] + 480 * 60_000,
        "visitor": visitor,
    }
    status, made = await _post(world, "/api/v1/requests", body)
    assert status == 201
    return made


async def test_status_asks_by_code_and_gets_the_stable_link(world: World) -> None:
    """/status's question by code and the NIK's last 4: requested and approved are `not_yet`
    with no link; once ended, `open` with the family's stable link, which then answers; a
    wrong NIK is 404 and counted as a wrong guess (429 after ten)."""
    made = await _requested(world)
    who = {"code": made["code"], "nik_last4": NIK[-4:]}
    assert await _post(world, "/api/v1/survey/state", who) == (
        200,
        {"state": "not_yet", "link": None},
    )
    path = f"/api/v1/requests/{made['id']}/approve"
    assert (await world.client.post(path, headers=as_officer(world))).status == 200
    assert (await _post(world, "/api/v1/survey/state", who))[1]["state"] == "not_yet"
    over = VisitChange(
        VisitId(made["id"]),
        VisitStatus.ENDED,
        frozenset({VisitStatus.SCHEDULED}),
        world.clock.now(),
        EndReason.NO_SHOW,
    )
    await world.store.change_visit(over, [])
    status, state = await _post(world, "/api/v1/survey/state", who)
    assert state["state"] == "open" and len(state["link"]) == 43
    assert (await _answer(world, link=state["link"]))[0] == 201
    assert (await _post(world, "/api/v1/survey/state", who))[1]["state"] == "answered"
    wrong = {"code": made["code"], "nik_last4": "0000"}
    codes = [(await _post(world, "/api/v1/survey/state", wrong))[0] for _ in range(11)]
    assert codes == [404] * 10 + [429]
    status, _ = await _post(world, "/api/v1/survey/state", {**who, "link": state["link"]})
    assert status == 400
