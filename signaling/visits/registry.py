"""The rooms of the visits this node holds: loaded once however many ask, recovered after a
restart, and forgotten when the visit is over."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson

from services.audit.query import AuditQuery
from services.board.facts import BoardChanges
from services.domain.model import FacilityRules, VisitStatus
from services.errors import NotFound, VisitOver
from services.ids import FacilityId, VisitId
from services.store.protocols import Store
from signaling.cluster.factory import Cluster
from signaling.visits.room import VisitRoom

JOIN_ACTIONS = frozenset({"joined", "reconnected"})

# opened(room, owned): a room was loaded; `owned` if this node arms its timers.
Opened = Callable[[VisitRoom, bool], None]


class Registry:
    """Rooms by visit id, and the visits being loaded."""

    def __init__(
        self, store: Store, cluster: Cluster, opened: Opened, changes: BoardChanges
    ) -> None:
        self._store = store
        self._changes = changes
        self._cluster = cluster
        self._opened = opened
        self.rooms: dict[VisitId, VisitRoom] = {}
        self.loading: dict[VisitId, asyncio.Future[VisitRoom]] = {}
        self._rules: dict[FacilityId, FacilityRules] = {}

    async def room(self, visit_id: VisitId) -> VisitRoom:
        """The room of a visit, loading and arming it on first use (once, however many ask)."""
        room = self.rooms.get(visit_id)
        if room is not None:
            return room
        pending = self.loading.get(visit_id)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[VisitRoom] = asyncio.get_running_loop().create_future()
        self.loading[visit_id] = fut
        try:
            room = await self._load(visit_id)
            fut.set_result(room)
            return room
        except asyncio.CancelledError:
            # Whoever else waits gets an error of its own, not our cancellation.
            fut.set_exception(RuntimeError("loading the visit was interrupted"))
            fut.exception()
            raise
        except Exception as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self.loading[visit_id]

    async def _load(self, visit_id: VisitId) -> VisitRoom:
        visit = await self._store.get_visit(visit_id)
        if visit is None:
            raise NotFound("no such visit")
        if visit.status not in (VisitStatus.SCHEDULED, VisitStatus.LIVE):
            raise VisitOver(f"this visit is {visit.status.value}", reason=visit.end_reason or "")
        rules = self._rules.get(visit.facility_id)
        if rules is None:
            facility = await self._store.get_facility(visit.facility_id)
            rules = facility.rules if facility else FacilityRules()
            self._rules[visit.facility_id] = rules
        live = visit.status is VisitStatus.LIVE
        room = VisitRoom(visit, rules, live=live, started_at=visit.started_at)
        if visit.ready_at is not None:
            room.ready_ms = int(round(visit.ready_at * 1000))
        await self._recover(room)  # an officer may mute a visit before it is live
        owned = await self._cluster.ownership.claim(visit_id)
        if visit_id in self.rooms:  # loaded meanwhile by another path
            return self.rooms[visit_id]
        self.rooms[visit_id] = room
        self._cluster.bus.subscribe(visit_id, room.deliver)
        self._opened(room, owned)
        return room

    async def _recover(self, room: VisitRoom) -> None:
        """A visit loaded after a restart (or on another node): who had joined and whether media
        came up are in the log, so the grace checks judge it as it really went; and which sides
        an officer muted (the last `muted` of each side)."""
        rows = await self._store.audit_search(AuditQuery(visit_id=room.visit.id, limit=1000))
        for row in rows:
            participant = room.visit.participant(row.actor_id)
            if row.action in JOIN_ACTIONS and participant is not None:
                room.ever_joined.add(participant.id)
            elif row.action == "connected":
                room.media_up = True
            elif row.action == "muted":
                _recover_mute(room, orjson.loads(row.details))

    def forget(self, room: VisitRoom) -> None:
        """The visit is over here: its room, subscription, presence and ownership go."""
        visit_id = room.visit.id
        if self.rooms.get(visit_id) is room:
            del self.rooms[visit_id]
            self._cluster.bus.unsubscribe(visit_id)
            self._cluster.presence.forget(visit_id)
            self._cluster.ownership.release(visit_id)
            # Forgotten once its end is on record: the board reads the end from the store.
            self._changes.visit_changed(room.visit.facility_id, visit_id)


def _recover_mute(room: VisitRoom, details: object) -> None:
    """An officer's mute on record: the last one of each side holds."""
    if not isinstance(details, dict):
        return
    side, muted = details.get("side"), details.get("muted")
    if isinstance(side, str) and isinstance(muted, bool):
        if muted:
            room.muted.add(side)
        else:
            room.muted.discard(side)
