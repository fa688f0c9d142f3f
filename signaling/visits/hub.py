"""The visits this node serves: joining, relaying, reconnecting, warning, and ending them on time.

The hub owns every room of the node. Deadlines (end, warnings, join grace, reconnect grace, media
timeout, `time` ticks) sit in one scheduler; a sweeper notices visits created, cancelled or ended by
other processes (the CLI, another node), so a visit nobody joins still ends `no_show` on time.
Terminals' device sessions are seated by ``signaling.visits.devices``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
from collections.abc import Sequence

import structlog

from services.audit.chain import AuditEvent
from services.audit.query import AuditQuery
from services.clock import Clock
from services.domain.model import EndReason, FacilityRules, Role, Visit, VisitStatus
from services.domain.rules import check_open, is_open_yet
from services.errors import (
    Conflict,
    Forbidden,
    NotFound,
    NotRecorded,
    RateLimited,
    VisitFull,
    VisitNotOpen,
    VisitOver,
)
from services.ids import Actor, ParticipantId
from services.settings import Settings
from services.store.protocols import Store, VisitChange
from signaling import protocol
from signaling.cluster.bus import Bus
from signaling.runtime.deadlines import DeadlineScheduler
from signaling.runtime.tasks import TaskSet
from signaling.sdp import sends_media
from signaling.transport.connection import Connection
from signaling.visits.devices import DeviceSessions
from signaling.visits.rejoins import MAX_TRACKED, REJOIN_BURST, Rejoins
from signaling.visits.room import Seat, VisitRoom

log = structlog.get_logger("tatap.hub")

JOIN_ACTIONS = frozenset({"joined", "reconnected"})
_ENDED = {reason: protocol.ended(reason.value) for reason in EndReason}


class Hub:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock,
        scheduler: DeadlineScheduler,
        bus: Bus,
    ) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self._scheduler = scheduler
        self._bus = bus
        self._system = Actor.system(settings.node_id)
        self.rooms: dict[str, VisitRoom] = {}
        self._loading: dict[str, asyncio.Future[VisitRoom]] = {}
        self._rules: dict[str, FacilityRules] = {}
        self.tasks = TaskSet()
        # Visits whose `ended` went out and whose end is still to be written (see `end`).
        self._ends: list[
            tuple[VisitRoom, EndReason, tuple[str, str], str, float, list[Connection]]
        ] = []
        self.devices = DeviceSessions(self, store, clock, scheduler, settings.early_join_s)
        self._sweeper: asyncio.Task[None] | None = None

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._scheduler.start()
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="sweeper")

    async def close_connections(self) -> None:
        """Stop finding visits and tell every client to reconnect (to this node when it is back,
        or to another): close 1012. Runs when shutdown begins, so that open websockets end now
        instead of holding the shutdown until its timeout."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
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

    # ---- rooms ------------------------------------------------------------------------------

    async def room(self, visit_id: str) -> VisitRoom:
        """The room of a visit, loading and arming it on first use (once, however many ask)."""
        room = self.rooms.get(visit_id)
        if room is not None:
            return room
        pending = self._loading.get(visit_id)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[VisitRoom] = asyncio.get_running_loop().create_future()
        self._loading[visit_id] = fut
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
            del self._loading[visit_id]

    async def _load(self, visit_id: str) -> VisitRoom:
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
        if live:
            await self._recover(room)
        if visit_id in self.rooms:  # loaded meanwhile by another path
            return self.rooms[visit_id]
        self.rooms[visit_id] = room
        self._bus.subscribe(visit_id, room.deliver)
        self._arm(room)
        if not room.ended:
            self.devices.room_opened(room)
        return room

    async def _recover(self, room: VisitRoom) -> None:
        """A live visit loaded after a restart (or on another node): who had joined and whether
        media came up are in the log, so the grace checks judge it as it really went."""
        rows = await self._store.audit_search(AuditQuery(visit_id=room.visit.id, limit=1000))
        for row in rows:
            if row.action in JOIN_ACTIONS and room.visit.participant(row.actor_id):
                room.ever_joined.add(row.actor_id)
            elif row.action == "connected":
                room.media_up = True

    def _arm(self, room: VisitRoom) -> None:
        visit, now = room.visit, self._clock.now()
        if visit.end <= now:
            self._end_on_time(room)
            return
        at = self._scheduler.at
        room.deadlines.append(at(visit.end, functools.partial(self._end_on_time, room)))
        for before in room.rules.warnings_s:
            when = visit.end - before
            if when > now:
                room.deadlines.append(at(when, functools.partial(self._warn, room, before)))
        no_show_at = visit.start + room.rules.join_grace_s
        if no_show_at < visit.end:
            check = functools.partial(self._check_no_show, room)
            room.deadlines.append(at(max(no_show_at, now), check))
        self._tick(room)

    def _tick(self, room: VisitRoom) -> None:
        if room.ended:
            return
        now = self._clock.now()
        frame = protocol.time_left(int((room.visit.end - now) * 1000), room.end_ms)
        self._bus.publish(room.visit.id, frame)
        nxt = now + self._settings.time_interval_s
        if nxt < room.visit.end:
            room.tick = self._scheduler.at(nxt, functools.partial(self._tick, room))

    def _warn(self, room: VisitRoom, before_s: int) -> None:
        if room.ended:
            return
        remaining = int((room.visit.end - self._clock.now()) * 1000)
        self._bus.publish(room.visit.id, protocol.warning(remaining, room.end_ms))
        self._audit(room, "warned", self._system, {"remaining_s": before_s})

    def _end_on_time(self, room: VisitRoom) -> None:
        """The scheduled end: `completed` if the call happened; else why it did not."""
        if not room.both_sides_joined():
            self.end(room, EndReason.NO_SHOW)
        elif not room.media_up:
            self.end(room, EndReason.FAILED)
        else:
            self.end(room, EndReason.COMPLETED)

    def _check_no_show(self, room: VisitRoom) -> None:
        if not room.both_sides_joined():
            self.end(room, EndReason.NO_SHOW)

    def _check_media(self, room: VisitRoom) -> None:
        # Durable: a restarted node does not re-arm the media timeout of a live visit, so this
        # `failed` could not be recomputed. One visit's timeout, never a burst of them.
        if not room.media_up and not room.ended:
            self.end_for_good(room, EndReason.FAILED, self._system)

    # ---- joining ----------------------------------------------------------------------------

    async def join(self, conn: Connection, visit_id: str, subject: str, role: Role) -> VisitRoom:
        room = await self.room(visit_id)
        pid = _seat_of(room.visit, subject, role)
        await _settled(room)
        self._check_open(room)
        self._admit_rejoin(room, pid)
        async with room.joining:
            await _settled(room)
            self._check_open(room)
            if role is Role.OFFICER and pid not in room.seats:
                if room.monitors() >= room.monitor_seats:
                    raise VisitFull("this visit has no free seat")
            self._take_over(room, pid, conn)
            returning = pid in room.ever_joined
            action = (
                "monitor-joined"
                if role is Role.OFFICER
                else ("reconnected" if returning else "joined")
            )
            if action == "reconnected" and not room.rejoins[pid].reconnected(self._clock.now()):
                self._arm_fold_flush(room, pid)  # written once the flapping stops (see rejoins)
            else:
                event = self._event(
                    room, action, (role.value, pid), {"node": self._settings.node_id}
                )
                try:
                    await self._record_join(room, role, event)
                except BaseException:
                    self._vacate(room, pid)
                    raise
            await _settled(room)  # an end begun meanwhile may yet fail and reopen the room
            if room.ended:  # it ended while the event was being written
                raise VisitOver("this visit is over")
            if conn.closing or not self.devices.still_connected(conn):
                # The socket went away while the event was written: it never sat down.
                self._log_left(room, role, pid, "dropped")
                self._vacate(room, pid)
                return room
            self._take_seat(room, conn, pid, role, returning)
        return room

    def _admit_rejoin(self, room: VisitRoom, pid: str) -> None:
        """One participant's joins are rationed (signaling.visits.rejoins): a loop is refused."""
        now = self._clock.now()
        rejoins = room.rejoins.get(pid)
        if rejoins is None:
            if len(room.rejoins) >= MAX_TRACKED:
                for key in [k for k, r in room.rejoins.items() if r.idle(now)]:
                    del room.rejoins[key]
            if len(room.rejoins) >= MAX_TRACKED:
                raise RateLimited(
                    "too many joins in this visit; try again later", retry_after_ms=1000
                )
            rejoins = room.rejoins[pid] = Rejoins(REJOIN_BURST, now)
        wait = rejoins.admit(now)
        if wait > 0:
            raise RateLimited(
                "too many joins; try again later", retry_after_ms=math.ceil(wait * 1000)
            )

    def _log_left(self, room: VisitRoom, role: Role, pid: str, reason: str) -> None:
        rejoins = room.rejoins.get(pid)
        if role is not Role.OFFICER and rejoins is not None:
            if not rejoins.dropped(self._clock.now()):
                self._arm_fold_flush(room, pid)  # it cancels a folded reconnect
                return
        self._audit(room, "left", (role.value, pid), {"reason": reason})

    def _arm_fold_flush(self, room: VisitRoom, pid: str) -> None:
        rejoins = room.rejoins[pid]
        if rejoins.flush is None:
            flush = functools.partial(self._flush_folded, room, pid)
            rejoins.flush = self._scheduler.at(rejoins.fold_until, flush)

    def _flush_folded(self, room: VisitRoom, pid: str) -> None:
        """The fold window of a participant has passed: write what was folded, as one event."""
        rejoins = room.rejoins.get(pid)
        if rejoins is None:
            return
        rejoins.flush = None
        if room.ended:  # the end writes what is folded; should that fail, `_reopen` re-arms this
            return
        if not rejoins.due(self._clock.now()):  # it came or went again meanwhile
            self._arm_fold_flush(room, pid)
            return
        event = self._folded_event(room, pid, rejoins)
        rejoins.written()
        if event is not None:
            self.tasks.spawn(self._store.append([event]), name="audit-folded")

    def _folded_event(self, room: VisitRoom, pid: str, rejoins: Rejoins) -> AuditEvent | None:
        seat, participant = room.seats.get(pid), room.visit.participant(pid)
        folded = rejoins.folded(present=seat is not None and seat.conn is not None)
        if folded is None or participant is None:
            return None
        return self._event(room, folded[0], (participant.role.value, pid), folded[1])

    def _check_open(self, room: VisitRoom) -> None:
        if room.ended:
            raise VisitOver("this visit is over")
        check_open(room.visit, self._clock.now(), self._settings.early_join_s)

    async def _record_join(self, room: VisitRoom, role: Role, event: AuditEvent) -> None:
        if room.live or role is Role.OFFICER:
            await self._store.append([event])
            return
        now = self._clock.now()
        change = VisitChange(
            room.visit.id, VisitStatus.LIVE, frozenset({VisitStatus.SCHEDULED}), now
        )
        try:
            await self._store.change_visit(change, [event])
        except Conflict as exc:  # cancelled or ended by someone else meanwhile
            raise VisitOver("this visit was cancelled or has ended") from exc
        room.live, room.started_at = True, now

    def _take_over(self, room: VisitRoom, pid: str, conn: Connection) -> None:
        """Detach an older socket of the same participant before the join is written, so that
        its closing is not logged as the participant leaving."""
        seat = room.seats.get(pid)
        if seat is not None and seat.conn is not None and seat.conn is not conn:
            seat.conn.room = None
            seat.conn.close(protocol.Close.REPLACED, "connected again elsewhere")
            seat.conn = None

    def _take_seat(
        self, room: VisitRoom, conn: Connection, pid: ParticipantId, role: Role, returning: bool
    ) -> None:
        seat = room.seats.get(pid)
        if seat is not None and seat.grace is not None:
            seat.grace.cancel()
        room.seats[pid] = Seat(pid, role, conn)
        room.ever_joined.add(pid)
        conn.room, conn.participant_id, conn.role = room, pid, role
        now, visit = self._clock.now(), room.visit
        peers = [
            {"id": s.participant_id, "role": s.role.value, "present": s.conn is not None}
            for s in room.seats.values()
            if s.participant_id != pid
        ]
        conn.send(
            protocol.dumps(
                {
                    "type": "welcome",
                    "protocol": protocol.VERSION,
                    "visit": {
                        "id": visit.id,
                        "kind": visit.kind.value,
                        "start_ms": int(visit.start * 1000),
                        "end_ms": room.end_ms,
                    },
                    "you": {"id": pid, "role": role.value},
                    "peers": peers,
                    "resumed": returning,
                    "ice_servers": list(self._settings.ice_servers),
                }
            )
        )
        conn.send(protocol.time_left(int((visit.end - now) * 1000), room.end_ms))
        joined = {
            "type": "peer-joined",
            "peer": {"id": pid, "role": role.value},
            "resumed": returning,
        }
        self._bus.publish(visit.id, protocol.dumps(joined), skip=pid)
        if room.both_sides_present() and not room.media_up and room.connect_deadline is None:
            room.connect_deadline = self._scheduler.at(
                now + room.rules.connect_timeout_s, functools.partial(self._check_media, room)
            )

    def _vacate(self, room: VisitRoom, pid: str) -> None:
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

    # ---- messages in a visit ----------------------------------------------------------------

    def relay(self, conn: Connection, to: str, data: dict[str, object]) -> None:
        room = conn.room
        if room is None:
            raise protocol.ProtocolError(protocol.E_NOT_JOINED, "not in a visit")
        if room.ended:  # its end is being written: `ended` follows, nothing more goes through
            return
        target = room.seats.get(to)
        if target is None or target.conn is None or to == conn.participant_id:
            raise protocol.ProtocolError(protocol.E_UNKNOWN_TARGET, "no such participant here")
        if conn.role is Role.OFFICER and _offers_media(data):
            raise protocol.ProtocolError(protocol.E_NOT_ALLOWED, "a monitor only receives media")
        frame = protocol.relayed_signal(conn.participant_id, data)
        self._bus.publish(room.visit.id, frame, to=to)

    def media_up(self, conn: Connection) -> None:
        """A participant says its media flows. Media counts as up (recorded `connected`, once)
        when the terminal and a guest have both said so while both were present: a family alone
        cannot turn a visit whose media never flowed into `completed` (an officer's word does not
        count at all)."""
        room, role = conn.room, conn.role
        if room is None or room.media_up or room.ended or role is None or role is Role.OFFICER:
            return
        if not room.both_sides_present():
            return
        room.media_reports.add(role)
        if not room.both_sides_reported_media():
            return
        room.media_up = True
        if room.connect_deadline is not None:
            room.connect_deadline.cancel()
        self._audit(room, "connected", (_role(conn), conn.participant_id), {})

    def notice(self, conn: Connection, code: str) -> None:
        room = self._officer_room(conn)
        if room.ended:
            return
        self._bus.publish(room.visit.id, protocol.dumps({"type": "notice", "code": code}))
        self._audit(room, "notice", (Role.OFFICER.value, conn.participant_id), {"code": code})

    def terminate_from(self, conn: Connection, reason: str) -> None:
        """An officer's `terminate` on /ws: everyone (the officer too) gets `ended` once the end
        is on disk; if it cannot be written, the officer gets `not_recorded` and may try again."""
        room = self._officer_room(conn)
        actor = (Role.OFFICER.value, conn.participant_id)
        ending = self.end_for_good(room, EndReason.TERMINATED, actor, reason)
        ending.add_done_callback(functools.partial(_tell_if_not_recorded, conn))

    def _officer_room(self, conn: Connection) -> VisitRoom:
        if conn.room is None:
            raise protocol.ProtocolError(protocol.E_NOT_JOINED, "not in a visit")
        if conn.role is not Role.OFFICER:
            raise protocol.ProtocolError(protocol.E_NOT_ALLOWED, "only an officer may do that")
        return conn.room

    async def terminate(self, visit_id: str, actor: tuple[str, str], reason: str) -> None:
        """An officer ends a visit from the REST API (one not yet open is cancelled instead).
        Returns once the end is on disk; VisitOver if another end came first."""
        room = await self.room(visit_id)
        if not room.live and not is_open_yet(
            room.visit, self._clock.now(), self._settings.early_join_s
        ):
            raise VisitNotOpen("this visit has not opened yet: cancel it instead")
        # Shielded: a caller that goes away does not interrupt the write (the end task owns it).
        ending = self.end_for_good(room, EndReason.TERMINATED, actor, reason)
        on_record = await asyncio.shield(ending)
        if on_record is not EndReason.TERMINATED:
            raise VisitOver(f"this visit ended first: {on_record.value}", reason=on_record.value)

    def leave(self, conn: Connection) -> None:
        room = conn.room
        if room is None or room.ended:
            return
        if conn.role is Role.OFFICER:
            self.disconnected(conn)
            return
        ending = self.end_for_good(room, EndReason.HANGUP, (_role(conn), conn.participant_id))
        ending.add_done_callback(functools.partial(_tell_if_not_recorded, conn))

    def disconnected(self, conn: Connection) -> None:
        """The socket is gone. A participant keeps the seat for the reconnect grace."""
        self.devices.disconnected(conn)
        room, pid = conn.room, conn.participant_id
        conn.room = None
        if room is None or (room.ended and room.ending is None):
            return
        seat = room.seats.get(pid)
        if seat is None or seat.conn is not conn:
            return
        seat.conn = None
        if room.ended:  # its end is being written; should that fail, `_reopen` tells of this
            seat.dropped_unheard = True
            return
        self._seat_left(room, seat)

    def _seat_left(self, room: VisitRoom, seat: Seat) -> None:
        """A seat's socket is gone: the others hear of it, the log says so, the seat waits."""
        pid, seat.dropped_unheard = seat.participant_id, False
        self._vacate(room, pid)
        reason = "left" if seat.role is Role.OFFICER else "dropped"
        left = {"type": "peer-left", "peer": {"id": pid, "role": seat.role.value}, "reason": reason}
        self._bus.publish(room.visit.id, protocol.dumps(left))
        self._log_left(room, seat.role, pid, reason)

    def _grace_over(self, room: VisitRoom, seat: Seat) -> None:
        if seat.conn is None and not room.ended:
            self.end_for_good(room, EndReason.HANGUP, (seat.role.value, seat.participant_id))

    # ---- the end ----------------------------------------------------------------------------

    def end(
        self,
        room: VisitRoom,
        reason: EndReason,
        actor: tuple[str, str] | None = None,
        note: str = "",
    ) -> None:
        """End a visit now for a reason the schedule recomputes after a restart (completed,
        no_show, failed): everyone gets `ended`, sockets close, the end is written to the log.

        Only the `ended` frames go out here. The rest (closing the sockets, audit events, the log
        line, the database) waits until the loop's next turn, so that when many visits end at the
        same instant every one of them has had its `ended` sent before any bookkeeping starts.
        """
        if room.ended:
            return
        conns = self._close_room(room, reason)
        self._ends.append((room, reason, actor or self._system, note, self._clock.now(), conns))
        if len(self._ends) == 1:
            asyncio.get_running_loop().call_soon(self._record_ends)

    def _record_ends(self) -> None:
        batch, self._ends = self._ends, []
        for room, reason, actor, note, now, conns in batch:
            devices = self._let_go(room, conns)
            events = self._end_events(room, reason, actor, note, now)
            log.info("visit.ended", visit_id=room.visit.id, reason=reason.value)
            self.tasks.spawn(self._persist_end(room, reason, now, events, devices), name="end")

    def _end_events(
        self, room: VisitRoom, reason: EndReason, actor: tuple[str, str], note: str, now: float
    ) -> list[AuditEvent]:
        visit = room.visit
        details: dict[str, object] = {
            "reason": reason.value,
            "planned_s": round(visit.end - visit.start),
            "real_s": round(now - room.started_at) if room.started_at else None,
        }
        # What was folded and not yet written comes first (the last leave above all).
        folded = (self._folded_event(room, pid, r) for pid, r in room.rejoins.items())
        events = [event for event in folded if event is not None]
        if reason is EndReason.TERMINATED:
            events.append(self._event(room, "terminated", actor, {"note": note[:200]}))
        events.append(self._event(room, "ended", actor, details))
        return events

    def end_for_good(
        self, room: VisitRoom, reason: EndReason, actor: tuple[str, str], note: str = ""
    ) -> asyncio.Future[EndReason]:
        """End a visit for a reason nothing could recompute after a crash (terminated, hangup):
        the end is on disk before anyone hears of it.

        The room stops admitting, relaying and ticking at once; `ended` goes out once the end has
        committed. The future resolves to the end on record: this one, or one that came first (a
        second request joins the first). If the write fails, nobody has been told anything: the
        room reopens (`_reopen`) and the future fails with NotRecorded.
        """
        if room.ending is not None:
            return room.ending
        if room.ended:  # a scheduled end came first and is already announced
            done: asyncio.Future[EndReason] = asyncio.get_running_loop().create_future()
            done.set_result(room.reason or reason)
            return done
        room.ended, room.reason = True, reason
        task = self.tasks.spawn(self._end_durably(room, reason, actor, note), name="end-for-good")
        room.ending = task
        return task

    async def _end_durably(
        self, room: VisitRoom, reason: EndReason, actor: tuple[str, str], note: str
    ) -> EndReason:
        visit, now = room.visit, self._clock.now()
        change = VisitChange(
            visit.id,
            VisitStatus.ENDED,
            frozenset({VisitStatus.SCHEDULED, VisitStatus.LIVE}),
            now,
            reason,
        )
        events = self._end_events(room, reason, actor, note, now)
        try:
            try:
                await self._store.change_visit(change, events)
            except Conflict:
                # Cancelled or ended elsewhere meanwhile: that end is on disk, so it is the one
                # told (should reading it fail, the room reopens and the sweeper drops it).
                current = await self._store.get_visit(visit.id)
                reason = (current.end_reason if current else None) or EndReason.CANCELLED
                log.info("visit.end_conflict", visit_id=visit.id, reason=reason.value)
        except Exception as exc:
            log.error("visit.end_not_recorded", visit_id=visit.id, error=type(exc).__name__)
            self._reopen(room)
            raise NotRecorded("the end could not be recorded; try again") from exc
        room.ending = None
        devices = self._let_go(room, self._close_room(room, reason))
        self._forget(room)
        log.info("visit.ended", visit_id=visit.id, reason=reason.value)
        # The terminal's next visit is its own business: whoever ended this one is not kept
        # waiting for it, nor told of its errors (a failed reseat is logged by the task set).
        self.tasks.spawn(self.devices.reseat(devices), name="reseat")
        return reason

    def _reopen(self, room: VisitRoom) -> None:
        """An end that could not be written, and that nobody was told of: the visit goes on.
        What came due while the room looked ended was skipped, so it is judged again now: an
        empty seat gets a fresh reconnect grace (a failed hangup is retried when it runs out),
        a missed tick resumes, a seat whose socket went meanwhile is announced and logged as
        left, what is folded is flushed, and a missed scheduled end, media timeout or no-show
        ends it (a media timeout whose own `failed` failed to be written: after a fresh one)."""
        failed = room.reason
        room.ended, room.reason, room.ending = False, None, None
        now = self._clock.now()
        for seat in list(room.seats.values()):
            if seat.conn is None and seat.dropped_unheard:
                self._seat_left(room, seat)
            elif seat.conn is None and (seat.grace is None or seat.grace.when <= now):
                seat.grace = None
                self._vacate(room, seat.participant_id)
        for pid, rejoins in room.rejoins.items():  # a fold flush that found the room ended
            if rejoins.pending() and rejoins.flush is None:
                self._arm_fold_flush(room, pid)
        if room.tick is None or room.tick.when <= now:
            self._tick(room)
        connect = room.connect_deadline
        if now >= room.visit.end:
            self._end_on_time(room)
        elif connect is not None and connect.when <= now and not connect.cancelled:
            if failed is EndReason.FAILED:  # this very check failed to write: retry it later
                room.connect_deadline = self._scheduler.at(
                    now + room.rules.connect_timeout_s, functools.partial(self._check_media, room)
                )
            else:
                self._check_media(room)
        elif now >= room.visit.start + room.rules.join_grace_s:
            self._check_no_show(room)

    def drop(self, visit_id: str, reason: EndReason) -> None:
        """A visit cancelled or ended elsewhere (the API, the CLI, another node): close its
        sessions here; the record and its audit event were written by whoever ended it."""
        room = self.rooms.get(visit_id)
        if room is None or room.ended:
            return
        devices = self._let_go(room, self._close_room(room, reason))
        self._forget(room)
        log.info("visit.dropped", visit_id=visit_id, reason=reason.value)
        self.tasks.spawn(self.devices.reseat(devices), name="reseat")

    def _close_room(self, room: VisitRoom, reason: EndReason) -> list[Connection]:
        """Send `ended` to everyone here; returns their connections, for `_let_go`."""
        room.ended, room.reason = True, reason
        frame = _ENDED[reason]
        conns: list[Connection] = []
        for seat in room.seats.values():
            conn = seat.conn
            if conn is not None:
                conn.send(frame)
                conn.room = None
                conns.append(conn)
        return conns

    def _let_go(self, room: VisitRoom, conns: list[Connection]) -> list[Connection]:
        """After `ended`: close the sockets and stop the deadlines. Returns the terminals'
        device sessions, which stay open for their next visit."""
        room.cancel_deadlines()
        devices = []
        for conn in conns:
            if conn.terminal is not None:
                devices.append(conn)
            else:
                conn.close(protocol.Close.ENDED, "visit ended")
        return devices

    async def _persist_end(
        self,
        room: VisitRoom,
        reason: EndReason,
        now: float,
        events: Sequence[AuditEvent],
        devices: list[Connection],
    ) -> None:
        visit = room.visit
        change = VisitChange(
            visit.id,
            VisitStatus.ENDED,
            frozenset({VisitStatus.SCHEDULED, VisitStatus.LIVE}),
            now,
            reason,
        )
        try:
            await self._store.change_visit(change, events)
        except Conflict:
            # Cancelled or ended elsewhere meanwhile: that end is the one on record.
            log.info("visit.end_conflict", visit_id=visit.id)
        finally:
            self._forget(room)
        await self.devices.reseat(devices)

    def _forget(self, room: VisitRoom) -> None:
        if self.rooms.get(room.visit.id) is room:
            del self.rooms[room.visit.id]
            self._bus.unsubscribe(room.visit.id)

    # ---- finding visits ---------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            started = self._clock.now()
            try:
                await self.sweep()
            except Exception:
                log.exception("sweeper.failed")
            await self._clock.sleep_until(started + self._settings.sweep_interval_s)

    async def sweep(self) -> None:
        """Arm every visit whose window has opened and that this node does not hold yet, and
        drop the rooms of visits that were cancelled or ended elsewhere."""
        now = self._clock.now()
        due = set(await self._store.due_visit_ids(now, self._settings.early_join_s))
        for visit_id in due:
            if visit_id not in self.rooms and visit_id not in self._loading:
                try:
                    await self.room(visit_id)
                except (VisitOver, NotFound):
                    pass
        for visit_id in [v for v, r in self.rooms.items() if v not in due and not r.ended]:
            visit = await self._store.get_visit(visit_id)
            if visit is not None and visit.status in (VisitStatus.CANCELLED, VisitStatus.ENDED):
                self.drop(visit_id, visit.end_reason or EndReason.CANCELLED)

    # ---- helpers ----------------------------------------------------------------------------

    def _event(
        self, room: VisitRoom, action: str, actor: tuple[str, str], details: dict[str, object]
    ) -> AuditEvent:
        return AuditEvent(
            action,
            actor[0],
            actor[1],
            room.visit.facility_id,
            room.visit.id,
            details,
            ts=self._clock.now(),
        )

    def _audit(
        self, room: VisitRoom, action: str, actor: tuple[str, str], details: dict[str, object]
    ) -> None:
        event = self._event(room, action, actor, details)
        self.tasks.spawn(self._store.append([event]), name=f"audit-{action}")


