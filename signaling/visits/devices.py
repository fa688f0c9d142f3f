"""Terminals' device sessions: one socket per visit-room PC that outlives its visits.

A terminal logs in with its credentials, not a visit token. It is seated in the visit open on it
now, or told `idle` with its next visit and seated when that one's window opens (its own deadline,
or the sweeper loading the room, whichever comes first). After a visit ends the same socket waits
for the next one.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import structlog

from services.board.facts import BoardChanges
from services.clock import Clock
from services.domain.model import Role, Terminal, Visit
from services.domain.rules import opens_at
from services.errors import Conflict, NotFound, VisitNotOpen, VisitOver
from services.ids import TerminalId, VisitId
from services.store.protocols import VisitStore
from signaling import protocol
from signaling.runtime.deadlines import Deadline, DeadlineScheduler
from signaling.runtime.tasks import TaskSet
from signaling.transport.connection import Connection
from signaling.visits.room import Seated, VisitRoom

log = structlog.get_logger("tatap.devices")

# join(conn, visit_id, subject, role): seat a socket in a visit (the hub's join).
Join = Callable[[Connection, VisitId, str, Role], Awaitable[object]]


class DeviceSessions:
    """The device sessions of the terminals connected to this node."""

    def __init__(
        self,
        join: Join,
        tasks: TaskSet,
        seated: Seated,
        store: VisitStore,
        clock: Clock,
        scheduler: DeadlineScheduler,
        early_join_s: float,
        changes: BoardChanges,
    ) -> None:
        self._changes = changes
        self._join = join
        self._tasks = tasks
        self._seated = seated
        self._store = store
        self._clock = clock
        self._scheduler = scheduler
        self._early = early_join_s
        self.sessions: dict[TerminalId, Connection] = {}  # terminal id → its one socket
        self._wakeups: dict[TerminalId, Deadline] = {}  # terminal id → when its next window opens
        self._seating: set[Connection] = set()
        # What officers see of terminals that are not (or no longer) connected here: when each
        # was last here, and the agent version each said it runs. One entry per terminal.
        self.last_seen: dict[TerminalId, float] = {}
        self.agents: dict[TerminalId, str] = {}

    def __len__(self) -> int:
        return len(self.sessions)

    async def connect(self, conn: Connection, terminal: Terminal, agent: str = "") -> None:
        """A terminal logged in: it replaces an older socket of the same terminal."""
        conn.terminal = terminal
        old = self.sessions.get(terminal.id)
        if old is not None and old is not conn:
            old.close(protocol.Close.REPLACED, "connected again elsewhere")
        self.sessions[terminal.id] = conn
        self.agents[terminal.id] = agent
        self.last_seen[terminal.id] = self._clock.now()
        self._changes.terminal_changed(terminal.facility_id, terminal.id)
        await self._seat(conn)

    def still_connected(self, conn: Connection) -> bool:
        """False for a device socket that was replaced or closed; True for any other socket."""
        return conn.terminal is None or self.sessions.get(conn.terminal.id) is conn

    def disconnected(self, conn: Connection) -> None:
        terminal = conn.terminal
        if terminal is not None and self.sessions.get(terminal.id) is conn:
            del self.sessions[terminal.id]
            self.last_seen[terminal.id] = self._clock.now()
            wakeup = self._wakeups.pop(terminal.id, None)
            if wakeup is not None:
                wakeup.cancel()
            self._changes.terminal_changed(terminal.facility_id, terminal.id)

    def room_opened(self, room: VisitRoom) -> None:
        """A visit's room was loaded: seat its terminal now if it is waiting."""
        conn = self.sessions.get(room.visit.terminal_id)
        if conn is not None and conn not in self._seated:
            self._tasks.spawn(self._seat(conn), name="seat-terminal")

    async def reseat(self, conns: list[Connection]) -> None:
        """After a visit ended: each terminal goes on to its next visit, or idles."""
        for conn in conns:
            await self._seat(conn)

    def close_all(self, code: int, reason: str) -> None:
        for conn in list(self.sessions.values()):
            conn.close(code, reason)

    async def _seat(self, conn: Connection) -> None:
        terminal = conn.terminal
        if terminal is None or conn.closing or conn in self._seated or conn in self._seating:
            return
        if not self.still_connected(conn):
            return
        self._seating.add(conn)  # the sweeper and the terminal's own wake-up may race
        try:
            await self._find_visit(conn, terminal)
        finally:
            self._seating.discard(conn)

    async def _find_visit(self, conn: Connection, terminal: Terminal) -> None:
        now = self._clock.now()
        visit = await self._store.terminal_visit(terminal.id, now, self._early)
        if visit is not None:
            seat = next(p for p in visit.participants if p.role is Role.TERMINAL)
            try:
                await self._join(conn, visit.id, seat.id, Role.TERMINAL)
                if conn in self._seated:
                    return
            except (VisitOver, VisitNotOpen, NotFound, Conflict) as exc:
                # Never close a device session over one visit: it waits for the next instead.
                log.info("terminal.visit_unavailable", visit_id=visit.id, why=exc.code)
        if conn.closing or not self.still_connected(conn):
            return
        nxt = await self._store.next_terminal_visit(terminal.id, now)
        old = self._wakeups.pop(terminal.id, None)
        if old is not None:
            old.cancel()
        if nxt is not None:
            # Seat the terminal as soon as the next window opens, without waiting for the sweeper.
            opens = max(opens_at(nxt, self._early), now + 5.0)
            self._wakeups[terminal.id] = self._scheduler.at(
                opens, functools.partial(self._wake, conn)
            )
        conn.send(protocol.idle(_next_visit(nxt)))

    def _wake(self, conn: Connection) -> None:
        if conn.terminal is not None:
            self._wakeups.pop(conn.terminal.id, None)
        if not conn.closing and conn not in self._seated:
            self._tasks.spawn(self._seat(conn), name="seat-terminal")


def _next_visit(visit: Visit | None) -> protocol.NextVisit | None:
    """What `idle` says of a terminal's next visit."""
    if visit is None:
        return None
    return protocol.NextVisit(visit.id, int(visit.start * 1000), int(visit.end * 1000))
