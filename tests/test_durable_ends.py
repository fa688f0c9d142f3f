"""Ends nothing could recompute after a crash (terminate, hangup) are written before anyone hears
of them: while the write runs the room admits and relays nothing, and a failed write is undone.

The store's visit change is held (or failed) at will: the store is a seam we own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence

from services.audit.chain import AuditEvent
from services.domain.model import Role, Visit, VisitKind, VisitStatus
from services.store.protocols import VisitChange
from tests.helpers.held_ends import HeldEnds
from tests.helpers.officer import as_officer, officer
from tests.helpers.pair import actions, pair
from tests.helpers.world import Peer, World


async def _signal_passes(sender: Peer, receiver: Peer, to: str) -> bool:
    """Send a signal and report whether it reached ``receiver`` (a ping round trip on each
    socket first settles what the server did with it)."""
    await sender.send({"type": "signal", "to": to, "data": {"candidate": None}})
    await sender.send({"type": "ping", "id": "s"})
    await sender.until("pong")
    await receiver.send({"type": "ping", "id": "r"})
    seen = len(receiver.seen)
    await receiver.until("pong")
    return any(m["type"] == "signal" for m in receiver.seen[seen:])


async def _terminal_id(world: World, visit_id: str) -> str:
    visit = await world.store.get_visit(visit_id)
    assert visit is not None
    return next(p.id for p in visit.participants if p.role is Role.TERMINAL)


async def _family_token(world: World, visit_id: str) -> str:
    visit = await world.store.get_visit(visit_id)
    assert visit is not None
    family = next(p for p in visit.participants if p.role is Role.FAMILY)
    return await world.links.participant_token(visit, family)


async def test_nobody_hears_of_a_terminate_until_it_is_written(world: World) -> None:
    """While an officer's terminate is being written, no `ended` goes out, signals are no longer
    relayed and a returning family is not let in; once it commits everyone gets `ended` and the
    returning family `visit_over`."""
    term, fam, visit_id = await pair(world)
    mon = await officer(world, visit_id)
    await mon.expect("welcome")
    held = HeldEnds(world)
    await mon.send({"type": "terminate", "reason": "rules broken"})
    await held.entered.wait()
    assert not await _signal_passes(fam, term, await _terminal_id(world, visit_id))
    again = await world.connect(await _family_token(world, visit_id))
    assert all(m["type"] != "ended" for peer in (term, fam, mon) for m in peer.seen)
    held.released.set()
    for peer in (term, fam, mon):
        assert (await peer.until("ended"))["reason"] == "terminated"
    assert (await again.expect("error"))["code"] == "visit_over"
    visit = await world.store.get_visit(visit_id)
    assert visit is not None and visit.status is VisitStatus.ENDED


async def test_a_terminate_that_cannot_be_written_changes_nothing(world: World) -> None:
    """A terminate whose write fails is undone: the officer gets `not_recorded`, nobody gets
    `ended`, signals flow again, the visit stays live; the next terminate ends it."""
    term, fam, visit_id = await pair(world)
    mon = await officer(world, visit_id)
    await mon.expect("welcome")
    held = HeldEnds(world, fail=True)
    held.released.set()
    await mon.send({"type": "terminate", "reason": "rules broken"})
    assert (await mon.until("error"))["code"] == "not_recorded"
    assert await _signal_passes(fam, term, await _terminal_id(world, visit_id))
    assert all(m["type"] != "ended" for peer in (term, fam, mon) for m in peer.seen)
    visit = await world.store.get_visit(visit_id)
    assert visit is not None and visit.status is VisitStatus.LIVE
    assert "terminated" not in await actions(world, visit_id)
    await mon.send({"type": "terminate", "reason": "rules broken"})
    assert (await fam.until("ended"))["reason"] == "terminated"


async def test_rest_terminate_that_cannot_be_written_answers_503(world: World) -> None:
    """The REST terminate answers only once the end is written; a failed write is a typed 503
    `not_recorded`, and the family was told nothing."""
    term, fam, visit_id = await pair(world)
    held = HeldEnds(world, fail=True)
    held.released.set()
    resp = await world.client.post(
        f"/api/v1/visits/{visit_id}/terminate",
        json={"reason": "x"},
        headers=as_officer(world),
    )
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "not_recorded"
    await fam.send({"type": "ping", "id": 1})
    await fam.until("pong")
    assert all(m["type"] != "ended" for m in fam.seen)


async def test_a_hangup_after_the_grace_is_told_only_once_written(world: World) -> None:
    """When a dropped family's reconnect grace runs out, the terminal gets `ended {hangup}` only
    after the end has been written."""
    term, fam, visit_id = await pair(world)
    await fam.close()
    await term.until("peer-left")
    held = HeldEnds(world)
    await world.advance(61)
    await held.entered.wait()
    await term.send({"type": "ping", "id": 1})
    await term.until("pong")
    assert all(m["type"] != "ended" for m in term.seen)
    held.released.set()
    assert (await term.until("ended"))["reason"] == "hangup"
    visit = await world.store.get_visit(visit_id)
    assert visit is not None and visit.end_reason is not None
    assert visit.end_reason.value == "hangup"


async def _device_in_visit(world: World) -> tuple[Peer, str]:
    """The terminal's device session seated in an open visit: its socket and the visit id."""
    visit = await world.schedule(length_s=900)
    term = await world.connect(device={"id": world.creds.terminal_id, "secret": world.creds.secret})
    await term.expect("welcome")
    return term, visit.visit.id


def _failing_next_visit(world: World) -> None:
    """Seating the terminal in its next visit fails from now on (its lookup hits a disk error)."""

    async def broken(*_: object) -> Visit | None:
        raise sqlite3.OperationalError("disk I/O error")

    world.store.terminal_visit = broken  # type: ignore[method-assign]


