"""An officer's monitor socket on a visit."""

from __future__ import annotations

from services.access.tokens import TokenService
from services.domain.model import Role
from tests.helpers.world import KEYS, Peer, World


async def officer(world: World, visit_id: str, staff_id: str = "s_officer") -> Peer:
    """A monitor connected to the visit as staff ``staff_id`` (it has said hello, not yet read
    its welcome)."""
    staff = TokenService(KEYS).issue(
        sub=staff_id, role=Role.OFFICER, visit="", now=world.clock.now(), ttl_s=3600
    )[1]
    token = await world.links.monitor_token(staff, visit_id)
    return await world.connect(token)
