"""The bus seam: how a frame reaches the participants of a visit, wherever their sockets are.

On one node (`LocalBus`) a visit's subscriber is its room on this node, and publishing is a direct
call. With several nodes, a Redis-backed bus implements the same protocol: a node subscribes to the
visits it holds sockets for, and a frame published anywhere reaches every node holding one of the
visit's participants, which delivers it to its own sockets.

Why `publish`, `subscribe` and `unsubscribe` are not coroutines although the seam crosses nodes:
they run where order matters and awaiting would cost. A visit's frames (`time`, `warning`,
`peer-joined`, `ended`) must reach a socket in the order the hub decided them, interleaved with
what the hub sends that socket directly (`welcome`, `ended`); a coroutine per publish would cost
a task each and could reorder them. So a bus delivers to this node's sockets at once and puts what
crosses nodes on one ordered, bounded outgoing queue that its own writer task drains (a full queue
fails fast: the visit's frames are late, never reordered). What needs an answer from another node
before going on is async: `aclose` here, ownership and presence lookups in
``signaling.cluster.presence``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from services.ids import ParticipantId, VisitId

# As `to`: every participant; as `skip`: none of them.
ANYONE = ParticipantId("")

# deliver(frame, to, skip): to one participant (`to`), or to all but `skip` when `to` is ANYONE.
Deliver = Callable[[str, ParticipantId, ParticipantId], None]


class Bus(Protocol):
    """Frames for a visit's participants, delivered wherever their sockets are."""

    def publish(
        self,
        visit_id: VisitId,
        frame: str,
        *,
        to: ParticipantId = ANYONE,
        skip: ParticipantId = ANYONE,
    ) -> None:
        """Deliver on this node now; queue for the other nodes holding the visit (never blocks)."""
        ...

    def subscribe(self, visit_id: VisitId, deliver: Deliver) -> None:
        """Frames published for the visit, anywhere, are handed to `deliver` on this node."""
        ...

    def unsubscribe(self, visit_id: VisitId) -> None: ...

    async def aclose(self) -> None: ...


class LocalBus:
    """Every participant is on this node: publishing hands the frame to the room directly."""

    def __init__(self) -> None:
        self._subscribers: dict[VisitId, Deliver] = {}

    def publish(
        self,
        visit_id: VisitId,
        frame: str,
        *,
        to: ParticipantId = ANYONE,
        skip: ParticipantId = ANYONE,
    ) -> None:
        deliver = self._subscribers.get(visit_id)
        if deliver is not None:
            deliver(frame, to, skip)

    def subscribe(self, visit_id: VisitId, deliver: Deliver) -> None:
        self._subscribers[visit_id] = deliver

    def unsubscribe(self, visit_id: VisitId) -> None:
        self._subscribers.pop(visit_id, None)

    async def aclose(self) -> None:
        self._subscribers.clear()
