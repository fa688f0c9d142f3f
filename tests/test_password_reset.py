"""A password reset ends the account's sessions and tokens, on a real server: the old console
session and an old API token are refused (401 ``token_revoked``) from the reset on, a new login
with the new password works and is not ended by it, a disabled account stays disabled, and the
revocation is written in the password's own transaction."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp

from services.access.revocation import RevocationKind, Revocations
from services.audit.chain import AuditEvent
from services.board.feed import BoardFeed
from services.clock import FakeClock
from services.domain.model import Role
from services.ids import Actor
from signaling.app import TOKENS
from tests.helpers.audit import rows, run_cli
from tests.helpers.console import PASSWORD, login, staff
from tests.helpers.world import World, build_world

NEW_PASSWORD = "kata-sandi-baru-99"


def admin(world: World) -> dict[str, str]:
    token, _ = world.app[TOKENS].issue(
        sub="s_admin", role=Role.ADMIN, visit="", now=world.clock.now(), ttl_s=3600
    )
    return {"Authorization": f"Bearer {token}"}


async def reset(world: World, username: str) -> aiohttp.ClientResponse:
    found = await world.store.get_staff_by_username(username)
    assert found is not None
    return await world.client.post(
        f"/api/v1/staff/{found.id}/password",
        json={"password": NEW_PASSWORD},
        headers=admin(world),
    )


async def test_a_reset_ends_the_old_session_and_a_new_login_works(world: World) -> None:
    """An officer logged in on the console and holding an API token; an admin resets the
    password: the session's next call and the token are refused 401 token_revoked; the old
    password no longer logs in, the new one does, and that new session keeps working."""
    await staff(world, "andi", Role.OFFICER)
    resp, _ = await login(world, "andi")
    assert resp.status == 200
    api = await world.client.post(
        "/api/v1/auth/login", json={"username": "andi", "password": PASSWORD}
    )
    bearer = {"Authorization": f"Bearer {(await api.json())['token']}"}
    assert (await world.client.get("/api/v1/requests")).status == 200
    await world.advance(5)
    assert (await reset(world, "andi")).status == 200
    for headers in ({}, bearer):
        again = await world.client.get("/api/v1/requests", headers=headers)
        assert again.status == 401, headers
        assert (await again.json())["error"]["code"] == "token_revoked"
    old = await world.client.post("/officer/login", json={"username": "andi", "password": PASSWORD})
    assert old.status == 401
    new = await world.client.post(
        "/officer/login", json={"username": "andi", "password": NEW_PASSWORD}
    )
    assert new.status == 200, await new.text()
    await world.advance(5)
    assert (await world.client.get("/api/v1/requests")).status == 200


async def test_a_reset_is_audited_once_with_its_revocation_in_the_same_commit(
    world: World,
) -> None:
    """The reset writes its audit event and the account's lifted staff revocation together;
    for an unknown account it writes neither."""
    await staff(world, "andi", Role.OFFICER)
    found = await world.store.get_staff_by_username("andi")
    assert found is not None
    event = AuditEvent("staff-password-reset", Role.ADMIN, "s_admin", "", "", {"staff": "x"})
    assert not await world.store.set_staff_password("s_nobody", "h", event)
    assert rows(world.settings.sqlite_path, "SELECT kind FROM revocations") == []
    assert (await reset(world, "andi")).status == 200
    revoked = rows(
        world.settings.sqlite_path, "SELECT kind, subject, lifted_ms = ts_ms FROM revocations"
    )
    assert revoked == [("sessions", found.id, 1)]
    actions = rows(
        world.settings.sqlite_path,
        "SELECT action FROM audit_events WHERE action LIKE 'staff-%' ORDER BY seq",
    )
    assert actions == [("staff-created",), ("staff-password-reset",)]


async def test_a_reset_does_not_enable_a_disabled_account(world: World) -> None:
    """Resetting a disabled account's password leaves it disabled: no login with the new
    password, and its staff revocation still in force."""
    await staff(world, "andi", Role.OFFICER)
    actor = Actor(Role.ADMIN, "s_admin")
    await Revocations(world.store, world.clock).disable_staff("andi", actor)
    assert (await reset(world, "andi")).status == 200
    new = await world.client.post(
        "/officer/login", json={"username": "andi", "password": NEW_PASSWORD}
    )
    assert new.status != 200
    staff_rows = rows(
        world.settings.sqlite_path, "SELECT lifted_ms FROM revocations WHERE kind = 'staff'"
    )
    assert staff_rows == [(None,)]


async def test_a_reset_ends_old_board_streams_and_spares_new_ones(world: World) -> None:
    """Applied to live streams (as every node's poll applies it), the reset's revocation ends a
    stream opened before it and spares one opened by a login after it."""
    await staff(world, "andi", Role.OFFICER)
    found = await world.store.get_staff_by_username("andi")
    assert found is not None
    feed = BoardFeed()
    key = ((RevocationKind.SESSIONS, found.id),)
    before = feed.subscribe(world.facility_id, key, issued_at=world.clock.now())
    await world.advance(5)
    head = await world.store.revocation_head()
    assert (await reset(world, "andi")).status == 200
    await world.advance(5)
    after = feed.subscribe(world.facility_id, key, issued_at=world.clock.now())
    (revocation,) = await world.store.revocations_after(head)
    assert revocation.error.code == "token_revoked"
    assert feed.close_revoked(revocation) == 1
    assert before.dropped and not after.dropped


async def test_the_cli_reset_ends_the_session_too(tmp_path: Path) -> None:
    """`tatap admin staff --reset USER` (its own process, on the system clock, the password
    from standard input) ends the live console session (401 token_revoked); once the node's
    clock is past the reset, the new password logs in."""
    async for world in build_world(tmp_path, clock=FakeClock(time.time() - 60)):
        await staff(world, "andi", Role.OFFICER)
        await login(world, "andi")
        proc = await asyncio.to_thread(
            run_cli,
            world.settings.data_dir,
            "admin",
            "staff",
            "--reset",
            "andi",
            stdin=NEW_PASSWORD,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["sessions_ended"] is True
        again = await world.client.get("/api/v1/requests")
        assert again.status == 401 and (await again.json())["error"]["code"] == "token_revoked"
        await world.advance(120)
        new = await world.client.post(
            "/officer/login", json={"username": "andi", "password": NEW_PASSWORD}
        )
        assert new.status == 200, await new.text()
        assert (await world.client.get("/api/v1/requests")).status == 200
