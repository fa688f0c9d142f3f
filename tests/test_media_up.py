"""Media counts as up only when both ends say so: the terminal and at least one guest."""

from __future__ import annotations

import pytest

from tests.helpers.pair import actions, pair
from tests.helpers.world import Peer, World


async def _say_connected(peer: Peer) -> None:
    """Send `connected` and wait until the server has handled it (a ping round trip)."""
    await peer.send({"type": "connected"})
    await peer.send({"type": "ping", "id": "c"})
    await peer.until("pong")


@pytest.mark.parametrize("side", ["family", "terminal"])
async def test_one_side_alone_cannot_bring_media_up(world: World, side: str) -> None:
    """`connected` from one side only is not recorded, and the visit still ends `failed` when
    the media timeout runs out."""
    term, fam, visit_id = await pair(world, media=False)
    await _say_connected(fam if side == "family" else term)
    await world.advance(121)
    assert (await term.until("ended"))["reason"] == "failed"
    await world.hub.tasks.idle()  # the end's bookkeeping runs in the background
    assert "connected" not in await actions(world, visit_id)


async def test_both_sides_bring_media_up_once(world: World) -> None:
    """When the terminal and the family both say `connected`, it is recorded once (however often
    it is said) and the visit runs to its end `completed`."""
    term, fam, visit_id = await pair(world, length_s=300, media=False)
    await _say_connected(fam)
    await _say_connected(term)
    await _say_connected(fam)  # said again (after a reconnect, say): still recorded once
    await world.advance(300)
    assert (await fam.until("ended"))["reason"] == "completed"
    await world.hub.tasks.idle()
    rows = await actions(world, visit_id)
    assert rows.count("connected") == 1
