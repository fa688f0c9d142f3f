"""The auditor roles on the audit API over real HTTP: a regional auditor reads its region only,
an officer is refused, every read is itself audited, the richer search filters, the export's
bytes are the CLI's, a timeline's media-up intervals, and verify's witness state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.admin.provision import Admin
from services.audit.chain import AuditEvent, AuditRecord
from services.booking.scheduling import GuestSpec, ScheduledVisit
from services.domain.model import Role, VisitKind
from services.errors import BadRequest
from services.ids import Actor
from signaling.app import TOKENS
from tests.helpers.audit import rows, run_cli
from tests.helpers.world import World, build_world

PASSWORD = "correct horse battery"


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


async def _get(world: World, token: str, path: str, **params: Any) -> tuple[int, Any]:
    resp = await world.client.get(
        path,
        headers={"Authorization": f"Bearer {token}"},
        params={k: str(v) for k, v in params.items()},
    )
    return resp.status, json.loads(await resp.text())


async def _facility(world: World, fid: str, inmate: str) -> ScheduledVisit:
    """Facility ``fid`` with a room, terminal and one scheduled visit for inmate ``inmate``."""
    admin = Admin(world.store)
    facility = await admin.facility(f"Lapas {fid}", facility_id=fid)
    room = await admin.room(facility.id, f"Ruang {fid}")
    terminal, _ = await admin.terminal(room.id, "PC", "http://test")
    await admin.import_inmates(facility.id, f"number,name\n{inmate},Andi {fid}\n")
    found = await world.store.find_inmate(facility.id, inmate)
    assert found is not None
    return await world.visits.schedule(
        terminal_id=terminal.id,
        inmate_id=found.id,
        kind=VisitKind.LEGAL,
        start=world.clock.now() + 600,
        guests=[GuestSpec(Role.FAMILY, "Ani Lestari")],
        actor=Actor(Role.OFFICER, "s_other"),
    )


async def test_regional_auditor_reads_its_region_only(world: World) -> None:
    """A regional auditor of two facilities finds both facilities' events and none of a third;
    asking for the third is refused; a visit of the third is "no such visit"."""
    a = await _facility(world, "f_a", "A-1")
    b = await _facility(world, "f_b", "B-1")
    await world.schedule(start_in=600)  # the world's own facility: outside the region
    token = _token(world, Role.REGIONAL_AUDITOR, facilities=("f_a", "f_b"))
    status, body = await _get(world, token, "/api/v1/audit/events", limit=1000)
    assert status == 200
    assert {e["facility_id"] for e in body["events"]} == {"f_a", "f_b"}
    status, body = await _get(world, token, "/api/v1/audit/events", facility="f_b")
    assert status == 200 and {e["facility_id"] for e in body["events"]} == {"f_b"}
    status, _ = await _get(world, token, "/api/v1/audit/events", facility=world.facility_id)
    assert status == 403
    status, _ = await _get(world, token, f"/api/v1/audit/visits/{a.visit.id}")
    assert status == 200
    own = (await world.schedule(start_in=3600)).visit.id
    status, _ = await _get(world, token, f"/api/v1/audit/visits/{own}")
    assert status == 404
    assert b.visit.facility_id == "f_b"


async def test_regional_auditor_with_an_empty_region_reaches_nothing(world: World) -> None:
    """A regional token naming no facility is not read as "every facility"."""
    await world.schedule(start_in=600)
    token = _token(world, Role.REGIONAL_AUDITOR)
    status, body = await _get(world, token, "/api/v1/audit/events", limit=1000)
    assert status == 200 and body["events"] == []


async def test_regional_auditor_is_created_with_its_facilities_and_logs_in_with_them(
    world: World,
) -> None:
    """`Admin.staff` stores a region; the login's token carries it; a region is required, and
    only a regional auditor has one."""
    await _facility(world, "f_a", "A-1")
    await _facility(world, "f_b", "B-1")
    admin = Admin(world.store)
    staff = await admin.staff("kanwil", Role.REGIONAL_AUDITOR, PASSWORD, None, ["f_b", "f_a"])
    stored = await world.store.get_staff(staff.id)
    assert stored is not None and stored.facilities == ("f_a", "f_b")
    with pytest.raises(BadRequest):
        await admin.staff("kanwil2", Role.REGIONAL_AUDITOR, PASSWORD, None, [])
    with pytest.raises(BadRequest):
        await admin.staff("rina2", Role.AUDITOR, PASSWORD, "f_a", ["f_a"])
    resp = await world.client.post(
        "/api/v1/auth/login", json={"username": "kanwil", "password": PASSWORD}
    )
    assert resp.status == 200, await resp.text()
    token = (await resp.json())["token"]
    claims = world.app[TOKENS].decode(token, world.clock.now())
    assert claims.facilities == ("f_a", "f_b") and claims.role is Role.REGIONAL_AUDITOR


def test_cli_creates_a_regional_auditor(tmp_path: Path) -> None:
    """`tatap admin staff --role regional_auditor --facilities a,b` makes one."""
    for fid in ("fa", "fb"):
        done = run_cli(tmp_path, "admin", "facility", "--name", f"Lapas {fid}", "--id", fid)
        assert done.returncode == 0, done.stderr
    done = run_cli(
        tmp_path,
        "admin",
        "staff",
        "--username",
        "kanwil",
        "--role",
        "regional_auditor",
        "--facilities",
        "fa,fb",
        "--password-env",
        "PW",
        env={"PW": PASSWORD},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["facilities"] == ["fa", "fb"]


@pytest.mark.parametrize(
    "path", ["/api/v1/audit/events", "/api/v1/audit/verify", "/api/v1/audit/export"]
)
async def test_an_officer_is_refused_the_auditor_api(world: World, path: str) -> None:
    """The audit API is for auditors and admins, not officers."""
    status, body = await _get(world, _token(world, Role.OFFICER, world.facility_id), path)
    assert status == 403 and body["error"]["code"]


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.INVESTIGATOR])
async def test_every_read_is_itself_audited(world: World, role: Role) -> None:
    """A search, a timeline, an export and a verify each leave one `audit-read` event naming
    the reader, what was read and the filters (a visitor's name masked)."""
    visit = (await world.schedule(start_in=600)).visit
    token = _token(world, role, world.facility_id)
    await _get(world, token, "/api/v1/audit/events", visitor="Siti", kind="regular")
    await _get(world, token, f"/api/v1/audit/visits/{visit.id}")
    resp = await world.client.get(
        "/api/v1/audit/export",
        headers={"Authorization": f"Bearer {token}"},
        params={"format": "jsonl", "action": "scheduled"},
    )
    assert resp.status == 200 and await resp.text()
    await _get(world, token, "/api/v1/audit/verify")
    reads = rows(
        world.settings.sqlite_path,
        "SELECT actor_role, actor_id, visit_id, details FROM audit_events"
        " WHERE action = 'audit-read' ORDER BY seq",
    )
    details = [json.loads(r[3]) for r in reads]
    assert [d["read"] for d in details] == ["search", "timeline", "export", "verify"]
    assert {(r[0], r[1]) for r in reads} == {(role.value, f"s_{role.value}")}
    assert details[0]["filters"] == {"visitor": "***", "kind": "regular"}
    assert reads[1][2] == visit.id
    assert details[2]["filters"] == {"action": "scheduled"}


async def test_search_filters_by_names_nik_room_kind_and_officer(world: World) -> None:
    """Inmate by number or part of its name, visitor by part of a name, room by name, the
    visit's kind, and the acting officer each find the visit's events and no other's."""
    other = await _facility(world, "f_a", "A-1")
    mine = (await world.schedule(start_in=600)).visit
    token = _token(world, Role.ADMIN)
    inmate = await world.store.get_inmate(mine.inmate_id)
    assert inmate is not None

    async def visits(**params: Any) -> set[str]:
        status, body = await _get(world, token, "/api/v1/audit/events", limit=1000, **params)
        assert status == 200, body
        return {e["visit_id"] for e in body["events"]}

    assert await visits(inmate=inmate.number) == {mine.id}
    assert await visits(inmate="andi f_a") == {other.visit.id}  # case and part of the name
    assert await visits(visitor="lestari") == {other.visit.id}
    assert await visits(terminal="Ruang f_a") == {other.visit.id}
    assert await visits(kind="legal") == {other.visit.id}
    assert other.visit.id in await visits(officer="s_other")
    assert mine.id not in await visits(officer="s_other")
    assert await visits(visitor="%") == set()  # a wildcard is a character, not "anything"


async def test_newest_first_pages_back_with_before(world: World) -> None:
    """`order=desc` answers newest first, and `before=next_before` goes on from there."""
    await world.store.append(
        [AuditEvent("notice", "admin", "cli", world.facility_id, "", {"i": i}) for i in range(9)]
    )
    token = _token(world, Role.ADMIN)
    status, body = await _get(
        world, token, "/api/v1/audit/events", order="desc", limit=4, action="notice"
    )
    first = [e["seq"] for e in body["events"]]
    assert status == 200 and first == sorted(first, reverse=True) and len(first) == 4
    status, body = await _get(
        world,
        token,
        "/api/v1/audit/events",
        order="desc",
        limit=4,
        action="notice",
        before=body["next_before"],
    )
    second = [e["seq"] for e in body["events"]]
    assert max(second) < min(first) and len(second) == 4


async def test_export_is_the_clis_bytes(world: World, tmp_path: Path) -> None:
    """The API's CSV and JSON lines export of a filter are byte for byte what `tatap audit
    export` writes for the same filter on the same database."""
    await world.schedule(start_in=600)
    await world.store.append(
        [AuditEvent("notice", "admin", "cli", world.facility_id, "", {"n": "=1+1"})]
    )
    token = _token(world, Role.AUDITOR, world.facility_id)
    for fmt in ("csv", "jsonl"):
        resp = await world.client.get(
            "/api/v1/audit/export",
            headers={"Authorization": f"Bearer {token}"},
            params={"format": fmt, "facility": world.facility_id, "action": "notice"},
        )
        assert resp.status == 200
        got = await resp.read()
        done = run_cli(
            world.settings.data_dir,
            "audit",
            "export",
            "--format",
            fmt,
            "--facility",
            world.facility_id,
            "--action",
            "notice",
            "--db",
            f"sqlite:///{world.settings.sqlite_path}",
            "--out",
            str(tmp_path / f"cli.{fmt}"),
        )
        assert done.returncode == 0, done.stderr
        assert got == (tmp_path / f"cli.{fmt}").read_bytes() and got


def _event(action: str, role: str, who: str, ts_ms: int) -> AuditRecord:
    return AuditRecord(0, ts_ms, "f", "v", role, who, action, "{}", "", "")


async def test_verify_shows_the_witness_head_and_its_age(tmp_path: Path) -> None:
    """With the witness's store file set, verify checks its heads against the chain and shows
    the last one with its age; a head the chain does not hold makes verify fail; without one
    set, verify says so."""
    store = tmp_path / "heads.jsonl"
    async for world in build_world(tmp_path / "node", witness_store=str(store)):
        await world.schedule(start_in=600)
        seq, head = rows(world.settings.sqlite_path, "SELECT max(seq), hash FROM audit_events")[0]
        taken = int(world.clock.now() * 1000) - 90_000
        line = {"type": "checkpoint", "seq": seq, "hash": head, "key_id": "0" * 16}
        store.write_text(json.dumps({**line, "signature": "0" * 128, "ts_ms": taken}) + "\n")
        token = _token(world, Role.AUDITOR, world.facility_id)
        status, body = await _get(world, token, "/api/v1/audit/verify")
        assert status == 200 and body["ok"] is True, body
        witness = body["witness"]
        assert witness["configured"] and witness["seq"] == seq and witness["hash"] == head
        assert witness["age_s"] == 90 and witness["heads"] == 1
        store.write_text(json.dumps({**line, "hash": "f" * 64, "ts_ms": taken}) + "\n")
        status, body = await _get(world, token, "/api/v1/audit/verify")
        assert status == 200 and body["ok"] is False
        store.write_text("not json\n")
        status, body = await _get(world, token, "/api/v1/audit/verify")
        assert body["witness"] == {**body["witness"], "configured": True, "error": "unreadable"}
    async for world in build_world(tmp_path / "bare"):
        status, body = await _get(world, _token(world, Role.ADMIN), "/api/v1/audit/verify")
        assert status == 200 and body["witness"]["configured"] is False


async def test_timeline_names_are_masked_for_a_regional_auditor(world: World) -> None:
    """The facility's auditor reads the inmate's and the family's names in full; a regional
    auditor reads their first letters only; both see the inmate's number."""
    visit = (await world.schedule(start_in=600)).visit
    inmate = await world.store.get_inmate(visit.inmate_id)
    assert inmate is not None
    path = f"/api/v1/audit/visits/{visit.id}"
    _, full = await _get(world, _token(world, Role.AUDITOR, world.facility_id), path)
    regional = _token(world, Role.REGIONAL_AUDITOR, facilities=(world.facility_id,))
    _, masked = await _get(world, regional, path)
    assert full["visit"]["inmate"] == {"number": inmate.number, "name": inmate.name}
    assert masked["visit"]["inmate"]["number"] == inmate.number
    assert masked["visit"]["inmate"]["name"] == inmate.name[0] + "*" * (len(inmate.name) - 1)
    family = [p["name"] for p in full["visit"]["participants"] if p["role"] == "family"]
    hidden = [p["name"] for p in masked["visit"]["participants"] if p["role"] == "family"]
    assert family == ["Siti"] and hidden == ["S***"]
    assert full["timeline"] and masked["media"] == []


async def test_search_finds_a_visitor_by_the_last_four_nik_digits(world: World) -> None:
    """Four digits find the visits of the registered visitor whose NIK ends with them (and no
    visit of another visitor); the search's own record keeps the digits out of the log."""
    admin = Admin(world.store)
    ani = await admin.visitor("Ani", "3201234567894321")
    budi = await admin.visitor("Budi", "3201234567891234")
    visits = []
    for i, who in enumerate((ani, budi)):
        done = await world.visits.schedule(
            terminal_id=world.terminal.id,
            inmate_id=world.inmate_id,
            kind=VisitKind.REGULAR,
            start=world.clock.now() + 600 + 3600 * i,
            guests=[GuestSpec(Role.FAMILY, who.name, who.id)],
            actor=Actor(Role.OFFICER, "s_test"),
        )
        visits.append(done.visit.id)
    token = _token(world, Role.AUDITOR, world.facility_id)
    status, body = await _get(world, token, "/api/v1/audit/events", visitor="4321")
    assert status == 200 and {e["visit_id"] for e in body["events"]} == {visits[0]}
    logged = rows(
        world.settings.sqlite_path,
        "SELECT details FROM audit_events WHERE action = 'audit-read'",
    )
    assert "4321" not in logged[0][0] and json.loads(logged[0][0])["filters"]["visitor"] == "***"
