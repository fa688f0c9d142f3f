"""What participants send each other through a visit: signaling (offers, answers, candidates)
relayed to one participant wherever its socket is, and word that media flows."""

from __future__ import annotations

from services.board.facts import BoardChanges
from services.domain.model import Role
from services.ids import Actor, ParticipantId
from signaling import protocol
from signaling.cluster.factory import Cluster
from signaling.sdp import sends_media
from signaling.transport.connection import Connection
from signaling.visits.journal import Journal
from signaling.visits.room import Seated


class Relay:
    """Relays signaling between the seats of a visit, and notes when media is up."""

    def __init__(
        self, cluster: Cluster, journal: Journal, seated: Seated, changes: BoardChanges
    ) -> None:
        self._changes = changes
        self._node = cluster.node_id
        self._bus = cluster.bus
        self._presence = cluster.presence
        self._journal = journal
        self._seated = seated

    def relay(self, conn: Connection, to: ParticipantId, data: dict[str, object]) -> None:
        """Hand a signal to participant `to` of the sender's visit (the hot path: one message
        of every offer, answer and candidate passes here)."""
        room = self._seated.get(conn)
        if room is None:
            raise protocol.ProtocolError(protocol.E_NOT_JOINED, "not in a visit")
        if room.ended:  # its end is being written: `ended` follows, nothing more goes through
            return
        node = self._presence.where(room.visit.id, to)
        target: Connection | None = None
        if node == self._node:
            # Here: straight to the socket, no bus. A publish would find the same socket
            # through the visit's subscriber, at the cost of two more calls per message.
            seat = room.seats.get(to)
            target = seat.conn if seat is not None else None
            node = node if target is not None else None
        if node is None or to == conn.participant_id:
            raise protocol.ProtocolError(protocol.E_UNKNOWN_TARGET, "no such participant here")
        _check_pair(conn, room.participant_role(to), data)
        frame = protocol.relayed_signal(conn.participant_id, data)
        if target is not None:
            target.send(frame)
        else:  # on another node: the bus takes it there
            self._bus.publish(room.visit.id, frame, to=to)

    def media_up(self, conn: Connection) -> None:
        """A participant says its media flows. Media counts as up (recorded `connected`, once per
        node run: again after a restart, with `again`)
        when the terminal and a guest have both said so while both were present: a family alone
        cannot turn a visit whose media never flowed into `completed` (an officer's word does not
        count at all)."""
        room, role = self._seated.get(conn), conn.role
        if room is None or room.media_logged or room.ended or role is None or role is Role.OFFICER:
            return
        if not room.both_sides_present():
            return
        room.media_reports.add(role)
        if not room.both_sides_reported_media():
            return
        again, room.media_up, room.media_logged = room.media_up, True, True
        if room.connect_deadline is not None:
            room.connect_deadline.cancel()
        details: dict[str, object] = {"again": True} if again else {}  # after a restart
        self._journal.audit(room, "connected", Actor(role.value, conn.participant_id), details)
        self._changes.visit_changed(room.visit.facility_id, room.visit.id)


def _check_pair(conn: Connection, target: Role | None, data: dict[str, object]) -> None:
    """Officers see media only through the terminal (PROTOCOL.md §7): a monitor negotiates with
    the terminal's seat alone, and only to receive, so a guest's uplink never carries a second
    stream. ``target`` is the role of a participant of the visit, None for an officer's seat."""
    if conn.role is Role.OFFICER:
        if target is not Role.TERMINAL:
            raise protocol.ProtocolError(
                protocol.E_NOT_ALLOWED, "a monitor negotiates with the terminal only"
            )
        if _offers_media(data):
            raise protocol.ProtocolError(protocol.E_NOT_ALLOWED, "a monitor only receives media")
    elif target is None and conn.role is not Role.TERMINAL:
        raise protocol.ProtocolError(
            protocol.E_NOT_ALLOWED, "only the terminal negotiates with a monitor"
        )


def _offers_media(data: dict[str, object]) -> bool:
    sdp = data.get("sdp")
    return isinstance(sdp, dict) and sends_media(str(sdp.get("sdp", "")))
