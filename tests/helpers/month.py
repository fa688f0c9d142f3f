"""A seeded month with known counts for the monthly report: January 2027 at the desk's facility
(Jakarta), with every kind of request outcome and visit end, media minutes played as the hub
logs them (``joined``, ``connected``, ``left``, ``ended`` at set times), and a second facility in
another time zone for a region. ``EXPECTED`` lists every figure this month must give."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from services.admin.provision import Admin
from services.audit.chain import AuditEvent
from services.booking.rejections import RejectReason
from services.booking.scheduling import GuestSpec, VisitService
from services.domain.model import EndReason, Role, Visit, VisitKind, VisitStatus
from services.ids import Actor, InmateId, ParticipantId, TerminalId
from services.store.protocols import VisitChange
from services.surveys.answers import Language, Scores, SurveyAnswer
from tests.helpers.desk import OFFICER, SATURDAY, SUNDAY, Desk, form, nik, open_desk, slot

MONTH = "2027-01"
OTHER = "f_2"  # in Makassar (UTC+8), one walk-in on 31 January local time
OPEN_STATES = frozenset({VisitStatus.SCHEDULED, VisitStatus.LIVE})

# (section, name, breakdown) -> value, for the desk's facility alone.
EXPECTED: dict[tuple[str, str, str], float] = {
    ("requests", "requested", "regular"): 6,
    ("requests", "requested", "education"): 1,
    ("requests", "requested", "legal"): 0,
    ("requests", "requested", "all"): 7,
    ("requests", "approved", "regular"): 2,
    ("requests", "approved", "education"): 1,
    ("requests", "approved", "all"): 3,
    ("requests", "rejected", "regular"): 1,
    ("requests", "rejected", "all"): 1,
    ("requests", "withdrawn", "all"): 1,
    ("requests", "held", "regular"): 2,  # one never decided, one approved in February
    ("requests", "held", "all"): 2,
    # the walk-in, R1, R2, R7 (approved late, never held), and three an officer scheduled (one
    # cancelled, one on the 31st not ended, one in February: not January's)
    ("visits", "booked", "regular"): 6,
    ("visits", "booked", "education"): 1,
    ("visits", "booked", "all"): 7,
    ("visits", "walk_ins", "all"): 1,
    ("end_reasons", "completed", "all"): 1,
    ("end_reasons", "hangup", "all"): 1,
    ("end_reasons", "terminated", "all"): 1,
    ("end_reasons", "no_show", "all"): 1,
    ("end_reasons", "failed", "all"): 0,
    ("end_reasons", "cancelled", "all"): 1,
    ("end_reasons", "open", "all"): 2,
    ("visits", "due", "all"): 4,
    ("visits", "no_show_rate", "all"): 25.0,
    # the walk-in's 15, a request's 30-minute slot, 35 with a priority visitor, education's 30
    ("minutes", "scheduled", "all"): 110.0,
    ("minutes", "connected", "all"): 24.0,  # 12 + 7 + 0 + 5
    ("minutes", "lost", "system"): 3.0,  # the node down during R2, and until media was back
    ("minutes", "lost", "family"): 2.0,  # R1's family away 08:05-08:07
    ("minutes", "lost", "officer"): 10.0,  # the walk-in terminated 10 minutes early
    ("minutes", "lost", "all"): 15.0,
    ("minutes", "unused", "all"): 71.0,  # late starts, the no-show, early ends
    ("survey", "responses", "all"): 2,
    ("survey", "ikm", "all"): 78.13,  # 25 x (14 + 11) / (4 x 2)
    ("survey", "overall_mean", "all"): 3.5,
    ("survey", "registration_mean", "all"): 3.0,
    ("survey", "on_time_mean", "all"): 2.5,
    ("survey", "officers_mean", "all"): 3.5,
    ("survey", "sound_mean", "all"): 4.0,
    ("survey", "picture_mean", "all"): 3.5,
    ("survey", "asked_to_pay", "all"): 1,
    ("lead_time", "median_days", "all"): 0.7,  # 17 h, 17.5 h, 41 h
    ("lead_time", "requests_counted", "all"): 3,
    ("priority", "booked", "all"): 1,
    ("priority", "served", "all"): 1,
}
PER_DAY = {15: 1, 16: 2, 17: 3, 31: 1}


@dataclass
class SeededMonth:
    desk: Desk
    visits: VisitService
    facility_id: str
    other_id: str


async def _at(desk: Desk, when: dt.datetime) -> None:
    """Move the desk's clock forward to ``when`` (Jakarta, UTC+7)."""
    target = when.replace(tzinfo=dt.timezone(dt.timedelta(hours=7))).timestamp()
    await desk.clock.advance(target - desk.clock.now())


