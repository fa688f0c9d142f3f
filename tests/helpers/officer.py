"""An officer: its staff token, its API headers, its monitor socket on a visit."""

from __future__ import annotations

from services.access.tokens import Claims, TokenService
from services.domain.model import Role
from tests.helpers.world import KEYS, Peer, World


def staff_token(
    world: World, staff_id: str = "s_off", ttl_s: float = 3600, facility: str = ""
) -> tuple[str, Claims]:
    """An officer's staff token issued now (bound to ``facility``, if given), as (token, claims)."""
    return TokenService(KEYS).issue(
        sub=staff_id,
        role=Role.OFFICER,
        visit="",
        now=world.clock.now(),
        ttl_s=ttl_s,
        facility=facility,
    )


def as_officer(world: World, staff_id: str = "s_off", facility: str = "") -> dict[str, str]:
    """Request headers that carry an officer's staff token (of ``facility``, if given)."""
    return {"Authorization": f"Bearer {staff_token(world, staff_id, facility=facility)[0]}"}


async def officer(world: World, visit_id: str, staff_id: str = "s_officer") -> Peer:
    """A monitor connected to the visit as staff ``staff_id`` (it has said hello, not yet read
    its welcome)."""
    token = await world.links.monitor_token(staff_token(world, staff_id)[1], visit_id)
    return await world.connect(token)
