"""An end whose write fails reopens the visit with its audit facts whole: what was folded is
still written, and a socket that went while the end was being written is announced and logged.

The store's visit change is failed at will (the store is a seam we own: tests/helpers/held_ends.py).
"""

from __future__ import annotations

import asyncio

from services.domain.model import Role
from tests.helpers.held_ends import HeldEnds
from tests.helpers.officer import officer
from tests.helpers.rejoins import drop, family_log, join, seated
from tests.helpers.world import Peer, World


async def _flapping(world: World) -> tuple[Peer, Peer, Peer, str]:
    """Terminal, officer and a family whose latest return is folded (returned twice within
    the fold window): the terminal, the officer, the family, the visit id."""
    term, token, visit_id = await seated(world)
    mon = await officer(world, visit_id)
    await mon.expect("welcome")
    await drop(await join(world, token), term)  # joined, left
    await drop(await join(world, token), term)  # reconnected (written), left
    fam = await join(world, token)  # within the window of the last return: folded
    return term, mon, fam, visit_id


async def _failed_terminate(mon: Peer) -> None:
    await mon.send({"type": "terminate", "reason": "rules broken"})
    assert (await mon.until("error"))["code"] == "not_recorded"


async def test_a_failed_end_keeps_what_was_folded(world: World) -> None:
    """A folded return is written by the end that finally commits, although an earlier end that
    would have written it failed (that failure used to forget it)."""
    _, mon, fam, visit_id = await _flapping(world)
    held = HeldEnds(world, fail=True)
    held.released.set()
    await _failed_terminate(mon)
    await mon.send({"type": "terminate", "reason": "rules broken"})
    assert (await fam.until("ended"))["reason"] == "terminated"
    log = await family_log(world, visit_id, 5)
    assert log[-1] == ("reconnected", {"reconnects": 1}), log


async def test_a_fold_due_during_a_failed_end_is_written_after_it(world: World) -> None:
    """A fold window that passes while an end is being written is flushed once that end fails
    and the visit goes on (the flush used to find the room ended and never be armed again)."""
    _, mon, _, visit_id = await _flapping(world)
    held = HeldEnds(world, fail=True)
    await mon.send({"type": "terminate", "reason": "rules broken"})
    await held.entered.wait()
    await world.advance(11)  # the fold window passes while the end is held
    held.released.set()
    assert (await mon.until("error"))["code"] == "not_recorded"
    log = await family_log(world, visit_id, 5)
    assert log[-1] == ("reconnected", {"reconnects": 1}), log


async def test_a_drop_during_a_failed_end_is_announced_and_logged(world: World) -> None:
    """A family whose socket goes while an end is being written is, once that end fails, told to
    the others (`peer-left`) and logged `left` (it used to be neither)."""
    term, token, visit_id = await seated(world)
    mon = await officer(world, visit_id)
    await mon.expect("welcome")
    fam = await join(world, token)
    held = HeldEnds(world, fail=True)
    await mon.send({"type": "terminate", "reason": "rules broken"})
    await held.entered.wait()
    await fam.close()
    room = world.hub.rooms[visit_id]
    seat = next(s for s in room.seats.values() if s.role is Role.FAMILY)
    async with asyncio.timeout(5):  # the node notices the socket is gone
        while seat.conn is not None:
            await asyncio.sleep(0.01)
    held.released.set()
    assert (await mon.until("error"))["code"] == "not_recorded"
    left = await term.until("peer-left")
    assert left["peer"]["role"] == "family" and left["reason"] == "dropped"
    assert (await family_log(world, visit_id, 2))[-1][0] == "left"
