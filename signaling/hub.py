"""The visits this node serves: joining, relaying, reconnecting, warning, and ending them on time.

The hub owns every room of the node. Deadlines (end, warnings, join grace, reconnect grace, media
timeout, `time` ticks) sit in one scheduler; a sweeper notices visits created by other processes
(the CLI, another node) whose window opens, so a visit nobody joins still ends `no_show` on time.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence

import structlog

from services.audit import AuditEvent
from services.clock import Clock
from services.errors import Conflict, Forbidden, NotFound, VisitFull, VisitNotOpen, VisitOver
from services.model import (
    MAX_PARTICIPANTS,
    EndReason,
    FacilityRules,
    ParticipantId,
    Role,
    Terminal,
    TerminalId,
    Visit,
    VisitId,
    VisitStatus,
)
from services.settings import Settings
from services.store import Store, VisitChange
from signaling import protocol
from signaling.bus import Bus
from signaling.connection import Connection
from signaling.deadlines import DeadlineScheduler
from signaling.rooms import Seat, VisitRoom
from signaling.tasks import TaskSet

log = structlog.get_logger("tatap.hub")

GUEST_ROLES = (Role.FAMILY, Role.TEACHER)


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
        self._system = (Role.ADMIN.value, f"system:{settings.node_id}")
        self.rooms: dict[str, VisitRoom] = {}
        self._loading: dict[str, asyncio.Future[VisitRoom]] = {}
        self._rules: dict[str, FacilityRules] = {}
        self.idle_terminals: dict[str, Connection] = {}
        self._seating: set[Connection] = set()
        self.tasks = TaskSet()
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
                seat.conn.close(protocol.CLOSE_SHUTDOWN, "server restarting")
        for conn in list(self.idle_terminals.values()):
            conn.close(protocol.CLOSE_SHUTDOWN, "server restarting")

    async def aclose(self) -> None:
        """Close what is left, finish pending writes, stop the deadlines."""
        await self.close_connections()
        await self.tasks.drain()
        await self._scheduler.aclose()

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
        except BaseException as exc:
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
        room = self.rooms.get(visit_id)
        if room is not None:
            return room
        room = VisitRoom(
            visit, rules, live=visit.status is VisitStatus.LIVE, started_at=visit.started_at
        )
        self.rooms[visit_id] = room
        self._bus.subscribe(visit_id, room.deliver)
        self._arm(room)
        idle = self.idle_terminals.get(visit.terminal_id)
        if idle is not None and not room.ended:
            self.tasks.spawn(self._seat_terminal(idle), name="seat-terminal")
        return room

    def _arm(self, room: VisitRoom) -> None:
        visit, now = room.visit, self._clock.now()
        if visit.end <= now:
            self.end(room, EndReason.COMPLETED if room.live else EndReason.NO_SHOW)
            return
        at = self._scheduler.at
        room.deadlines.append(at(visit.end, lambda: self.end(room, EndReason.COMPLETED)))
        for before in room.rules.warnings_s:
            when = visit.end - before
            if when > now:
                room.deadlines.append(at(when, functools.partial(self._warn, room, before)))
        no_show_at = visit.start + room.rules.join_grace_s
        if no_show_at < visit.end:
            room.deadlines.append(at(max(no_show_at, now), lambda: self._check_no_show(room)))
        self._tick(room)

    def _tick(self, room: VisitRoom) -> None:
        if room.ended:
            return
        now = self._clock.now()
        frame = protocol.time_left(int((room.visit.end - now) * 1000), room.end_ms)
        self._bus.publish(room.visit.id, frame)
        nxt = now + self._settings.time_interval_s
        if nxt < room.visit.end:
            room.tick = self._scheduler.at(nxt, lambda: self._tick(room))

    def _warn(self, room: VisitRoom, before_s: int) -> None:
        if room.ended:
            return
        remaining = int((room.visit.end - self._clock.now()) * 1000)
        self._bus.publish(room.visit.id, protocol.warning(remaining, room.end_ms))
        self._audit(room, "warned", self._system, {"remaining_s": before_s})

    def _check_no_show(self, room: VisitRoom) -> None:
        roles = room.roles_joined()
        if Role.TERMINAL not in roles or not roles & set(GUEST_ROLES):
            self.end(room, EndReason.NO_SHOW)

    def _check_media(self, room: VisitRoom) -> None:
        if not room.media_up:
            self.end(room, EndReason.FAILED)

    # ---- joining ----------------------------------------------------------------------------

    async def join(self, conn: Connection, visit_id: str, subject: str, role: Role) -> VisitRoom:
        room = await self.room(visit_id)
        visit, now = room.visit, self._clock.now()
        if role is Role.OFFICER:
            pid = ParticipantId(subject)
        else:
            participant = visit.participant(subject)
            if participant is None or participant.role is not role:
                raise Forbidden("this token is not for a seat of this visit")
            pid = participant.id
        if room.ended or now >= visit.end:
            raise VisitOver("this visit is over")
        if now < visit.start - self._settings.early_join_s:
            raise VisitNotOpen("this visit has not opened yet", start_ms=int(visit.start * 1000))
        seat = room.seats.get(pid)
        if seat is None and len(room.seats) >= MAX_PARTICIPANTS:
            raise VisitFull("this visit has no free seat")
        returning = pid in room.ever_joined
        if role is Role.OFFICER:
            action = "monitor-joined"
        else:
            action = "reconnected" if returning else "joined"
        event = self._event(room, action, (role.value, pid), {"node": self._settings.node_id})
        if not room.live and role is not Role.OFFICER:
            room.live = True
            room.started_at = now
            change = VisitChange(
                visit.id, VisitStatus.LIVE, frozenset({VisitStatus.SCHEDULED}), now
            )
            await self._store.change_visit(change, [event])
        else:
            await self._store.append([event])
        if room.ended:  # it ended while the event was being written
            raise VisitOver("this visit is over")
        self._take_seat(room, conn, pid, role, returning)
        return room

    def _take_seat(
        self, room: VisitRoom, conn: Connection, pid: ParticipantId, role: Role, returning: bool
    ) -> None:
        seat = room.seats.get(pid)
        if seat is not None and seat.conn is not None and seat.conn is not conn:
            seat.conn.room = None  # its disconnect must not count as this seat leaving
            seat.conn.close(protocol.CLOSE_REPLACED, "connected again elsewhere")
        if seat is not None and seat.grace is not None:
            seat.grace.cancel()
        room.seats[pid] = Seat(pid, role, conn)
        room.ever_joined.add(pid)
        conn.room, conn.participant_id, conn.role = room, pid, role
        now = self._clock.now()
        peers = [
            {"id": s.participant_id, "role": s.role.value, "present": s.conn is not None}
            for s in room.seats.values()
            if s.participant_id != pid
        ]
        visit = room.visit
        conn.send(protocol.dumps({
            "type": "welcome",
            "protocol": protocol.VERSION,
            "visit": {"id": visit.id, "kind": visit.kind.value,
                      "start_ms": int(visit.start * 1000), "end_ms": room.end_ms},
            "you": {"id": pid, "role": role.value},
            "peers": peers,
            "resumed": returning,
            "ice_servers": list(self._settings.ice_servers),
        }))  # fmt: skip
        conn.send(protocol.time_left(int((visit.end - now) * 1000), room.end_ms))
        joined = {
            "type": "peer-joined",
            "peer": {"id": pid, "role": role.value},
            "resumed": returning,
        }
        self._bus.publish(visit.id, protocol.dumps(joined), skip=pid)
        if room.both_sides_present() and not room.media_up and room.connect_deadline is None:
            room.connect_deadline = self._scheduler.at(
                now + room.rules.connect_timeout_s, lambda: self._check_media(room)
            )

    async def join_device(self, conn: Connection, terminal: Terminal) -> None:
        """A terminal's device session: seat it in its current visit, or park it until one opens."""
        conn.terminal = terminal
        old = self.idle_terminals.get(terminal.id)
        if old is not None and old is not conn:
            old.close(protocol.CLOSE_REPLACED, "connected again elsewhere")
        self.idle_terminals[terminal.id] = conn
        await self._seat_terminal(conn)

    async def _seat_terminal(self, conn: Connection) -> None:
        terminal = conn.terminal
        if terminal is None or conn.closing or conn.room is not None or conn in self._seating:
            return
        self._seating.add(conn)  # the sweeper and the terminal's own wake-up may race
        try:
            await self._find_terminal_visit(conn, terminal)
        finally:
            self._seating.discard(conn)

    async def _find_terminal_visit(self, conn: Connection, terminal: Terminal) -> None:
        now = self._clock.now()
        visit = await self._store.terminal_visit(terminal.id, now, self._settings.early_join_s)
        if visit is not None:
            seat = next(p for p in visit.participants if p.role is Role.TERMINAL)
            try:
                await self.join(conn, visit.id, seat.id, Role.TERMINAL)
                return
            except (VisitOver, VisitNotOpen, NotFound) as exc:
                log.info("terminal.visit_unavailable", visit_id=visit.id, why=exc.code)
        nxt = await self._store.next_terminal_visit(terminal.id, now)
        if nxt is not None:
            # Seat the terminal as soon as the next window opens, without waiting for the sweeper.
            opens = nxt.start - self._settings.early_join_s
            self._scheduler.at(opens, lambda: self._reseat_later(conn))
        conn.send(protocol.dumps({
            "type": "idle",
            "next": None if nxt is None else {
                "id": nxt.id, "start_ms": int(nxt.start * 1000), "end_ms": int(nxt.end * 1000)},
        }))  # fmt: skip

    def _reseat_later(self, conn: Connection) -> None:
        if not conn.closing and conn.room is None:
            self.tasks.spawn(self._seat_terminal(conn), name="seat-terminal")

    # ---- messages in a visit ----------------------------------------------------------------

    def relay(self, conn: Connection, to: str, data: dict[str, object]) -> None:
        room = conn.room
        if room is None:
            raise protocol.ProtocolError(protocol.E_NOT_JOINED, "not in a visit")
        target = room.seats.get(to)
        if target is None or target.conn is None or to == conn.participant_id:
            raise protocol.ProtocolError(protocol.E_UNKNOWN_TARGET, "no such participant here")
        if conn.role is Role.OFFICER and _sends_media(data):
            raise protocol.ProtocolError(protocol.E_NOT_ALLOWED, "a monitor only receives media")
        frame = protocol.relayed_signal(conn.participant_id, data)
        self._bus.publish(room.visit.id, frame, to=to)

    def media_up(self, conn: Connection) -> None:
        room = conn.room
        if room is None or room.media_up or room.ended:
            return
        room.media_up = True
        if room.connect_deadline is not None:
            room.connect_deadline.cancel()
        self._audit(room, "connected", (_role(conn), conn.participant_id), {})

    def notice(self, conn: Connection, code: str) -> None:
        room = self._officer_room(conn)
        self._bus.publish(room.visit.id, protocol.dumps({"type": "notice", "code": code}))
        self._audit(room, "notice", (Role.OFFICER.value, conn.participant_id), {"code": code})

    def terminate_from(self, conn: Connection, reason: str) -> None:
        room = self._officer_room(conn)
        self.end(room, EndReason.TERMINATED, (Role.OFFICER.value, conn.participant_id), reason)

    def _officer_room(self, conn: Connection) -> VisitRoom:
        if conn.room is None:
            raise protocol.ProtocolError(protocol.E_NOT_JOINED, "not in a visit")
        if conn.role is not Role.OFFICER:
            raise protocol.ProtocolError(protocol.E_NOT_ALLOWED, "only an officer may do that")
        return conn.room

    async def terminate(self, visit_id: str, actor: tuple[str, str], reason: str) -> None:
        """An officer ends a visit from the REST API."""
        room = await self.room(visit_id)
        self.end(room, EndReason.TERMINATED, actor, reason)

    def leave(self, conn: Connection) -> None:
        room = conn.room
        if room is None or room.ended:
            return
        if conn.role is Role.OFFICER:
            self.disconnected(conn)
            return
        self.end(room, EndReason.HANGUP, (_role(conn), conn.participant_id))

    def disconnected(self, conn: Connection) -> None:
        """The socket is gone. A participant keeps the seat for the reconnect grace."""
        if conn.terminal is not None and self.idle_terminals.get(conn.terminal.id) is conn:
            del self.idle_terminals[conn.terminal.id]
        room, pid = conn.room, conn.participant_id
        conn.room = None
        if room is None or room.ended:
            return
        seat = room.seats.get(pid)
        if seat is None or seat.conn is not conn:
            return
        seat.conn = None
        officer = seat.role is Role.OFFICER
        if officer:
            del room.seats[pid]
        else:
            grace_end = self._clock.now() + room.rules.reconnect_grace_s
            seat.grace = self._scheduler.at(grace_end, lambda: self._grace_over(room, seat))
        reason = "left" if officer else "dropped"
        left = {"type": "peer-left", "peer": {"id": pid, "role": seat.role.value}, "reason": reason}
        self._bus.publish(room.visit.id, protocol.dumps(left))
        self._audit(room, "left", (seat.role.value, pid), {"reason": reason})

    def _grace_over(self, room: VisitRoom, seat: Seat) -> None:
        if seat.conn is None and not room.ended:
            self.end(room, EndReason.HANGUP, (seat.role.value, seat.participant_id))

    # ---- the end ----------------------------------------------------------------------------

    def end(
        self,
        room: VisitRoom,
        reason: EndReason,
        actor: tuple[str, str] | None = None,
        note: str = "",
    ) -> None:
        """End a visit now: everyone gets `ended`, sockets close, the end is written to the log."""
        if room.ended:
            return
        room.ended = True
        room.cancel_deadlines()
        now = self._clock.now()
        frame = protocol.ended(reason.value)
        devices: list[Connection] = []
        for seat in room.present():
            conn = seat.conn
            assert conn is not None
            conn.send(frame)
            conn.room = None
            if conn.terminal is not None:
                devices.append(conn)  # a device session stays, waiting for its next visit
            else:
                conn.close(protocol.CLOSE_ENDED, "visit ended")
        actor = actor or self._system
        visit = room.visit
        details: dict[str, object] = {
            "reason": reason.value,
            "planned_s": round(visit.end - visit.start),
            "real_s": round(now - room.started_at) if room.started_at else None,
        }
        events = []
        if reason is EndReason.TERMINATED:
            events.append(self._event(room, "terminated", actor, {"note": note[:200]}))
        events.append(self._event(room, "ended", actor, details))
        log.info("visit.ended", visit_id=visit.id, reason=reason.value)
        self.tasks.spawn(self._persist_end(room, reason, now, events, devices), name="end")

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
            visit.id, VisitStatus.ENDED, frozenset({VisitStatus.SCHEDULED, VisitStatus.LIVE}),
            now, reason,
        )  # fmt: skip
        try:
            await self._store.change_visit(change, events)
        except Conflict:
            # Ended or cancelled elsewhere meanwhile (the CLI, another node): the sessions this
            # node just closed still belong in the log.
            log.info("visit.end_conflict", visit_id=visit.id)
            await self._store.append(events)
        finally:
            self.rooms.pop(visit.id, None)
            self._bus.unsubscribe(visit.id)
        for conn in devices:
            await self._seat_terminal(conn)

    # ---- finding visits ---------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("sweeper.failed")
            await self._clock.sleep(self._settings.sweep_interval_s)

    async def sweep(self) -> None:
        """Arm every visit whose window has opened and that this node does not hold yet."""
        now = self._clock.now()
        for visit_id in await self._store.due_visit_ids(now, self._settings.early_join_s):
            if visit_id not in self.rooms and visit_id not in self._loading:
                try:
                    await self.room(visit_id)
                except (VisitOver, NotFound):
                    pass

    # ---- helpers ----------------------------------------------------------------------------

    def _event(
        self, room: VisitRoom, action: str, actor: tuple[str, str], details: dict[str, object]
    ) -> AuditEvent:
        return AuditEvent(
            action, actor[0], actor[1], room.visit.facility_id, room.visit.id, details,
            ts=self._clock.now(),
        )  # fmt: skip

    def _audit(
        self, room: VisitRoom, action: str, actor: tuple[str, str], details: dict[str, object]
    ) -> None:
        event = self._event(room, action, actor, details)
        self.tasks.spawn(self._store.append([event]), name=f"audit-{action}")


def _role(conn: Connection) -> str:
    return conn.role.value if conn.role else ""


def _sends_media(data: dict[str, object]) -> bool:
    sdp = data.get("sdp")
    if not isinstance(sdp, dict):
        return False
    text = str(sdp.get("sdp", ""))
    return "a=sendrecv" in text or "a=sendonly" in text


__all__ = ["Hub", "TerminalId", "VisitId", "Visit"]
