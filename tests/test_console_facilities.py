"""The consoles' facility picker on a real server: staff of every facility are offered every
facility (one taking no online requests too), staff of one facility their own only."""

from __future__ import annotations

from services.admin.provision import Admin
from services.domain.model import Role
from tests.helpers.console import login, staff
from tests.helpers.world import World


async def test_staff_of_every_facility_pick_from_every_facility(world: World) -> None:
    """An admin of no facility gets every facility by name, with its time zone, though only
    the world's facility takes online requests (the public list names none of the others)."""
    other = await Admin(world.store).facility("Lapas Anyar", "Asia/Makassar")
    await staff(world, "kepala", Role.ADMIN, None)
    await login(world, "kepala")
    resp = await world.client.get("/officer/facilities")
    assert resp.status == 200, await resp.text()
    listed = (await resp.json())["facilities"]
    assert {"id": other.id, "name": "Lapas Anyar", "timezone": "Asia/Makassar"} in listed
    assert world.facility_id in [f["id"] for f in listed]
    assert [f["name"] for f in listed] == sorted(f["name"] for f in listed)
    public = await (await world.client.get("/api/v1/facilities")).json()
    assert other.id not in [f["id"] for f in public["facilities"]]


async def test_an_officer_of_one_facility_is_offered_its_own_only(world: World) -> None:
    """An officer of one facility is offered that facility alone; without a session, 401."""
    assert (await world.client.get("/officer/facilities")).status == 401
    await Admin(world.store).facility("Lapas Anyar")
    await staff(world, "andi", Role.OFFICER)
    await login(world, "andi")
    listed = (await (await world.client.get("/officer/facilities")).json())["facilities"]
    assert [f["id"] for f in listed] == [world.facility_id]
