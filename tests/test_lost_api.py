"""The auditor's visit timeline carries the visit's time lost by cause: its gaps, each with its
cause, and the totals, computed from the visit's events and the node's downs in the log."""

from __future__ import annotations

import json
from typing import Any

from services.audit.chain import AuditEvent
from services.domain.model import Role
from signaling.app import TOKENS
from tests.helpers.world import World

MIN = 60_000


async def test_timeline_shows_lost_time_by_cause(world: World) -> None:
    """Media up at the start, the family away minutes 2–3, the node down minutes 5–7 and media
    said again at 8: the timeline's loss names a family gap and a system gap, with totals (the
    visit not live, it is judged to its scheduled end: media up again from 8 to 15)."""
    visit = (
        await world.schedule(start_in=-9 * 60)
    ).visit  # begun nine minutes ago (within the join grace)
    t0 = round(visit.start * 1000)
    seat = {p.role: p.id for p in visit.participants}
    fam, term = seat[Role.FAMILY], seat[Role.TERMINAL]

    def at(minute: float, action: str, role: str, pid: str, **details: Any) -> AuditEvent:
        ts = (t0 + minute * MIN) / 1000
        vid = visit.id if role != "system" else ""
        fid = visit.facility_id if vid else ""
        return AuditEvent(action, role, pid, fid, vid, details, ts=ts)

    await world.store.append(
        [
            at(0, "joined", "terminal", term),
            at(0, "joined", "family", fam),
            at(0, "connected", "family", fam),
            at(2, "left", "family", fam, reason="dropped"),
            at(3, "reconnected", "family", fam),
            at(7, "node-started", "system", "system:n2", down_from_ms=t0 + 5 * MIN, crashed=True),
            at(7.5, "reconnected", "terminal", term),
            at(7.5, "reconnected", "family", fam),
            at(8, "connected", "terminal", term, again=True),
        ]
    )
    token, _ = world.app[TOKENS].issue(
        sub="s_aud", role=Role.AUDITOR, visit="", now=world.clock.now(), ttl_s=3600,
        facility=world.facility_id,
    )  # fmt: skip
    resp = await world.client.get(
        f"/api/v1/audit/visits/{visit.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status == 200
    body = json.loads(await resp.text())
    loss = body["loss"]
    assert [
        (g["cause"], (g["start_ms"] - t0) / MIN, (g["end_ms"] - t0) / MIN) for g in loss["gaps"]
    ] == [
        ("family", 2, 3),
        ("system", 5, 8),
    ]
    assert loss["lost_ms"] == {"system": 3 * MIN, "family": MIN, "officer": 0}
    assert loss["connected_ms"] == 11 * MIN and loss["scheduled_ms"] == visit.end * 1000 - t0
