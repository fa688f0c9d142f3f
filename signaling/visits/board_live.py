"""The hub's side of the board's ``LiveState`` seam: who is in each visit held here, and each
terminal's device session, read from the rooms and sessions as they are now.

Only what this node holds: on several nodes, a visit or terminal held elsewhere reads as nobody
in it / not connected here (a cluster-wide view comes with the Redis presence).
"""

from __future__ import annotations

from services.board.facts import NEVER_SEEN, NO_VISIT_LIVE, TerminalLive, VisitLive
from services.clock import Clock
from services.domain.model import Role
from services.ids import TerminalId, VisitId
from signaling.visits.devices import DeviceSessions
from signaling.visits.room import GUEST_ROLES, Seated, VisitRoom


class HubLiveState:
    """``services.board.facts.LiveState`` over this node's rooms and device sessions."""

    def __init__(
        self, rooms: dict[VisitId, VisitRoom], devices: DeviceSessions, seated: Seated, clock: Clock
    ) -> None:
        self._rooms = rooms
        self._devices = devices
        self._seated = seated
        self._clock = clock

    def visit(self, visit_id: VisitId) -> VisitLive:
        room = self._rooms.get(visit_id)
        if room is None or room.ended:
            return NO_VISIT_LIVE
        terminal, since = False, None
        for seat in room.seats.values():
            if seat.conn is None:
                continue
            if seat.role is Role.TERMINAL:
                terminal = True
            elif seat.role in GUEST_ROLES:
                at = int(seat.since * 1000)
                since = at if since is None else min(since, at)
        return VisitLive(terminal, since is not None, room.media_up, since)

    def terminal(self, terminal_id: TerminalId) -> TerminalLive:
        devices = self._devices
        seen = devices.last_seen.get(terminal_id)
        if seen is None:
            return NEVER_SEEN
        conn = devices.sessions.get(terminal_id)
        agent = devices.agents.get(terminal_id, "")
        if conn is None:
            return TerminalLive(False, int(seen * 1000), None, agent)
        room = self._seated.get(conn)
        visit = room.visit.id if room is not None and not room.ended else None
        return TerminalLive(True, int(self._clock.now() * 1000), visit, agent)
