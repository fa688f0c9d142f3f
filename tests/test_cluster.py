"""The local cluster seams: presence follows the sockets of this node, and it owns every visit."""

from __future__ import annotations

from pathlib import Path

from signaling.cluster.factory import create_cluster
from signaling.cluster.presence import LocalOwnership, LocalPresence, NodeId
from tests.helpers.pair import pair
from tests.helpers.world import World, make_settings


def test_local_presence_tracks_arrivals_and_departures() -> None:
    """A participant is on this node from `arrive` to `depart`, and nowhere once forgotten."""
    presence = LocalPresence(NodeId("n1"))
    assert presence.where("v1", "p1") is None
    presence.arrive("v1", "p1")
    presence.arrive("v1", "p2")
    assert presence.where("v1", "p1") == "n1" and presence.where("v2", "p1") is None
    presence.depart("v1", "p1")
    assert presence.where("v1", "p1") is None and presence.where("v1", "p2") == "n1"
    presence.forget("v1")
    assert presence.where("v1", "p2") is None


async def test_local_ownership_owns_every_visit() -> None:
    """One node arms the timers of every visit it loads."""
    ownership = LocalOwnership()
    assert await ownership.claim("v1")
    ownership.release("v1")
    assert await ownership.claim("v1")


def test_create_cluster_is_local_and_named_for_the_node(tmp_path: Path) -> None:
    """Without Redis the node gets the local seams, under its own node id."""
    cluster = create_cluster(make_settings(tmp_path, node_id="node-x"))
    assert cluster.node_id == "node-x"
    assert isinstance(cluster.presence, LocalPresence)
    assert isinstance(cluster.ownership, LocalOwnership)


async def test_relay_reaches_a_participant_only_while_its_socket_is_here(world: World) -> None:
    """Relay asks presence where the target is: a present family gets the signal; once its
    socket is gone it is an unknown target."""
    term, fam, _ = await pair(world)
    joined = next(m for m in term.seen if m["type"] == "peer-joined")
    family = joined["peer"]["id"]
    await term.send({"type": "signal", "to": family, "data": {"candidate": None}})
    assert (await fam.until("signal"))["data"] == {"candidate": None}
    await fam.close()
    await term.until("peer-left")
    await term.send({"type": "signal", "to": family, "data": {"candidate": None}})
    assert (await term.until("error"))["code"] == "unknown_target"
