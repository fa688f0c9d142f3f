"""Staff logins: repeated failures for one name are refused for a while; a right password after
the window works again."""

from __future__ import annotations

from services.admin import Admin
from services.model import Role
from tests.conftest import World


async def login(world: World, username: str, password: str) -> tuple[int, str]:
    resp = await world.client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    body = await resp.json()
    return resp.status, body.get("error", {}).get("code", "")


async def test_five_failures_lock_the_name_for_five_minutes(world: World) -> None:
    await Admin(world.store).staff("petugas", Role.OFFICER, "benar-sekali-123")
    for _ in range(5):
        assert await login(world, "petugas", "salah") == (401, "unauthorized")
    # Even the right password is refused while the name is locked.
    assert await login(world, "petugas", "benar-sekali-123") == (429, "rate_limited")
    assert await login(world, "PETUGAS", "salah") == (429, "rate_limited")
    await world.advance(301)
    status, _ = await login(world, "petugas", "benar-sekali-123")
    assert status == 200


async def test_unknown_names_are_refused_like_wrong_passwords(world: World) -> None:
    """An unknown name gets the same answer as a wrong password (no user enumeration)."""
    await Admin(world.store).staff("auditor1", Role.AUDITOR, "benar-sekali-123")
    assert await login(world, "nobody", "x") == await login(world, "auditor1", "x")