def _seat(visit: Visit, role: Role) -> Actor:
    seat = next(p for p in visit.participants if p.role is role)
    return Actor(role.value, seat.id)


async def _log(desk: Desk, visit: Visit, action: str, actor: Actor) -> None:
    event = AuditEvent(action, actor.role, actor.id, visit.facility_id, visit.id, {})
    await desk.store.append([event])


async def _end(desk: Desk, visit: Visit, reason: EndReason, actor: Actor) -> None:
    """End the visit now as the hub does: its status and its ``ended`` event in one commit."""
    change = VisitChange(visit.id, VisitStatus.ENDED, OPEN_STATES, desk.clock.now(), reason)
    event = AuditEvent(
        "ended", actor.role, actor.id, visit.facility_id, visit.id, {"reason": reason.value}
    )
    await desk.store.change_visit(change, [event])


async def _answer(desk: Desk, visit: Visit, scores: Scores, comment: str) -> None:
    """The family's survey answer, now, stored with its event as ``SurveyService`` does."""
    seat = _seat(visit, Role.FAMILY)
    now_ms = int(desk.clock.now() * 1000)
    answer = SurveyAnswer(
        visit.id, ParticipantId(seat.id), visit.facility_id, now_ms, Language.ID, scores, comment
    )
    details = {**scores.to_json(), "language": "id"}
    event = AuditEvent("survey-answered", seat.role, seat.id, visit.facility_id, visit.id, details)
    await desk.store.add_survey_answer(answer, event)


async def _call(desk: Desk, visit: Visit, start: dt.datetime, connect_min: int) -> None:
    """Both sides join at ``start`` and media connects ``connect_min`` minutes later."""
    await _at(desk, start)
    await _log(desk, visit, "joined", _seat(visit, Role.TERMINAL))
    await _at(desk, start + dt.timedelta(minutes=connect_min))
    await _log(desk, visit, "joined", _seat(visit, Role.FAMILY))
    await _log(desk, visit, "connected", _seat(visit, Role.FAMILY))


