"""The bus seam: how a frame reaches the participants of a visit, wherever their sockets are.

On one node (`LocalBus`) a visit's subscriber is its room on this node, and publishing is a direct
call. With several nodes, a Redis-backed bus implements the same protocol: a node subscribes to the
visits it holds sockets for, and a frame published anywhere reaches every node holding one of the
visit's participants, which delivers it to its own sockets. The hub only ever publishes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from services.errors import ConfigError
from services.settings import Settings

# deliver(frame, to, skip): to one participant (`to`), or to all but `skip` when `to` is empty.
Deliver = Callable[[str, str, str], None]


class Bus(Protocol):
    def publish(self, visit_id: str, frame: str, *, to: str = "", skip: str = "") -> None: ...
    def subscribe(self, visit_id: str, deliver: Deliver) -> None: ...
    def unsubscribe(self, visit_id: str) -> None: ...
    async def aclose(self) -> None: ...


class LocalBus:
    """Every participant is on this node: publishing hands the frame to the room directly."""

    def __init__(self) -> None:
        self._subscribers: dict[str, Deliver] = {}

    def publish(self, visit_id: str, frame: str, *, to: str = "", skip: str = "") -> None:
        deliver = self._subscribers.get(visit_id)
        if deliver is not None:
            deliver(frame, to, skip)

    def subscribe(self, visit_id: str, deliver: Deliver) -> None:
        self._subscribers[visit_id] = deliver

    def unsubscribe(self, visit_id: str) -> None:
        self._subscribers.pop(visit_id, None)

    async def aclose(self) -> None:
        self._subscribers.clear()


def create_bus(settings: Settings) -> Bus:
    if settings.redis_url:
        raise ConfigError(
            "this version runs one node only: the Redis bus for several nodes is not built yet"
        )
    return LocalBus()
