"""Where things are in a cluster: which node holds a participant's socket (presence), and which
node arms a visit's timers (ownership).

One node (`LocalPresence`, `LocalOwnership`) holds every socket and owns every visit. With
several nodes, Redis-backed implementations of the same protocols keep a hash per visit
(participant → node) and one owner key per visit (visit → node, with a lease), so that exactly
one node ends a visit on time however many hold its sockets.

Presence is asked on the relay hot path, once per relayed message: `where` answers from this
node's view, kept current by `arrive` and `depart` (a Redis presence mirrors the hashes of the
visits this node holds, fed by the bus), so a message never waits on a round trip. Ownership is
claimed once per visit loaded, off the hot path: it is a coroutine because another node may
have to answer.
"""

from __future__ import annotations

from typing import NewType, Protocol

from services.ids import ParticipantId, VisitId

NodeId = NewType("NodeId", str)  # a node of the cluster (settings.node_id)


class Presence(Protocol):
    """Which node holds each participant's socket, per visit."""

    def where(self, visit_id: VisitId, participant_id: ParticipantId) -> NodeId | None:
        """The node holding the participant's socket now, or None if none does."""
        ...

    def arrive(self, visit_id: VisitId, participant_id: ParticipantId) -> None:
        """The participant's socket sits on this node now (its view changes at once)."""
        ...

    def depart(self, visit_id: VisitId, participant_id: ParticipantId) -> None:
        """The participant's socket on this node is gone."""
        ...

    def forget(self, visit_id: VisitId) -> None:
        """This node holds nothing of the visit any more."""
        ...


class Ownership(Protocol):
    """Which node arms a visit's timers (its end, warnings, no-show and `time` ticks)."""

    async def claim(self, visit_id: VisitId) -> bool:
        """Whether this node owns the visit: True if it did or does now, False if another does."""
        ...

    def release(self, visit_id: VisitId) -> None:
        """This node no longer holds the visit: another may claim it."""
        ...


class LocalPresence:
    """One node: a participant is here while its socket is."""

    def __init__(self, node_id: NodeId) -> None:
        self.node_id = node_id
        self._visits: dict[VisitId, set[ParticipantId]] = {}  # visit id → participants seated here

    def where(self, visit_id: VisitId, participant_id: ParticipantId) -> NodeId | None:
        here = self._visits.get(visit_id)
        return self.node_id if here is not None and participant_id in here else None

    def arrive(self, visit_id: VisitId, participant_id: ParticipantId) -> None:
        self._visits.setdefault(visit_id, set()).add(participant_id)

    def depart(self, visit_id: VisitId, participant_id: ParticipantId) -> None:
        here = self._visits.get(visit_id)
        if here is not None:
            here.discard(participant_id)
            if not here:
                del self._visits[visit_id]

    def forget(self, visit_id: VisitId) -> None:
        self._visits.pop(visit_id, None)


class LocalOwnership:
    """One node owns every visit."""

    async def claim(self, visit_id: VisitId) -> bool:
        return True

    def release(self, visit_id: VisitId) -> None:
        pass