async def seed_month(tmp_path: Path) -> SeededMonth:
    """The month of ``EXPECTED``, on a real store (closed by the caller)."""
    desk = await open_desk(tmp_path)
    service, visits = desk.service, VisitService(desk.store, desk.clock)
    await _at(desk, dt.datetime(2027, 1, 15, 15, 0))
    r1 = await service.submit(form(slot(SATURDAY, "08:00"), 1, "B-1"))
    r2 = await service.submit(form(slot(SATURDAY, "08:30"), 2, "B-2", priority=True))
    r3 = await service.submit(form(slot(SATURDAY, "09:00"), 3, "B-3"))
    r4 = await service.submit(
        form(slot(SUNDAY, "08:00"), 4, "B-4", kind=VisitKind.EDUCATION, teacher="Bu Guru")
    )
    r5 = await service.submit(form(slot(SUNDAY, "08:00"), 5, "B-5"))
    await service.submit(form(slot(SUNDAY, "08:30"), 6, "B-6"))  # held: never decided
    r7 = await service.submit(form(slot(SUNDAY, "09:00"), 7, "B-7"))
    v1 = (await service.approve(r1, OFFICER)).visit
    v2 = (await service.approve(r2, OFFICER)).visit
    v4 = (await service.approve(r4, OFFICER)).visit
    await service.reject(r3, RejectReason.INCOMPLETE_DATA, "", OFFICER)
    await service.cancel(r5.code, nik(5)[-4:])
    inmates = {i.number: i.id for i in await desk.store.facility_inmates(desk.facility_id)}

    async def officer_visit(start: float, inmate: str, walk_in: bool = False) -> Visit:
        guests = [GuestSpec(Role.FAMILY, "Budi Santoso")]
        scheduled = await visits.schedule(
            terminal_id=TerminalId("t_1"),
            inmate_id=InmateId(inmates[inmate]),
            kind=VisitKind.REGULAR,
            start=start,
            guests=guests,
            actor=OFFICER,
            walk_in=walk_in,
        )
        return scheduled.visit

    walk_in = await officer_visit(desk.clock.now(), "B-8", walk_in=True)
    s1 = await officer_visit(slot(SUNDAY, "09:30") / 1000, "B-9")
    await officer_visit(slot(dt.date(2027, 1, 31), "09:00") / 1000, "B-10")  # open
    await officer_visit(slot(dt.date(2027, 2, 6), "09:00") / 1000, "B-11")  # next month's
    # The walk-in: up at once, terminated by an officer after 5 minutes.
    await _call(desk, walk_in, dt.datetime(2027, 1, 15, 15, 0), 0)
    await _at(desk, dt.datetime(2027, 1, 15, 15, 5))
    await _log(desk, walk_in, "terminated", OFFICER)
    await _end(desk, walk_in, EndReason.TERMINATED, OFFICER)
    await visits.cancel(s1.id, OFFICER, "room repaired")
    # R1: up at 08:01, the family drops 08:05-08:07, completed at 08:15: 12 minutes.
    await _call(desk, v1, dt.datetime(2027, 1, 16, 8, 0), 1)
    await _at(desk, dt.datetime(2027, 1, 16, 8, 5))
    await _log(desk, v1, "left", _seat(v1, Role.FAMILY))
    await _at(desk, dt.datetime(2027, 1, 16, 8, 7))
    await _log(desk, v1, "joined", _seat(v1, Role.FAMILY))
    await _at(desk, dt.datetime(2027, 1, 16, 8, 15))
    await _end(desk, v1, EndReason.COMPLETED, Actor.system("n1"))
    # R2 (a priority visitor: 35 minutes): up 08:30; the node is killed at 08:33 and back at
    # 08:35 (its node-started event says so), both sides rejoin and media flows again at 08:36:
    # 3 minutes lost to the system; the family hangs up at 08:40 (7 minutes connected).
    await _call(desk, v2, dt.datetime(2027, 1, 16, 8, 30), 0)
    await _at(desk, dt.datetime(2027, 1, 16, 8, 35))
    down_from = int(desk.clock.now() * 1000) - 120_000
    started = {"node": "n1", "down_from_ms": down_from, "crashed": True}
    await desk.store.append([AuditEvent("node-started", *Actor.system("n1"), details=started)])
    await _call(desk, v2, dt.datetime(2027, 1, 16, 8, 35), 1)
    await _at(desk, dt.datetime(2027, 1, 16, 8, 40))
    await _end(desk, v2, EndReason.HANGUP, _seat(v2, Role.FAMILY))
    # R4 (education, Sunday): nobody comes; no-show at 08:10.
    await _at(desk, dt.datetime(2027, 1, 17, 8, 10))
    await _end(desk, v4, EndReason.NO_SHOW, Actor.system("n1"))
    await _answer(desk, v1, Scores(4, 3, 3, 4, 5, 4, False), "Terima kasih, lancar.")
    await _answer(desk, v2, Scores(3, 3, 2, 3, 3, 3, True), "")
    # R7, requested in January, is approved in February: January holds it.
    await _at(desk, dt.datetime(2027, 2, 2, 9, 0))
    await service.approve(r7, OFFICER)
    other = await _other_facility(desk, visits)
    return SeededMonth(desk, visits, desk.facility_id, other)


async def _other_facility(desk: Desk, visits: VisitService) -> str:
    """A facility in Makassar with one walk-in at 23:30 local time on 31 January (16:30 in
    Jakarta's zone, still January in both)."""
    admin = Admin(desk.store)
    await admin.facility("Lapas Makassar", "Asia/Makassar", facility_id=OTHER)
    room = await admin.room(OTHER, "Ruang M", "r_m")
    await admin.terminal(room.id, "PC M", "http://test", "t_m")
    inmates = await admin.import_inmates(OTHER, "number,name,block\nM-1,Napi M,A\n")
    del inmates
    inmate = (await desk.store.facility_inmates(OTHER))[0]
    start = dt.datetime(2027, 1, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    await visits.schedule(
        terminal_id=TerminalId("t_m"),
        inmate_id=inmate.id,
        kind=VisitKind.REGULAR,
        start=start.timestamp(),
        guests=[GuestSpec(Role.FAMILY, "Andi")],
        actor=OFFICER,
        walk_in=True,
    )
    return OTHER
