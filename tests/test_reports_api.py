"""The monthly report over real HTTP: a regional auditor's region consolidated, an auditor its
own facility only, another facility's auditor refused, an officer refused; each format; every
report read audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from services.admin.provision import Admin
from services.audit.query import AuditQuery
from services.booking.scheduling import GuestSpec
from services.domain.model import Role, VisitKind
from services.ids import Actor
from signaling.app import TOKENS
from tests.helpers.world import World

PATH = "/api/v1/reports/monthly"


def _token(world: World, role: Role, facility: str = "", facilities: tuple[str, ...] = ()) -> str:
    token, _ = world.app[TOKENS].issue(
        sub=f"s_{role.value}",
        role=role,
        visit="",
        now=world.clock.now(),
        ttl_s=3600,
        facility=facility,
        facilities=facilities,
    )
    return token


async def _get(world: World, token: str, **params: str) -> tuple[int, Any, str]:
    resp = await world.client.get(PATH, headers={"Authorization": f"Bearer {token}"}, params=params)
    body = await resp.read()
    kind = resp.headers.get("Content-Type", "")
    return resp.status, json.loads(body) if kind.startswith("application/json") else body, kind


async def _facility(world: World, fid: str, visits: int) -> None:
    """Facility ``fid`` with ``visits`` visits booked for this month."""
    admin = Admin(world.store)
    await admin.facility(f"Lapas {fid}", facility_id=fid)
    room = await admin.room(fid, f"Ruang {fid}")
    terminal, _ = await admin.terminal(room.id, "PC", "http://test")
    await admin.import_inmates(fid, "number,name\nX-1,Andi\n")
    inmate = await world.store.find_inmate(fid, "X-1")
    assert inmate is not None
    for i in range(visits):
        await world.visits.schedule(
            terminal_id=terminal.id,
            inmate_id=inmate.id,
            kind=VisitKind.REGULAR,
            start=world.clock.now() + 600 + 1800 * i,
            guests=[GuestSpec(Role.FAMILY, "Ani Lestari")],
            actor=Actor(Role.OFFICER, "s_officer"),
        )


def _month(world: World) -> str:
    return dt.datetime.fromtimestamp(world.clock.now() + 3600, dt.UTC).strftime("%Y-%m")


async def test_a_regional_auditor_gets_its_facilities_consolidated(world: World) -> None:
    """Without a facility, a regional auditor's report covers its two facilities, summed; with
    one of them, that one; with a facility outside its region, "no such facility"."""
    await _facility(world, "f_a", 2)
    await _facility(world, "f_b", 3)
    token = _token(world, Role.REGIONAL_AUDITOR, facilities=("f_a", "f_b"))
    status, body, _ = await _get(world, token, month=_month(world))
    assert status == 200, body
    assert [f["id"] for f in body["facilities"]] == ["f_a", "f_b"]
    figures = {(f["section"], f["name"], f["breakdown"]): f["value"] for f in body["figures"]}
    assert figures[("visits", "booked", "all")] == 5 and body["sums_ok"] is True
    status, body, _ = await _get(world, token, month=_month(world), facility="f_b")
    assert status == 200 and [f["id"] for f in body["facilities"]] == ["f_b"]
    status, _, _ = await _get(world, token, month=_month(world), facility=world.facility_id)
    assert status == 404


async def test_an_auditor_reads_its_own_facility_only(world: World) -> None:
    """An auditor's report is its facility's; another facility's auditor is refused it; an
    officer is refused reports."""
    await _facility(world, "f_a", 2)
    await _facility(world, "f_b", 1)
    own = _token(world, Role.AUDITOR, facility="f_a")
    status, body, _ = await _get(world, own, month=_month(world))
    assert status == 200 and [f["id"] for f in body["facilities"]] == ["f_a"]
    other = _token(world, Role.AUDITOR, facility="f_b")
    status, _, _ = await _get(world, other, month=_month(world), facility="f_a")
    assert status == 404
    officer = _token(world, Role.OFFICER, facility="f_a")
    status, _, _ = await _get(world, officer, month=_month(world), facility="f_a")
    assert status == 403


async def test_each_format_and_every_read_audited(world: World) -> None:
    """JSON, CSV (its rows the JSON's figures), HTML and PDF; a bad month or format is 400; each
    report read is an `audit-read` event naming the month, facilities and format."""
    await _facility(world, "f_a", 1)
    token = _token(world, Role.AUDITOR, facility="f_a")
    month = _month(world)
    _, body, _ = await _get(world, token, month=month)
    status, text, kind = await _get(world, token, month=month, format="csv")
    assert status == 200 and kind.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    assert [(r["section"], r["name"], r["breakdown"]) for r in rows] == [
        (f["section"], f["name"], f["breakdown"]) for f in body["figures"]
    ]
    status, html, kind = await _get(world, token, month=month, format="html", lang="en")
    assert status == 200 and b"Monthly video visit report" in html and b"<script" not in html
    status, pdf, kind = await _get(world, token, month=month, format="pdf")
    assert status == 200 and kind == "application/pdf" and pdf.startswith(b"%PDF")
    for bad in ({"month": "2026-13"}, {"month": month, "format": "xls"}):
        status, _, _ = await _get(world, token, **bad)
        assert status == 400
    reads = await world.store.audit_search(AuditQuery(action="audit-read", limit=100))
    formats = [json.loads(r.details)["format"] for r in reads]
    assert formats == ["json", "csv", "html", "pdf"]
    details = json.loads(reads[0].details)
    assert details["read"] == "report" and details["month"] == month
    assert details["facilities"] == ["f_a"] and reads[0].facility_id == "f_a"