def _seat_of(visit: Visit, subject: str, role: Role) -> ParticipantId:
    """The seat a token's subject may take in this visit (an officer's is its own)."""
    if role is Role.OFFICER:
        return ParticipantId(subject)
    participant = visit.participant(subject)
    if participant is None or participant.role is not role:
        raise Forbidden("this token is not for a seat of this visit")
    return participant.id


async def _settled(room: VisitRoom) -> None:
    """Wait until no end is being written: until one commits, telling a joiner the visit is over
    could be untrue (a failed write reopens the room, and the reopening may at once begin
    another end, a media timeout that came due meanwhile: that one is waited for too)."""
    while room.ending is not None:
        ending = room.ending
        with contextlib.suppress(NotRecorded):
            await asyncio.shield(ending)
        if room.ending is ending:  # never spin on an end that is over but still marked
            return


def _tell_if_not_recorded(conn: Connection, ending: asyncio.Future[EndReason]) -> None:
    """The participant who asked for an end that could not be written hears so (nobody else
    heard anything)."""
    if not ending.cancelled() and isinstance(ending.exception(), NotRecorded):
        conn.send(protocol.error(NotRecorded.code, "the end could not be recorded; try again"))


def _role(conn: Connection) -> str:
    return conn.role.value if conn.role else ""


def _offers_media(data: dict[str, object]) -> bool:
    sdp = data.get("sdp")
    return isinstance(sdp, dict) and sends_media(str(sdp.get("sdp", "")))
