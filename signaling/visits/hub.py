"""The visits this node serves, behind one face for the endpoint, the API and the app.

The work is done by parts that each own one thing: ``registry`` (rooms by visit), ``seating``
(joining, seats, leaving), ``relay`` (signals between seats), ``timers`` (ticks, warnings, the end
on time), ``endings`` (how an end is told and written), ``reopen`` (an end that failed to be
written), ``officers`` (notices, terminations), ``devices`` (terminals' sessions) and ``sweeper``
(visits changed by other processes). Deadlines sit in one scheduler; frames, presence and timer
ownership go through the cluster seams (``signaling.cluster``).
"""

from __future__ import annotations

import asyncio

import structlog

from services.board.facts import BoardChanges, NoChanges
from services.clock import Clock
from services.domain.model import EndReason, Role
from services.ids import Actor, ParticipantId, VisitId
from services.settings import Settings
from services.store.protocols import Store
from signaling import protocol
from signaling.cluster.factory import Cluster
from signaling.runtime.deadlines import DeadlineScheduler
from signaling.runtime.tasks import TaskSet
from signaling.transport.connection import Connection
from signaling.visits.board_live import HubLiveState
from signaling.visits.devices import DeviceSessions
from signaling.visits.endings import Endings
from signaling.visits.folding import Folding
from signaling.visits.journal import Journal
from signaling.visits.officers import Officers
from signaling.visits.registry import Registry
from signaling.visits.relay import Relay
from signaling.visits.reopen import Reopening
from signaling.visits.room import GUEST_ROLES, Seated, VisitRoom
from signaling.visits.seating import Seating
from signaling.visits.sweeper import Sweeper
from signaling.visits.timers import Timers

log = structlog.get_logger("tatap.hub")

# How long a starting node waits for the ends it caught up on to be written before it serves.
CATCH_UP_S = 10.0


