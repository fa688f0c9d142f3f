"""Schedule many visits in a data directory before its server starts, the way the CLI would.

Each visit needs its own terminal (a terminal cannot be booked twice at the same time), so N visits
mean N terminals. Visits are scheduled concurrently in chunks so the store's group commit batches
the writes; the tokens are the real per-seat JWTs a ``tatap serve`` on the same data directory
accepts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from services.access.links import FamilyLinks, VisitLinks
from services.access.tokens import TokenService
from services.admin.provision import Admin
from services.booking.scheduling import GuestSpec, VisitService
from services.clock import SystemClock
from services.domain.model import FacilityRules, Role, VisitKind
from services.ids import Actor
from services.settings import Settings
from services.store.factory import create_store

CHUNK = 250


@dataclass(frozen=True, slots=True)
class VisitSeats:
    """One scheduled visit with a token for each of its two seats."""

    visit_id: str
    end_ms: int
    terminal_token: str
    family_token: str


def provision(
    data_dir: Path, count: int, start: float, length_s: int, rules: FacilityRules | None = None
) -> list[VisitSeats]:
    return asyncio.run(_provision(data_dir, count, start, length_s, rules or FacilityRules()))


async def _provision(
    data_dir: Path, count: int, start: float, length_s: int, rules: FacilityRules
) -> list[VisitSeats]:
    settings = Settings.from_env(data_dir=data_dir)
    clock = SystemClock()
    store = create_store(settings, clock)
    try:
        admin = Admin(store)
        visits = VisitService(store, clock)
        tokens = TokenService(settings.token_keys)
        family = FamilyLinks(settings.link_key)
        links = VisitLinks(store, tokens, clock, settings.token_grace_s, family)
        facility = await admin.facility("Bench facility", rules=rules)
        room = await admin.room(facility.id, "Bench room")
        await admin.import_inmates(facility.id, "number,name,block\nB-0001,Bench Inmate,A\n")
        inmate = await store.find_inmate(facility.id, "B-0001")
        assert inmate is not None

        async def one(i: int) -> VisitSeats:
            terminal, _ = await admin.terminal(room.id, f"PC {i}", settings.base_url)
            scheduled = await visits.schedule(
                terminal_id=terminal.id,
                inmate_id=inmate.id,
                kind=VisitKind.REGULAR,
                start=start,
                guests=[GuestSpec(Role.FAMILY, f"Family {i}")],
                actor=Actor(Role.ADMIN, "bench"),
                length_s=length_s,
            )
            visit = scheduled.visit
            seat = {p.role: p for p in visit.participants}
            return VisitSeats(
                visit.id,
                int(visit.end * 1000),
                await links.participant_token(visit, seat[Role.TERMINAL]),
                await links.participant_token(visit, seat[Role.FAMILY]),
            )

        out: list[VisitSeats] = []
        for first in range(0, count, CHUNK):
            out += await asyncio.gather(*(one(i) for i in range(first, min(count, first + CHUNK))))
        return out
    finally:
        await store.aclose()
