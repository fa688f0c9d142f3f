"""One participant reconnecting in a loop is rationed, and its comings and goings are folded in
the audit log; the first join and the last leave are always there."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from services.audit.query import AuditQuery
from services.domain.model import Role
from signaling.visits.rejoins import FOLD_WINDOW_S, REJOIN_BURST, REJOIN_EVERY_S
from tests.conftest import Peer, World


async def _seated(world: World) -> tuple[Peer, str, str]:
    """A visit with its terminal seated: the terminal, the family's token, the visit id."""
    visit = await world.schedule(length_s=900)
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    await term.expect("welcome")
    return term, await world.token(visit, Role.FAMILY), visit.visit.id


async def _join(world: World, token: str) -> Peer:
    fam = await world.connect(token)
    await fam.expect("welcome")
    return fam


async def _drop(fam: Peer, term: Peer) -> None:
    await fam.close()
    await term.until("peer-left")


async def _family_log(world: World, visit_id: str, rows: int) -> list[tuple[str, Any]]:
    """The family's audit events once there are ``rows`` of them (its writes run in the
    background), as (action, details)."""
    async with asyncio.timeout(5):
        while True:
            found = await world.store.audit_search(AuditQuery(visit_id=visit_id, limit=1000))
            events = [(r.action, json.loads(r.details)) for r in found if r.actor_role == "family"]
            if len(events) >= rows:
                return events
            await asyncio.sleep(0.01)


async def test_a_reconnect_loop_is_refused_with_a_retry_hint(world: World) -> None:
    """Back-to-back joins of one family token get in REJOIN_BURST times; the next is refused
    `rate_limited`, closed 4429, with `details.retry_after_ms`; after that wait it gets in."""
    term, token, _ = await _seated(world)
    for _ in range(REJOIN_BURST):
        await _drop(await _join(world, token), term)
    refused = await world.connect(token)
    error = await refused.expect("error")
    assert error["code"] == "rate_limited"
    retry_ms = error["details"]["retry_after_ms"]
    assert 0 < retry_ms <= REJOIN_EVERY_S * 1000
    assert await refused.closed() == 4429
    await world.advance(retry_ms / 1000)
    assert (await _join(world, token)).seen[-1]["resumed"] is True


async def test_a_single_return_is_written_at_once(world: World) -> None:
    """A family that drops and comes back once has its `left` and its `reconnected` written
    as they happen, nothing held back."""
    term, token, visit_id = await _seated(world)
    await _drop(await _join(world, token), term)
    await world.advance(1)
    await _join(world, token)
    log = await _family_log(world, visit_id, 3)
    assert [action for action, _ in log] == ["joined", "left", "reconnected"]
    assert "reconnects" not in log[2][1]


async def test_flapping_is_folded_into_one_event_with_a_count(world: World) -> None:
    """Four drop-and-return cycles a second apart all get straight back in. The first return
    and the drop after it are written as they happen; the three returns after that are folded
    into one `reconnected` counting them, written once the window passes quietly."""
    term, token, visit_id = await _seated(world)
    fam = await _join(world, token)
    for _ in range(4):
        await _drop(fam, term)
        await world.advance(1)
        fam = await _join(world, token)
    await world.advance(FOLD_WINDOW_S)
    log = await _family_log(world, visit_id, 5)
    assert [action for action, _ in log] == ["joined", "left", "reconnected", "left", "reconnected"]
    assert log[4][1]["reconnects"] == 3


async def test_the_last_leave_is_written_when_the_flapping_stops(world: World) -> None:
    """A family that flaps (a folded return) and then goes within the window: the log's last
    word on it is a `left` counting the folded return, and the visit then ends `hangup`."""
    term, token, visit_id = await _seated(world)
    fam = await _join(world, token)
    for _ in range(2):
        await _drop(fam, term)
        await world.advance(1)
        fam = await _join(world, token)
    await _drop(fam, term)
    await world.advance(FOLD_WINDOW_S)
    log = await _family_log(world, visit_id, 5)
    assert [action for action, _ in log] == ["joined", "left", "reconnected", "left", "left"]
    assert log[4][1] == {"reason": "dropped", "reconnects": 1}
    await world.advance(60)
    assert (await term.until("ended"))["reason"] == "hangup"