class Hub:
    """Live visits of this node: what the endpoint, the API (`LiveVisits`) and the app use."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock,
        scheduler: DeadlineScheduler,
        cluster: Cluster,
        changes: BoardChanges | None = None,
    ) -> None:
        # Where seats, media, ends and terminal sessions report board changes (the board feed).
        self._changes = changes or NoChanges()
        self._bus = cluster.bus
        self._scheduler = scheduler
        self.tasks = TaskSet()
        self._seated: Seated = {}
        # What is recorded: audit events, and a participant's flapping folded into few of them.
        self._journal = Journal(store, clock, self.tasks, settings.node_id)
        self._folding = Folding(clock, scheduler, self._journal)
        # Where things are: the rooms of visits, and the terminals' device sessions.
        self._registry = Registry(store, cluster, self._opened, self._changes)
        self.rooms = self._registry.rooms
        self.devices = DeviceSessions(
            self.join,
            self.tasks,
            self._seated,
            store,
            clock,
            scheduler,
            settings.early_join_s,
            self._changes,
        )
        # What the today board reads of this node (services.board.facts.LiveState).
        self.board = HubLiveState(self.rooms, self.devices, self._seated, clock)
        # How a visit ends, and the clock that ends it on time.
        self._endings = Endings(
            store,
            clock,
            self.tasks,
            self._journal,
            self._folding,
            self._registry,
            self._seated,
            self.devices.reseat,
            self._reopen,
        )
        self._timers = Timers(
            clock, scheduler, cluster.bus, self._journal, self._endings, settings.time_interval_s
        )
        self._build_actions(settings, store, clock, cluster)

    def _build_actions(
        self, settings: Settings, store: Store, clock: Clock, cluster: Cluster
    ) -> None:
        """What acts on rooms: seats, an end that failed to be written, signals, officers, and
        the sweeper that finds visits changed elsewhere."""
        journal, endings, seated = self._journal, self._endings, self._seated
        self._seating = Seating(
            settings,
            clock,
            self._scheduler,
            store,
            cluster,
            journal,
            self._folding,
            endings,
            self._timers,
            seated,
            self.devices.still_connected,
            self._changes,
        )
        self._reopening = Reopening(clock, self._seating, self._folding, self._timers)
        self._relay = Relay(cluster, journal, seated, self._changes)
        early = settings.early_join_s
        self._officers = Officers(clock, cluster.bus, journal, endings, seated, early, self.tasks)
        interval = settings.sweep_interval_s
        self._sweeper = Sweeper(store, clock, self._registry, endings, interval, early)

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Catch up before serving, then run: a visit whose end (a `no_show` at the join grace,
        its scheduled end) came due while the node was down is ended and written before the
        first request is answered, so a restarted node never lets a family into a visit it is
        about to end."""
        try:
            await self._sweeper.sweep()  # every open visit loaded, its deadlines armed
        except Exception:  # the store will be retried by the sweeper's loop
            log.exception("hub.catch_up_failed")
        self._scheduler.fire_due()  # what came due while the node was down
        try:
            await asyncio.wait_for(self.tasks.idle(), CATCH_UP_S)  # and its records on disk
        except TimeoutError:
            log.warning("hub.catch_up_slow", pending=len(self.tasks))
        self._scheduler.start()
        self._sweeper.start()

    async def close_connections(self) -> None:
        """Stop finding visits and tell every client to reconnect (to this node when it is back,
        or to another): close 1012. Runs when shutdown begins, so that open websockets end now
        instead of holding the shutdown until its timeout."""
        await self._sweeper.stop()
        for room in list(self.rooms.values()):
            for seat in room.present():
                assert seat.conn is not None
                seat.conn.close(protocol.Close.SHUTDOWN, "server restarting")
        self.devices.close_all(protocol.Close.SHUTDOWN, "server restarting")

    async def aclose(self) -> None:
        """Close what is left, stop the deadlines (nothing new is started), then let every
        pending audit write finish."""
        await self.close_connections()
        await self._scheduler.aclose()
        await self.tasks.drain()

    @property
    def pending_deadlines(self) -> int:
        return len(self._scheduler)

    # ---- for the endpoint -------------------------------------------------------------------

    async def join(
        self, conn: Connection, visit_id: VisitId, subject: str, role: Role
    ) -> VisitRoom:
        """Seat a socket in a visit (loading the visit's room on first use)."""
        room = await self._registry.room(visit_id)
        await self._seating.join(conn, room, subject, role)
        return room

    def relay(self, conn: Connection, to: ParticipantId, data: dict[str, object]) -> None:
        self._relay.relay(conn, to, data)

    def media_up(self, conn: Connection) -> None:
        self._relay.media_up(conn)

    def notice(self, conn: Connection, code: str) -> None:
        self._officers.notice(conn, code)

    def terminate_from(self, conn: Connection, reason: str) -> None:
        self._officers.terminate_from(conn, reason)

    def mute(self, conn: Connection, side: str, muted: bool) -> None:
        self._officers.mute(conn, side, muted)

    def leave(self, conn: Connection) -> None:
        self._seating.leave(conn)

    def disconnected(self, conn: Connection) -> None:
        """The socket is gone. A participant keeps the seat for the reconnect grace."""
        self.devices.disconnected(conn)
        self._seating.disconnected(conn)

    # ---- for the API (services.http.api.LiveVisits) -----------------------------------------

    async def terminate(self, visit_id: VisitId, actor: Actor, reason: str) -> None:
        """An officer ends a visit from the REST API; see `Officers.terminate`."""
        room = await self._registry.room(visit_id)
        await self._officers.terminate(room, actor, reason)

    def inmate_ready(self, visit_id: VisitId, at_ms: int) -> None:
        """An officer marked the visit's inmate as in the visit room (on record already): the
        guests hear `inmate-ready`, now, and on joining later."""
        room = self._registry.rooms.get(visit_id)
        if room is None or room.ended:
            return  # not open here: a guest joining later is told at its welcome
        room.ready_ms = at_ms
        frame = protocol.inmate_ready(at_ms)
        for participant in room.visit.participants:
            if participant.role in GUEST_ROLES:
                self._bus.publish(visit_id, frame, to=participant.id)

    def drop(self, visit_id: VisitId, reason: EndReason) -> None:
        """A visit cancelled or ended elsewhere: close its sessions here."""
        self._endings.drop(visit_id, reason)

    async def sweep(self) -> None:
        """One pass of the sweeper (tests run it by hand)."""
        await self._sweeper.sweep()

    # ---- wiring between the parts -----------------------------------------------------------

    def _opened(self, room: VisitRoom, owned: bool) -> None:
        if owned:  # another node arms the timers of a visit it owns
            self._timers.arm(room)
        if not room.ended:
            self.devices.room_opened(room)

    def _reopen(self, room: VisitRoom) -> None:
        self._reopening.reopen(room)
