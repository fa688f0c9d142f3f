"""Schedule administration, the inmate import and staff accounts over the API, on a real server:
slot templates that show in the free slots, a closure's preview that counts what the closure
then does, visitor blocks audited with the NIK masked, an import previewed then applied as
previewed (CSV and XLSX, bad rows skipped, a changed file refused, a zip bomb refused), and staff
accounts that only an admin manages."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

import openpyxl
import pytest

from services.admin.provision import Admin
from services.booking.slots import day_bounds, parse_hhmm
from services.domain.model import InmateStatus, Role
from signaling.app import TOKENS
from tests.helpers.audit import rows
from tests.helpers.world import World

PASSWORD = "a-long-enough-secret"


def bearer(world: World, role: Role, facility: str = "", sub: str = "s_1") -> dict[str, str]:
    token, _ = world.app[TOKENS].issue(
        sub=sub, role=role, visit="", now=world.clock.now(), ttl_s=3600, facility=facility
    )
    return {"Authorization": f"Bearer {token}"}


def officer(world: World) -> dict[str, str]:
    return bearer(world, Role.OFFICER, world.facility_id)


def saturday(world: World) -> dt.date:
    today = dt.datetime.fromtimestamp(world.clock.now(), dt.UTC).date()
    return today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)


async def call(
    world: World, method: str, path: str, data: Any = None, headers: Any = None
) -> tuple[int, Any]:
    resp = await world.client.request(method, path, json=data, headers=headers or officer(world))
    return resp.status, await resp.json()


async def add_saturday_template(world: World) -> dict[str, Any]:
    status, made = await call(
        world,
        "POST",
        f"/api/v1/facilities/{world.facility_id}/templates",
        {
            "room_id": world.terminal.room_id,
            "weekdays": "sat",
            "open": "08:00",
            "close": "10:00",
            "length_min": 30,
            "kinds": "regular",
        },
    )
    assert status == 201, made
    return made  # type: ignore[no-any-return]


async def free_starts(world: World) -> list[int]:
    url = f"/api/v1/facilities/{world.facility_id}/slots?date={saturday(world).isoformat()}"
    return [s["start_ms"] for s in (await (await world.client.get(url)).json())["slots"]]


async def test_a_template_added_shows_in_the_free_slots_and_goes_when_removed(
    world: World,
) -> None:
    """An officer's template offers its slots to families at once; removing it takes them back;
    one overlapping it is refused (409)."""
    assert await free_starts(world) == []
    made = await add_saturday_template(world)
    first = day_bounds(saturday(world), "Asia/Jakarta")[0] + parse_hhmm("08:00") * 60_000
    assert await free_starts(world) == [first + i * 1_800_000 for i in range(4)]
    again = {**made, "open": "09:00", "close": "11:00", "weekdays": "sat", "kinds": "regular"}
    status, refused = await call(
        world, "POST", f"/api/v1/facilities/{world.facility_id}/templates", again
    )
    assert status == 409, refused
    status, schedule = await call(world, "GET", f"/api/v1/facilities/{world.facility_id}/schedule")
    assert status == 200
    assert [t["id"] for r in schedule["rooms"] for t in r["templates"]] == [made["id"]]
    path = f"/api/v1/facilities/{world.facility_id}/templates/{made['id']}"
    assert (await call(world, "DELETE", path))[0] == 200
    assert await free_starts(world) == []


async def test_another_facilitys_officer_sees_and_changes_none_of_it(world: World) -> None:
    """Every schedule route answers 404 to an officer of another facility, as if it were not
    there; the template is still in place."""
    made = await add_saturday_template(world)
    other = bearer(world, Role.OFFICER, "f_other")
    fid = world.facility_id
    for method, path in (
        ("GET", f"/api/v1/facilities/{fid}/schedule"),
        ("DELETE", f"/api/v1/facilities/{fid}/templates/{made['id']}"),
        ("GET", f"/api/v1/facilities/{fid}/closures/preview?start_ms=1&end_ms=2"),
        ("POST", f"/api/v1/facilities/{fid}/blocked-dates"),
        ("POST", f"/api/v1/facilities/{fid}/inmates/preview"),
    ):
        status, _ = await call(world, method, path, {}, other)
        assert status == 404, (method, path)
    assert len(await free_starts(world)) == 4


async def test_a_closures_preview_counts_what_the_closure_then_does(world: World) -> None:
    """The preview counts the visits and families a closure would cancel and changes nothing;
    the closure then cancels exactly those."""
    await add_saturday_template(world)
    await Admin(world.store).import_inmates(world.facility_id, "number,name\nN-1,A\nN-2,B\nN-3,C\n")
    starts = await free_starts(world)
    for n, start in enumerate(starts[:3], start=1):
        visitor = {
            "name": "Siti",
            "nik": f"320101150890{n:04d}",
            "phone": "0812-3456-7890",
            "relationship": "spouse",
        }
        request = {
            "facility_id": world.facility_id,
            "inmate_number": f"N-{n}",
            "kind": "regular",
            "start_ms": start,
            "visitor": visitor,
        }
        resp = await world.client.post("/api/v1/requests", json=request)
        assert resp.status == 201, await resp.json()
    window = f"start_ms={starts[0]}&end_ms={starts[2] + 1}"
    path = f"/api/v1/facilities/{world.facility_id}/closures/preview?{window}"
    status, preview = await call(world, "GET", path)
    assert status == 200
    assert (preview["cancelled"], preview["families"], preview["live"]) == (3, 3, 0)
    assert (await call(world, "GET", path))[1] == preview  # nothing changed
    closure = {"start_ms": starts[0], "end_ms": starts[2] + 1, "reason": "banjir"}
    status, made = await call(
        world, "POST", f"/api/v1/facilities/{world.facility_id}/closures", closure
    )
    assert status == 201 and len(made["cancelled"]) == 3
    assert (await call(world, "GET", path))[1]["cancelled"] == 0
    bad = f"/api/v1/facilities/{world.facility_id}/closures/preview?start_ms=5&end_ms=x"
    assert (await call(world, "GET", bad))[0] == 400


async def test_a_blocked_date_and_a_blocked_visitor_show_on_the_schedule(world: World) -> None:
    """A blocked date is listed; a visitor blocked by NIK is listed masked, audited masked,
    and can be lifted from the list."""
    fid = world.facility_id
    day = (saturday(world) + dt.timedelta(days=7)).isoformat()
    status, _ = await call(
        world, "POST", f"/api/v1/facilities/{fid}/blocked-dates", {"date": day, "reason": "Libur"}
    )
    assert status == 201
    nik = "3201011508900042"
    status, blocked = await call(
        world, "POST", f"/api/v1/facilities/{fid}/blocks", {"nik": nik, "reason": "ribut"}
    )
    assert status == 201 and blocked["count"] == 1
    schedule = (await call(world, "GET", f"/api/v1/facilities/{fid}/schedule"))[1]
    assert schedule["blocked_dates"] == [{"date": day, "reason": "Libur"}]
    [listed] = schedule["blocked_visitors"]
    assert listed["nik"] == "************0042"
    details = rows(
        world.settings.sqlite_path,
        "SELECT details FROM audit_events WHERE action = 'visitor-blocked'",
    )
    assert nik not in details[0][0] and "0042" in details[0][0]
    lift = {"visitor_id": listed["id"], "reason": "sudah damai"}
    assert (await call(world, "POST", f"/api/v1/facilities/{fid}/blocks/lift", lift))[0] == 200
    schedule = (await call(world, "GET", f"/api/v1/facilities/{fid}/schedule"))[1]
    assert schedule["blocked_visitors"] == []


async def test_relationships_are_set_by_an_admin_only(world: World) -> None:
    path = f"/api/v1/facilities/{world.facility_id}/relationships"
    body = {"relationships": "spouse,parent"}
    assert (await call(world, "PUT", path, body))[0] == 403
    admin = bearer(world, Role.ADMIN, world.facility_id)
    status, done = await call(world, "PUT", path, body, admin)
    assert status == 200 and done["relationships"] == ["spouse", "parent"]
    schedule = (await call(world, "GET", f"/api/v1/facilities/{world.facility_id}/schedule"))[1]
    assert schedule["relationships"] == ["spouse", "parent"]


async def test_the_makeup_rule_is_set_by_an_admin_only(world: World) -> None:
    """An officer may not set the make-up rule; an admin sets it (1 to 120 minutes, or null
    for off), each change in the log; 0 and 121 are refused naming the field."""
    path = f"/api/v1/facilities/{world.facility_id}/makeup"
    assert (await call(world, "PUT", path, {"makeup_after_min": 30}))[0] == 403
    admin = bearer(world, Role.ADMIN, world.facility_id)
    for bad in (0, 121, "30"):
        status, body = await call(world, "PUT", path, {"makeup_after_min": bad}, admin)
        assert status == 400 and "makeup_after_min" in body["error"]["message"]
    status, done = await call(world, "PUT", path, {"makeup_after_min": 30}, admin)
    assert status == 200 and done == {"facility_id": world.facility_id, "makeup_after_min": 30}
    assert (await world.store.booking_policy(world.facility_id)).makeup_after_min == 30
    status, done = await call(world, "PUT", path, {"makeup_after_min": None}, admin)
    assert status == 200 and done["makeup_after_min"] is None
    sql = "SELECT details FROM audit_events WHERE action = 'makeup-rule-set'"
    logged = rows(world.settings.sqlite_path, sql)
    assert [r[0] for r in logged] == ['{"makeup_after_min":30}', '{"makeup_after_min":null}']


# --- the inmate import ---

EXPORT = "No Registrasi;Nama;Blok;Status\nB-1234;Budi Baru;C;narapidana\nN-1;Ani;A;tahanan\n"


async def upload(
    world: World, step: str, data: bytes, query: str = "", headers: Any = None
) -> tuple[int, Any]:
    path = f"/api/v1/facilities/{world.facility_id}/inmates/{step}?{query}"
    resp = await world.client.post(path, data=data, headers=headers or officer(world))
    return resp.status, await resp.json()


async def inmates(world: World) -> dict[str, tuple[str, str, InmateStatus]]:
    found = await world.store.facility_inmates(world.facility_id)
    return {i.number: (i.name, i.block, i.status) for i in found}


async def test_an_import_is_previewed_then_applied_as_previewed(world: World) -> None:
    """The preview maps the Indonesian header, classifies each row and names the bad one, and
    writes nothing; the import with its digest applies the good rows and skips the bad one."""
    before = await inmates(world)
    text = EXPORT + "X-9;;A;narapidana\nB-7;Joko;A;kabur\n"
    status, preview = await upload(world, "preview", text.encode())
    assert status == 200, preview
    assert preview["columns"] == {
        "number": "No Registrasi",
        "name": "Nama",
        "block": "Blok",
        "status": "Status",
    }
    assert preview["counts"] == {
        "new": 1,
        "updated": 1,
        "released": 0,
        "transferred": 0,
        "unchanged": 0,
        "errors": 2,
    }
    assert [(e["line"], e["errors"]) for e in preview["errors"]] == [
        (4, ["name_missing"]),
        (5, ["status_unknown"]),
    ]
    assert await inmates(world) == before
    status, done = await upload(world, "import", text.encode(), f"digest={preview['digest']}")
    assert status == 200, done
    assert (done["rows"], done["skipped"]) == (2, 2)
    now = await inmates(world)
    assert now["B-1234"] == ("Budi Baru", "C", InmateStatus.CONVICTED)
    assert now["N-1"] == ("Ani", "A", InmateStatus.REMAND)
    assert "X-9" not in now and "B-7" not in now
    [details] = rows(
        world.settings.sqlite_path,
        "SELECT details FROM audit_events WHERE action = 'inmates-imported' ORDER BY seq DESC"
        " LIMIT 1",
    )
    assert json.loads(details[0])["skipped"] == 2


async def test_an_import_that_differs_from_its_preview_is_refused(world: World) -> None:
    """Another file, or other columns, under a preview's digest: 409 and nothing written."""
    _, preview = await upload(world, "preview", EXPORT.encode())
    before = await inmates(world)
    changed = EXPORT.replace("Budi Baru", "Budi Lain").encode()
    status, refused = await upload(world, "import", changed, f"digest={preview['digest']}")
    assert status == 409, refused
    other = "number=No+Registrasi&name=Blok"
    status, refused = await upload(
        world, "import", EXPORT.encode(), f"{other}&digest={preview['digest']}"
    )
    assert status == 409, refused
    assert await inmates(world) == before


