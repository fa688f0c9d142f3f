"""Make-up visits: a facility's rule (``makeup_after_min``) and the offers the offerer makes
from ended visits' system-caused loss, on a real store and through the real API and CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.audit.chain import AuditEvent
from services.booking.makeup import MakeupOfferer, offer_for
from services.domain.model import EndReason, Role, Visit, VisitStatus
from services.errors import BadRequest
from services.ids import Actor
from services.store.protocols import VisitChange
from tests.helpers.audit import cli_json, rows, run_cli
from tests.helpers.desk import OFFICER, SATURDAY, Desk, form, open_desk, slot

MIN = 60.0


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    d = await open_desk(tmp_path)
    try:
        yield d
    finally:
        await d.store.aclose()


async def booked(desk: Desk, n: int, hhmm: str) -> Visit:
    """Visitor ``n``'s approved 30-minute visit on Saturday at ``hhmm``."""
    visit = await desk.service.submit(form(slot(SATURDAY, hhmm), n=n, inmate=f"B-{n}"))
    return (await desk.service.approve(visit, OFFICER)).visit


async def held(desk: Desk, visit: Visit, terminal_away_min: float) -> Visit:
    """``visit`` held: both sides joined a minute in and media came up; the terminal was away
    ``terminal_away_min`` minutes from minute 5; the scheduled end ended it. Its log is
    written as the node writes it, at the clock's times."""
    start = visit.start

    def ev(action: str, role: str, actor: str) -> AuditEvent:
        return AuditEvent(action, role, actor, visit.facility_id, visit.id, {})

    async def at(minute: float) -> None:
        await desk.clock.advance(start + minute * MIN - desk.clock.now())

    await at(1)
    live = VisitChange(visit.id, VisitStatus.LIVE, frozenset({VisitStatus.SCHEDULED}), start)
    await desk.store.change_visit(live, [ev("joined", "terminal", "t_0")])
    await desk.store.append(
        [
            ev("joined", "family", "p_f"),
            ev("connected", "system", "n1"),
        ]
    )
    if terminal_away_min:
        await at(5)
        await desk.store.append([ev("left", "terminal", "t_0")])
        await at(5 + terminal_away_min)
        await desk.store.append(
            [ev("reconnected", "terminal", "t_0"), ev("connected", "system", "n1")]
        )
    await at(30)
    end = VisitChange(
        visit.id,
        VisitStatus.ENDED,
        frozenset({VisitStatus.LIVE}),
        desk.clock.now(),
        EndReason.COMPLETED,
    )
    return await desk.store.change_visit(end, [ev("ended", "system", "system:n1")])


def offerer(desk: Desk) -> MakeupOfferer:
    return MakeupOfferer(desk.store, desk.clock, "n1", 1.0)


def offered_events(desk: Desk) -> list[str]:
    found = rows(
        desk.data_dir / "tatap.db",
        "SELECT visit_id FROM audit_events WHERE action = 'makeup-offered'",
    )
    return [r[0] for r in found]


# ---- the rule ---------------------------------------------------------------------------------


async def test_the_rule_is_set_audited_and_bounded(desk: Desk) -> None:
    """``set_makeup_after`` stores 1..120 minutes or None with the policy (the relationships
    kept), writes a ``makeup-rule-set`` event each time, and refuses 0 and 121."""
    assert (await desk.service.policy("f_1")).makeup_after_min is None
    policy = await desk.service.set_makeup_after("f_1", 15, OFFICER)
    assert policy.makeup_after_min == 15
    assert (await desk.store.booking_policy("f_1")).makeup_after_min == 15
    for bad in (0, 121):
        with pytest.raises(BadRequest):
            await desk.service.set_makeup_after("f_1", bad, OFFICER)
    assert (await desk.service.set_makeup_after("f_1", None, OFFICER)).makeup_after_min is None
    found = rows(
        desk.data_dir / "tatap.db",
        "SELECT details FROM audit_events WHERE action = 'makeup-rule-set' ORDER BY seq",
    )
    assert [r[0] for r in found] == ['{"makeup_after_min":15}', '{"makeup_after_min":null}']


