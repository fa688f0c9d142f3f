"""The cluster seams of one node, chosen once from the settings: is Redis configured?"""

from __future__ import annotations

from dataclasses import dataclass

from services.errors import ConfigError
from services.settings import Settings
from signaling.cluster.bus import Bus, LocalBus
from signaling.cluster.presence import (
    LocalOwnership,
    LocalPresence,
    NodeId,
    Ownership,
    Presence,
)


@dataclass(frozen=True, slots=True)
class Cluster:
    """How this node reaches the others: frames (bus), sockets (presence), timers (ownership)."""

    node_id: NodeId
    bus: Bus
    presence: Presence
    ownership: Ownership

    async def aclose(self) -> None:
        await self.bus.aclose()


def create_cluster(settings: Settings) -> Cluster:
    """The local seams for one node; several nodes (settings.redis_url) are refused for now."""
    if settings.redis_url:
        raise ConfigError(
            "this version runs one node only: the Redis bus for several nodes is not built yet"
        )
    node = NodeId(settings.node_id)
    return Cluster(node, LocalBus(), LocalPresence(node), LocalOwnership())
