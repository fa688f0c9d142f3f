"""Who sits in a visit: joining (rationed, audited, waiting out an end being written), taking a
seat over from an older socket, the reconnect grace of an empty seat, and leaving."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from services.audit.chain import AuditEvent
from services.board.facts import BoardChanges
from services.clock import Clock
from services.domain.model import EndReason, Role, Visit, VisitStatus
from services.domain.rules import check_open
from services.errors import Conflict, Forbidden, VisitFull, VisitOver, VisitUnderReview
from services.ids import Actor, ParticipantId
from services.settings import Settings
from services.store.protocols import Store, VisitChange
from signaling import protocol
from signaling.cluster.factory import Cluster
from signaling.runtime.deadlines import DeadlineScheduler
from signaling.transport.connection import Connection
from signaling.visits.endings import Endings, settled, tell_if_not_recorded
from signaling.visits.folding import Folding
from signaling.visits.journal import Journal
from signaling.visits.room import GUEST_ROLES, Seat, Seated, VisitRoom
from signaling.visits.timers import Timers

# False for a device socket that was replaced or closed while its join was being written.
StillConnected = Callable[[Connection], bool]


class Seating:
    """Seats of the visits on this node, and the sockets in them."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        scheduler: DeadlineScheduler,
        store: Store,
        cluster: Cluster,
        journal: Journal,
        folding: Folding,
        endings: Endings,
        timers: Timers,
        seated: Seated,
        still_connected: StillConnected,
        changes: BoardChanges,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._scheduler = scheduler
        self._store = store
        self._bus, self._presence = cluster.bus, cluster.presence
        self._journal = journal
        self._folding = folding
        self._endings = endings
        self._timers = timers
        self._seated = seated
        self._still_connected = still_connected
        self._changes = changes

    async def join(self, conn: Connection, room: VisitRoom, subject: str, role: Role) -> None:
        """Seat a socket in a visit, once its join is on record (or raise why it may not)."""
        pid = _seat_of(room.visit, subject, role)
        await settled(room)
        self._check_open(room)
        self._folding.admit(room, pid)
        async with room.joining:
            await settled(room)
            self._check_open(room)
            if role is Role.OFFICER and pid not in room.seats:
                if room.monitors() >= room.monitor_seats:
                    raise VisitFull("this visit has no free seat")
            self._take_over(room, pid, conn)
            returning = pid in room.ever_joined
            await self._record(room, pid, role, returning)
            await settled(room)  # an end begun meanwhile may yet fail and reopen the room
            if room.ended:  # it ended while the event was being written
                raise VisitOver("this visit is over")
            if conn.closing or not self._still_connected(conn):
                # The socket went away while the event was written: it never sat down.
                self._folding.left(room, role, pid, "dropped")
                self.vacate(room, pid)
                return
            self._take_seat(room, conn, pid, role, returning)

    async def _record(
        self, room: VisitRoom, pid: ParticipantId, role: Role, returning: bool
    ) -> None:
        """Write the join (a flapping reconnect is folded instead); the seat is freed if not."""
        if role is Role.OFFICER:
            action = "monitor-joined"
        elif returning:
            if not self._folding.reconnected(room, pid):
                return  # written once the flapping stops (see rejoins)
            action = "reconnected"
        else:
            action = "joined"
        node: dict[str, object] = {"node": self._settings.node_id}
        event = self._journal.event(room, action, Actor(role.value, pid), node)
        try:
            await self._write_join(room, role, event)
        except BaseException:
            self.vacate(room, pid)
            raise

    def _check_open(self, room: VisitRoom) -> None:
        if room.ended:
            raise VisitOver("this visit is over")
        check_open(room.visit, self._clock.now(), self._settings.early_join_s)

    async def _write_join(self, room: VisitRoom, role: Role, event: AuditEvent) -> None:
        if room.live or role is Role.OFFICER:
            await self._store.append([event])
            return
        now = self._clock.now()
        change = VisitChange(
            room.visit.id, VisitStatus.LIVE, frozenset({VisitStatus.SCHEDULED}), now
        )
        try:
            await self._store.change_visit(change, [event])
        except VisitUnderReview:  # flagged since the room was loaded: the store said no
            raise
        except Conflict as exc:  # cancelled or ended by someone else meanwhile
            raise VisitOver("this visit was cancelled or has ended") from exc
        room.live, room.started_at = True, now

    def _take_over(self, room: VisitRoom, pid: ParticipantId, conn: Connection) -> None:
        """Detach an older socket of the same participant before the join is written, so that
        its closing is not logged as the participant leaving."""
        seat = room.seats.get(pid)
        if seat is not None and seat.conn is not None and seat.conn is not conn:
            self._seated.pop(seat.conn, None)
            seat.conn.close(protocol.Close.REPLACED, "connected again elsewhere")
            seat.conn = None
            self._presence.depart(room.visit.id, pid)

    def _take_seat(
        self, room: VisitRoom, conn: Connection, pid: ParticipantId, role: Role, returning: bool
    ) -> None:
        seat = room.seats.get(pid)
        if seat is not None and seat.grace is not None:
            seat.grace.cancel()
        now, visit = self._clock.now(), room.visit
        # A family back within its grace has been waiting since it first sat down.
        since = seat.since if seat is not None and seat.since else now
        room.seats[pid] = Seat(pid, role, conn, since=since)
        room.ever_joined.add(pid)
        self._seated[conn] = room
        conn.participant_id, conn.role = pid, role
        self._presence.arrive(room.visit.id, pid)
        conn.send(_welcome(room, pid, role, returning, self._settings.ice_servers))
        conn.send(protocol.time_left(room.remaining_ms(now), room.end_ms))
        if role in GUEST_ROLES and room.ready_ms is not None:
            conn.send(protocol.inmate_ready(room.ready_ms))
        for side in sorted(room.muted):  # what an officer has muted holds for newcomers too
            conn.send(protocol.muted(side, True))
        if role is not Role.OFFICER:
            self._changes.visit_changed(visit.facility_id, visit.id)
        joined = protocol.peer_joined(protocol.PeerRef(pid, role.value), returning)
        self._bus.publish(visit.id, joined, skip=pid)
        if room.both_sides_present() and not room.media_up and room.connect_deadline is None:
            self._timers.arm_media_check(room, now)

    def vacate(self, room: VisitRoom, pid: ParticipantId) -> None:
        """A seat without a socket: an officer's goes; a participant's waits out the grace."""
        seat = room.seats.get(pid)
        if seat is None or seat.conn is not None or room.ended:
            return
        if seat.role is Role.OFFICER:
            del room.seats[pid]
        elif seat.grace is None:
            grace_end = self._clock.now() + room.rules.reconnect_grace_s
            seat.grace = self._scheduler.at(
                grace_end, functools.partial(self._grace_over, room, seat)
            )

    def _grace_over(self, room: VisitRoom, seat: Seat) -> None:
        if seat.conn is None and not room.ended:
            actor = Actor(seat.role.value, seat.participant_id)
            self._endings.end_for_good(room, EndReason.HANGUP, actor)

    def leave(self, conn: Connection) -> None:
        """A participant hangs up (ending the visit for good); an officer just leaves."""
        room = self._seated.get(conn)
        if room is None or room.ended:
            return
        if conn.role is Role.OFFICER:
            self.disconnected(conn)
            return
        actor = Actor(conn.role_name, conn.participant_id)
        ending = self._endings.end_for_good(room, EndReason.HANGUP, actor)
        ending.add_done_callback(functools.partial(tell_if_not_recorded, conn))

    def disconnected(self, conn: Connection) -> None:
        """The socket is gone. A participant keeps the seat for the reconnect grace."""
        room, pid = self._seated.pop(conn, None), conn.participant_id
        if room is None or (room.ended and room.ending is None):
            return
        seat = room.seats.get(pid)
        if seat is None or seat.conn is not conn:
            return
        seat.conn = None
        self._presence.depart(room.visit.id, pid)
        if room.ended:  # its end is being written; should that fail, the reopening tells of this
            seat.dropped_unheard = True
            return
        self.seat_left(room, seat)

    def seat_left(self, room: VisitRoom, seat: Seat) -> None:
        """A seat's socket is gone: the others hear of it, the log says so, the seat waits."""
        pid, seat.dropped_unheard = seat.participant_id, False
        self.vacate(room, pid)
        reason = "left" if seat.role is Role.OFFICER else "dropped"
        left = protocol.peer_left(protocol.PeerRef(pid, seat.role.value), reason)
        self._bus.publish(room.visit.id, left)
        self._folding.left(room, seat.role, pid, reason)
        if seat.role is not Role.OFFICER:
            self._changes.visit_changed(room.visit.facility_id, room.visit.id)


def _welcome(
    room: VisitRoom,
    pid: ParticipantId,
    role: Role,
    returning: bool,
    ice_servers: Sequence[dict[str, object]],
) -> str:
    """The `welcome` a socket gets on taking its seat: the visit, its seat, the others."""
    visit = room.visit
    info = protocol.VisitInfo(visit.id, visit.kind.value, int(visit.start * 1000), room.end_ms)
    peers = [
        protocol.PeerState(s.participant_id, s.role.value, s.conn is not None)
        for s in room.seats.values()
        if s.participant_id != pid
    ]
    return protocol.welcome(info, protocol.PeerRef(pid, role.value), peers, returning, ice_servers)


def _seat_of(visit: Visit, subject: str, role: Role) -> ParticipantId:
    """The seat a token's subject may take in this visit (an officer's is its own)."""
    if role is Role.OFFICER:
        return ParticipantId(subject)
    participant = visit.participant(subject)
    if participant is None or participant.role is not role:
        raise Forbidden("this token is not for a seat of this visit")
    return participant.id