async def test_rest_terminate_is_answered_whatever_the_terminal_does_next(world: World) -> None:
    """A terminate on disk is answered 202 even when seating the terminal in its next visit
    fails afterwards: that failure is the terminal's, not the officer's (it used to be a 500)."""
    term, visit_id = await _device_in_visit(world)
    _failing_next_visit(world)
    resp = await world.client.post(
        f"/api/v1/visits/{visit_id}/terminate",
        json={"reason": "x"},
        headers=as_officer(world),
    )
    assert resp.status == 202, await resp.text()
    assert (await term.until("ended"))["reason"] == "terminated"


async def test_a_media_timeout_is_told_only_once_written(world: World) -> None:
    """When media never comes up within the facility's timeout, nobody gets `ended {failed}`
    until that end is on disk: a restarted node would not recompute it (the visit is live and its
    media timeout is not re-armed)."""
    term, fam, visit_id = await pair(world, media=False)
    held = HeldEnds(world)
    await world.advance(120)
    await held.entered.wait()
    for peer in (term, fam):
        await peer.send({"type": "ping", "id": 1})
        await peer.until("pong")
        assert all(m["type"] != "ended" for m in peer.seen)
    held.released.set()
    for peer in (term, fam):
        assert (await peer.until("ended"))["reason"] == "failed"
    visit = await world.store.get_visit(visit_id)
    assert visit is not None and visit.end_reason is not None
    assert visit.end_reason.value == "failed"


async def test_a_media_timeout_that_cannot_be_written_is_tried_again(world: World) -> None:
    """A media-timeout `failed` whose write fails is not told; the visit goes on and the check
    runs again after a fresh timeout (not at once, in a loop), then ends the visit `failed`."""
    term, fam, visit_id = await pair(world, media=False)
    held = HeldEnds(world, fail=True)
    held.released.set()
    await world.advance(120)
    await held.entered.wait()
    held.entered.clear()
    await fam.send({"type": "ping", "id": 1})
    await fam.until("pong")
    assert all(m["type"] != "ended" for m in fam.seen)
    assert not held.entered.is_set()
    await world.advance(120)
    assert (await fam.until("ended"))["reason"] == "failed"


class HeldJoins:
    """Holds the audit write of every `joined` until released; ``written`` is set once the held
    write has gone through (the join then goes on in the same step of its task)."""

    def __init__(self, world: World) -> None:
        self.entered = asyncio.Event()
        self.released = asyncio.Event()
        self.written = asyncio.Event()
        self._append = world.store.append
        world.store.append = self._held  # type: ignore[method-assign]

    async def _held(self, events: Sequence[AuditEvent]) -> None:
        if not any(event.action == "joined" for event in events):
            await self._append(events)
            return
        self.entered.set()
        await self.released.wait()
        await self._append(events)
        self.written.set()


async def test_a_join_written_during_a_failed_end_is_seated(world: World) -> None:
    """A family whose join is being written when a terminate starts is not told `visit_over`
    before that end is on disk: the terminate's write fails, the room reopens, and the family is
    welcomed (it used to be closed 4410, "do not reconnect", for an end that never happened)."""
    visit = await world.schedule(length_s=900)
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    await term.expect("welcome")
    mon = await officer(world, visit.visit.id)
    await mon.expect("welcome")
    joins = HeldJoins(world)
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    await joins.entered.wait()
    ends = HeldEnds(world, fail=True)
    await mon.send({"type": "terminate", "reason": "rules broken"})
    await ends.entered.wait()
    joins.released.set()
    await joins.written.wait()
    ends.released.set()
    assert (await mon.until("error"))["code"] == "not_recorded"
    assert (await fam.expect("welcome"))["visit"]["id"] == visit.visit.id


class FailingEnds(HeldEnds):
    """Holds the first end until ``released`` and the second until ``released_again``; both
    fail (a disk that stays broken)."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.entered_again = asyncio.Event()
        self.released_again = asyncio.Event()

    async def _held(self, change: VisitChange, events: Sequence[AuditEvent]) -> Visit:
        if change.to is not VisitStatus.ENDED:
            return await self._change(change, events)
        if not self.entered.is_set():
            self.entered.set()
            await self.released.wait()
        else:
            self.entered_again.set()
            await self.released_again.wait()
        raise sqlite3.OperationalError("disk I/O error")


async def test_a_join_waits_out_an_end_begun_by_a_reopening(world: World) -> None:
    """A failed terminate reopens the room, and the reopening at once begins another end (the
    media timeout came due meanwhile). A join waiting on the first end waits on that one too:
    it fails as well, the room reopens again, and the child is welcomed instead of being told
    `visit_over` (4410) for an end that never reached the disk."""
    visit = await world.schedule(kind=VisitKind.EDUCATION, length_s=900)
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    await term.expect("welcome")
    teacher = await world.connect(await world.token(visit, Role.TEACHER))
    await teacher.expect("welcome")  # both sides present: the media timeout is armed
    mon = await officer(world, visit.visit.id)
    await mon.expect("welcome")
    joins = HeldJoins(world)
    child = await world.connect(await world.token(visit, Role.FAMILY))
    await joins.entered.wait()
    ends = FailingEnds(world)
    await mon.send({"type": "terminate", "reason": "rules broken"})
    await ends.entered.wait()
    joins.released.set()
    await joins.written.wait()
    await world.advance(121)  # the media timeout comes due while the terminate is written
    ends.released.set()
    assert (await mon.until("error"))["code"] == "not_recorded"
    await ends.entered_again.wait()  # the reopened room's media-timeout `failed` is written
    ends.released_again.set()
    assert (await child.expect("welcome"))["visit"]["id"] == visit.visit.id
