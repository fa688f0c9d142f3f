"""A visit with its terminal and family joined, and what its audit log says of it."""

from __future__ import annotations

from services.audit.query import AuditQuery
from services.domain.model import Role
from tests.helpers.world import Peer, World


async def pair(world: World, length_s: int = 900, media: bool = True) -> tuple[Peer, Peer, str]:
    """Terminal and family joined (and, unless told otherwise, media reported up)."""
    visit = await world.schedule(length_s=length_s)
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    await term.expect("welcome")
    fam = await world.connect(await world.token(visit, Role.FAMILY))
    await fam.expect("welcome")
    await term.expect("peer-joined")
    if media:  # counted once both sides say so
        for peer in (term, fam):
            await peer.send({"type": "connected"})
            await peer.send({"type": "ping", "id": 1})
            await peer.until("pong")
    return term, fam, visit.visit.id


async def actions(world: World, visit_id: str) -> list[str]:
    """The actions of the visit's audit events written so far, oldest first."""
    rows = await world.store.audit_search(AuditQuery(visit_id=visit_id, limit=1000))
    return [r.action for r in rows]
