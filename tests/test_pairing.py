"""Pairing and relay: the two ends of a visit meet, and signals stay inside their visit."""

from __future__ import annotations

from services.domain.model import Role
from tests.helpers.world import World

OFFER = {"sdp": {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 600}}


async def test_terminal_and_family_are_paired(world: World) -> None:
    """Each side gets a welcome, and the first learns of the second through peer-joined."""
    visit = await world.schedule()
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    welcome = await term.expect("welcome")
    assert welcome["visit"]["id"] == visit.visit.id
    assert welcome["peers"] == [] and welcome["you"]["role"] == "terminal"
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    fwelcome = await fam.expect("welcome")
    assert [p["role"] for p in fwelcome["peers"]] == ["terminal"]
    joined = await term.expect("peer-joined")
    assert joined["peer"]["role"] == "family"
    # A signal goes to the named participant, with its sender.
    await fam.send({"type": "signal", "to": welcome["you"]["id"], "data": OFFER})
    got = await term.expect("signal")
    assert got["from"] == fwelcome["you"]["id"] and got["data"] == OFFER