async def test_an_xlsx_export_with_released_and_transferred(world: World) -> None:
    """An XLSX sheet goes through the same rows: numbers typed as numbers, and the statuses that
    take an inmate out (released, transferred) counted as such."""
    await Admin(world.store).import_inmates(world.facility_id, "number,name\n77,Dodi\nB-5,Eko\n")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Nomor", "Nama", "Status"])
    sheet.append([77, "Dodi", "bebas"])
    sheet.append(["B-5", "Eko", "pindah"])
    sheet.append(["B-6", "Fajar", None])
    out = io.BytesIO()
    book.save(out)
    status, preview = await upload(world, "preview", out.getvalue())
    assert status == 200, preview
    counts = preview["counts"]
    assert (counts["released"], counts["transferred"], counts["new"]) == (1, 1, 1)
    assert [r["line"] for r in preview["rows"]] == [2, 3, 4]
    status, done = await upload(world, "import", out.getvalue(), f"digest={preview['digest']}")
    assert status == 200 and done["rows"] == 3
    now = await inmates(world)
    assert now["77"][2] is InmateStatus.RELEASED and now["B-5"][2] is InmateStatus.TRANSFERRED


async def test_a_zip_bomb_and_an_oversized_upload_are_refused(world: World) -> None:
    """A zip whose member inflates far past its size is refused from its directory; a file over
    5 MB is refused before it is read whole; neither writes anything."""
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 * 1024 * 1024))
    assert len(bomb.getvalue()) < 1024 * 1024
    status, refused = await upload(world, "preview", bomb.getvalue())
    assert status == 413, refused
    big = b"number,name\n" + b"X-1,Budi\n" * (6 * 1024 * 1024 // 9)
    status, refused = await upload(world, "preview", big)
    assert status == 413, refused
    status, refused = await upload(world, "preview", b"PK\x03\x04not a zip at all")
    assert status == 400, refused


# --- staff accounts ---


async def test_an_admin_creates_an_officer_who_can_then_log_in(world: World) -> None:
    """Created, listed, its password reset (the old one no longer works), then disabled (no
    login at all); each change audited with the admin."""
    admin = bearer(world, Role.ADMIN, sub="s_admin")
    account = {
        "username": "petugas2",
        "role": "officer",
        "password": PASSWORD,
        "facility_id": world.facility_id,
    }
    status, made = await call(world, "POST", "/api/v1/staff", account, admin)
    assert status == 201, made
    login = {"username": "petugas2", "password": PASSWORD}
    assert (await call(world, "POST", "/api/v1/auth/login", login))[0] == 200
    answer = (await call(world, "GET", "/api/v1/staff", None, admin))[1]
    assert {"username": "petugas2", "disabled": False}.items() <= answer["staff"][0].items()
    assert {"id": world.facility_id, "name": "Lapas Cilegon"} in answer["facilities"]
    new = {"password": "another-long-secret"}
    path = f"/api/v1/staff/{made['id']}/password"
    assert (await call(world, "POST", path, new, admin))[0] == 200
    assert (await call(world, "POST", "/api/v1/auth/login", login))[0] == 401
    login["password"] = new["password"]
    assert (await call(world, "POST", "/api/v1/auth/login", login))[0] == 200
    path = f"/api/v1/staff/{made['id']}/disable"
    assert (await call(world, "POST", path, {"reason": "pindah tugas"}, admin))[0] == 200
    assert (await call(world, "POST", "/api/v1/auth/login", login))[0] != 200
    actions = rows(
        world.settings.sqlite_path,
        "SELECT action, actor_id FROM audit_events WHERE action LIKE 'staff-%' ORDER BY seq",
    )
    assert actions == [
        ("staff-created", "s_admin"),
        ("staff-password-reset", "s_admin"),
        ("staff-disabled", "s_admin"),
    ]
    assert PASSWORD not in str(rows(world.settings.sqlite_path, "SELECT details FROM audit_events"))


@pytest.mark.parametrize("role", [Role.OFFICER, Role.AUDITOR])
async def test_only_an_admin_manages_staff(world: World, role: Role) -> None:
    headers = bearer(world, role, world.facility_id)
    assert (await call(world, "GET", "/api/v1/staff", None, headers))[0] == 403
    account = {"username": "x1", "role": "admin", "password": PASSWORD}
    assert (await call(world, "POST", "/api/v1/staff", account, headers))[0] == 403
    assert await world.store.get_staff_by_username("x1") is None


async def test_a_facility_admin_manages_its_own_facility_only(world: World) -> None:
    """An admin of one facility cannot make an account of every facility or another one."""
    admin = bearer(world, Role.ADMIN, world.facility_id)
    for facility in ("", "f_other"):
        account = {"username": "x2", "role": "admin", "password": PASSWORD, "facility_id": facility}
        status, _ = await call(world, "POST", "/api/v1/staff", account, admin)
        assert status == 404
    assert await world.store.get_staff_by_username("x2") is None
