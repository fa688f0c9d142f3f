"""What every area of the REST API is built from: the node's services, gathered once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from services.access.guard import Guard
from services.access.links import VisitLinks
from services.access.rates import BOOKING, SLOT_LISTING, Rate
from services.access.revocation import Revocations
from services.access.sessions import StaffSessions
from services.access.staff import StaffLogin
from services.board.feed import BoardFeed
from services.board.rows import BoardRows
from services.booking.scheduling import VisitService
from services.clock import Clock
from services.domain.model import EndReason, Visit
from services.ids import Actor, VisitId
from services.store.protocols import Store


class LiveVisits(Protocol):
    """What the API asks of the node holding the live sessions (the signaling hub)."""

    @property
    def rooms(self) -> Mapping[VisitId, object]:
        """The visits live on this node, by id."""
        ...

    async def terminate(self, visit_id: VisitId, actor: Actor, reason: str) -> None: ...
    def drop(self, visit_id: VisitId, reason: EndReason) -> None: ...
    def inmate_ready(self, visit_id: VisitId, at_ms: int) -> None:
        """The inmate was marked ready (on record): the visit's guests are told."""
        ...


@dataclass(frozen=True)
class ApiContext:
    """The services the REST handlers call; ``base_url`` makes family links and cookie flags,
    ``node_id`` names this node in health answers."""

    store: Store
    guard: Guard
    visits: VisitService
    links: VisitLinks
    staff: StaffLogin
    clock: Clock
    live: LiveVisits
    base_url: str
    revocations: Revocations
    node_id: str
    sessions: StaffSessions
    board: BoardRows  # the today board's rows (services.board)
    feed: BoardFeed  # and its live feed, which API changes report to as well
    booking_rate: Rate = BOOKING  # POST /api/v1/requests per client address
    slot_rate: Rate = SLOT_LISTING  # a facility's free slots per client address
    witness_store: str = ""  # the external witness's store file, path or URL ("": none)

    def now_ms(self) -> int:
        """The node's clock in milliseconds, as the API reports and compares times."""
        return int(self.clock.now() * 1000)

    def changed(self, visit: Visit) -> None:
        """A visit changed through the API: its board row is pushed to the facility's officers."""
        self.feed.visit_changed(visit.facility_id, visit.id)
