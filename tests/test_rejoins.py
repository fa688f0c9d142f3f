"""One participant reconnecting in a loop is rationed, and its comings and goings are folded in
the audit log; the first join and the last leave are always there."""

from __future__ import annotations

from signaling.visits.rejoins import FOLD_WINDOW_S, REJOIN_BURST, REJOIN_EVERY_S
from tests.helpers.rejoins import drop, family_log, join, seated
from tests.helpers.world import World


async def test_a_reconnect_loop_is_refused_with_a_retry_hint(world: World) -> None:
    """Back-to-back joins of one family token get in REJOIN_BURST times; the next is refused
    `rate_limited`, closed 4429, with `details.retry_after_ms`; after that wait it gets in."""
    term, token, _ = await seated(world)
    for _ in range(REJOIN_BURST):
        await drop(await join(world, token), term)
    refused = await world.connect(token)
    error = await refused.expect("error")
    assert error["code"] == "rate_limited"
    retry_ms = error["details"]["retry_after_ms"]
    assert 0 < retry_ms <= REJOIN_EVERY_S * 1000
    assert await refused.closed() == 4429
    await world.advance(retry_ms / 1000)
    assert (await join(world, token)).seen[-1]["resumed"] is True


async def test_a_single_return_is_written_at_once(world: World) -> None:
    """A family that drops and comes back once has its `left` and its `reconnected` written
    as they happen, nothing held back."""
    term, token, visit_id = await seated(world)
    await drop(await join(world, token), term)
    await world.advance(1)
    await join(world, token)
    log = await family_log(world, visit_id, 3)
    assert [action for action, _ in log] == ["joined", "left", "reconnected"]
    assert "reconnects" not in log[2][1]


async def test_flapping_is_folded_into_one_event_with_a_count(world: World) -> None:
    """Four drop-and-return cycles a second apart all get straight back in. The first return
    and the drop after it are written as they happen; the three returns after that are folded
    into one `reconnected` counting them, written once the window passes quietly."""
    term, token, visit_id = await seated(world)
    fam = await join(world, token)
    for _ in range(4):
        await drop(fam, term)
        await world.advance(1)
        fam = await join(world, token)
    await world.advance(FOLD_WINDOW_S)
    log = await family_log(world, visit_id, 5)
    assert [action for action, _ in log] == ["joined", "left", "reconnected", "left", "reconnected"]
    assert log[4][1]["reconnects"] == 3


async def test_the_last_leave_is_written_when_the_flapping_stops(world: World) -> None:
    """A family that flaps (a folded return) and then goes within the window: the log's last
    word on it is a `left` counting the folded return, and the visit then ends `hangup`."""
    term, token, visit_id = await seated(world)
    fam = await join(world, token)
    for _ in range(2):
        await drop(fam, term)
        await world.advance(1)
        fam = await join(world, token)
    await drop(fam, term)
    await world.advance(FOLD_WINDOW_S)
    log = await family_log(world, visit_id, 5)
    assert [action for action, _ in log] == ["joined", "left", "reconnected", "left", "left"]
    assert log[4][1] == {"reason": "dropped", "reconnects": 1}
    await world.advance(60)
    assert (await term.until("ended"))["reason"] == "hangup"