async def _closed_desk(tmp_path: Path) -> None:
    d = await open_desk(tmp_path)
    await d.store.aclose()


def test_the_rule_on_the_command_line(tmp_path: Path) -> None:
    """``tatap admin makeup`` shows the rule (off), sets it, switches it off, and refuses a
    number out of range with a one-line error."""
    asyncio.run(_closed_desk(tmp_path))
    verb = ("admin", "makeup", "--facility", "f_1")
    assert cli_json(tmp_path, *verb) == {"facility_id": "f_1", "makeup_after_min": None}
    assert cli_json(tmp_path, *verb, "--after-min", "20")["makeup_after_min"] == 20
    assert cli_json(tmp_path, *verb)["makeup_after_min"] == 20
    assert cli_json(tmp_path, *verb, "--off")["makeup_after_min"] is None
    proc = run_cli(tmp_path, *verb, "--after-min", "0")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "120" in proc.stderr


# ---- the offers -------------------------------------------------------------------------------


async def test_system_loss_above_the_rule_earns_one_offer(desk: Desk) -> None:
    """With a 10-minute rule: a visit whose terminal was away 20 minutes gets one offer for its
    family's visitor, with its ``makeup-offered`` event; one away 5 minutes gets none; running
    the offerer again adds nothing."""
    await desk.service.set_makeup_after("f_1", 10, OFFICER)
    lossy, small = await booked(desk, 1, "08:00"), await booked(desk, 2, "08:30")
    lossy, small = await held(desk, lossy, 20), await held(desk, small, 5)
    made = offerer(desk)
    assert await made.step() is False
    offer = await desk.store.makeup_offer(lossy.id)
    family = next(p for p in lossy.participants if p.role is Role.FAMILY)
    assert offer is not None and offer.visitor_id == family.visitor_id
    assert offer.lost_ms == 20 * 60_000 and offer.used_visit_id is None
    assert await desk.store.makeup_offer(small.id) is None
    assert await made.step() is False
    assert offered_events(desk) == [lossy.id]
    assert rows(desk.data_dir / "tatap.db", "SELECT count(*) FROM makeup_offers")[0][0] == 1


async def test_a_replay_after_a_crash_adds_nothing(desk: Desk) -> None:
    """The offers and the cursor land together; a write replayed with the old cursor (a crash
    between judging and writing, then again) neither duplicates the offer nor its event."""
    await desk.service.set_makeup_after("f_1", 10, OFFICER)
    lossy = await held(desk, await booked(desk, 1, "08:00"), 20)
    ended, cursor = await desk.store.makeup_tail(50)
    assert [e.visit.id for e in ended] == [lossy.id]
    made = offerer(desk)
    await made.step()
    # The same batch judged again, as a node that crashed before its write would on restart.
    again = offer_for(ended[0], 0)
    assert again is not None
    added = await desk.store.add_makeup_offers(
        [(again, again.event(Actor.system("n1"), 10))], cursor
    )
    assert added == 0 and offered_events(desk) == [lossy.id]


async def test_no_rule_no_offer(desk: Desk) -> None:
    """Without a rule, even a visit that lost 25 minutes to the system gets no offer."""
    lossy = await held(desk, await booked(desk, 1, "08:00"), 25)
    await offerer(desk).step()
    assert await desk.store.makeup_offer(lossy.id) is None
    assert offered_events(desk) == []


async def test_the_background_task_offers(desk: Desk) -> None:
    """Started like the node starts it, the offerer makes the offer on its own."""
    await desk.service.set_makeup_after("f_1", 10, OFFICER)
    lossy = await held(desk, await booked(desk, 1, "08:00"), 20)
    made = offerer(desk)
    await made.start()
    try:
        for _ in range(200):
            if await desk.store.makeup_offer(lossy.id) is not None:
                break
            await desk.clock.advance(1.0)
            await asyncio.sleep(0.01)
        assert await desk.store.makeup_offer(lossy.id) is not None
    finally:
        await made.aclose()
