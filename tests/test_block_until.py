"""A visitor block with an end date, on a real server: listed with its last day, refusing the
person's requests through that day, and no longer applying (nor listed) once the day is over;
the person can be blocked again after it, and a last day in the past is refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.booking.slots import day_bounds, zone
from services.errors import VisitorBlocked
from tests.helpers.console import requested
from tests.helpers.officer import as_officer
from tests.helpers.world import World

NIK = "3201011508900001"  # visitor 1 of tests.helpers.console.requested
TZ = "Asia/Jakarta"


async def call(world: World, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    headers = as_officer(world, facility=world.facility_id)
    resp = await world.client.request(method, path, json=body, headers=headers)
    return resp.status, await resp.json()


def today(world: World) -> dt.date:
    return dt.datetime.fromtimestamp(world.clock.now(), zone(TZ)).date()


async def listed(world: World) -> list[dict[str, Any]]:
    path = f"/api/v1/facilities/{world.facility_id}/schedule"
    status, schedule = await call(world, "GET", path)
    assert status == 200, schedule
    return schedule["blocked_visitors"]  # type: ignore[no-any-return]


async def test_a_block_stops_applying_after_its_last_day(world: World) -> None:
    """Blocked through tomorrow: listed with that day, the person's request refused; once
    tomorrow is over the block is not listed and the request is taken."""
    last = today(world) + dt.timedelta(days=1)
    path = f"/api/v1/facilities/{world.facility_id}/blocks"
    body = {"nik": NIK, "reason": "ribut", "until": last.isoformat()}
    status, answer = await call(world, "POST", path, body)
    assert status == 201, answer
    [shown] = await listed(world)
    assert shown["until"] == last.isoformat() and shown["nik"].endswith("0001")
    with pytest.raises(VisitorBlocked):
        await requested(world, 1)
    await world.advance(day_bounds(last, TZ)[1] / 1000 - world.clock.now() - 60)
    with pytest.raises(VisitorBlocked):  # the last day's last minute: still blocked
        await requested(world, 1)
    await world.advance(61)
    assert await listed(world) == []
    visit = await requested(world, 1)
    assert visit.id
    status, answer = await call(world, "POST", path, {"nik": NIK, "reason": "lagi"})
    assert status == 201, answer
    [shown] = await listed(world)
    assert shown["until"] is None


async def test_a_last_day_in_the_past_or_malformed_is_refused(world: World) -> None:
    """Yesterday, or not a date, is a 400 naming `until`; nothing is blocked."""
    path = f"/api/v1/facilities/{world.facility_id}/blocks"
    for until in ((today(world) - dt.timedelta(days=1)).isoformat(), "besok"):
        status, answer = await call(
            world, "POST", path, {"nik": NIK, "reason": "x", "until": until}
        )
        assert status == 400 and answer["error"]["details"]["field"] == "until", answer
    assert await listed(world) == []
