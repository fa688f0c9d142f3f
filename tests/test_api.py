"""The REST API over real HTTP: logins, family links, the auditor's read-only view, typed errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import ClientResponse

from services.admin.provision import Admin
from services.audit.chain import AuditEvent
from services.booking.scheduling import GuestSpec, ScheduledVisit
from services.domain.model import Role, VisitKind, Visitor
from services.ids import Actor, VisitorId
from signaling.app import TOKENS
from tests.helpers.audit import rows, tamper
from tests.helpers.world import World

PASSWORD = "correct horse battery"
NIK = "3201234567890123"


async def _json(resp: ClientResponse) -> Any:
    assert resp.content_type == "application/json", await resp.text()
    return json.loads(await resp.text())


async def _error(resp: ClientResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is a typed error with this status (and code)."""
    body = await _json(resp)
    assert resp.status == status, body
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str)
    if code is not None:
        assert body["error"]["code"] == code, body
    assert "Traceback" not in json.dumps(body)
    return body["error"]


@pytest.fixture
async def staff(world: World) -> dict[str, str]:
    """A bearer token per staff role, signed by the server's own token service (logging in with
    a password is tested on its own below; argon2 makes it slow to repeat in every test)."""
    tokens = {}
    for role in ("officer", "auditor", "admin"):
        tokens[role], _ = world.app[TOKENS].issue(
            sub=f"s_{role}",
            role=Role(role),
            visit="",
            now=world.clock.now(),
            ttl_s=3600,
            facility=world.facility_id,
        )
    return tokens


@pytest.fixture
async def auditor_account(world: World) -> str:
    """A stored auditor account that can log in with PASSWORD; returns its username."""
    await Admin(world.store).staff("auditor1", Role.AUDITOR, PASSWORD, world.facility_id)
    return "auditor1"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _count(world: World) -> int:
    return int(rows(world.settings.sqlite_path, "SELECT count(*) FROM audit_events")[0][0])


# ---- login and join ---------------------------------------------------------------------------


async def test_login_with_the_right_password_gives_a_working_token(
    world: World, auditor_account: str
) -> None:
    """A good login returns the role and a bearer token that the API accepts."""
    resp = await world.client.post(
        "/api/v1/auth/login", json={"username": "auditor1", "password": PASSWORD}
    )
    body = await _json(resp)
    assert resp.status == 200 and body["role"] == "auditor" and body["staff_id"]
    check = await world.client.get("/api/v1/audit/verify", headers=_auth(body["token"]))
    assert check.status == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [("auditor1", "wrong password"), ("nobody", PASSWORD), ("auditor1", "")],
)
async def test_login_with_bad_credentials_is_401(
    world: World, auditor_account: str, username: str, password: str
) -> None:
    """A wrong password or an unknown user gets the same 401, and no token."""
    resp = await world.client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    err = await _error(resp, 401, "unauthorized")
    assert err["message"] == "wrong username or password"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "auditor1"},
        {"username": 5, "password": "x"},
        {"username": ["a"], "password": {"b": 1}},
    ],
)
async def test_login_with_missing_or_mistyped_fields_is_400(
    world: World, body: dict[str, Any]
) -> None:
    """Login fields must be strings; anything else is a typed 400."""
    resp = await world.client.post("/api/v1/auth/login", json=body)
    await _error(resp, 400, "bad_request")


async def test_join_with_a_good_link_returns_a_visit_token(world: World) -> None:
    """The family's link secret buys a token for its own seat in that visit."""
    scheduled = await world.schedule()
    (family,) = [p for p in scheduled.visit.participants if p.role is Role.FAMILY]
    resp = await world.client.post("/api/v1/join", json={"link": scheduled.links[family.id]})
    body = await _json(resp)
    assert resp.status == 200
    assert body["you"] == {"id": family.id, "role": "family"}
    assert body["visit"]["id"] == scheduled.visit.id
    claims = world.app[TOKENS].decode(body["token"], world.clock.now())
    assert claims.visit == scheduled.visit.id and claims.role is Role.FAMILY
    assert claims.exp <= scheduled.visit.end + world.settings.token_grace_s


@pytest.mark.parametrize("link", ["garbage", "x" * 43, "A" * 128, "x" * 5000])
async def test_join_with_a_garbage_link_is_401(world: World, link: str) -> None:
    """A link that is not one we issued is refused with 401."""
    await world.schedule()
    resp = await world.client.post("/api/v1/join", json={"link": link})
    await _error(resp, 401, "unauthorized")


@pytest.mark.parametrize("body", [{}, {"link": 12345}, {"link": None}, {"link": ["a"]}])
async def test_join_without_a_string_link_is_400(world: World, body: dict[str, Any]) -> None:
    """The link must be a string."""
    resp = await world.client.post("/api/v1/join", json=body)
    await _error(resp, 400, "bad_request")


# ---- the auditor's view -----------------------------------------------------------------------


async def _two_visits(world: World) -> tuple[ScheduledVisit, ScheduledVisit]:
    """Visit A scheduled then cancelled; visit B scheduled for another inmate an hour later."""
    first = await world.schedule(start_in=600)
    await world.visits.cancel(first.visit.id, Actor(Role.OFFICER, "s_test"), "ill")
    await Admin(world.store).import_inmates(world.facility_id, "number,name\nB-9999,Joko\n")
    other = await world.store.find_inmate(world.facility_id, "B-9999")
    assert other is not None
    old = world.inmate_id
    world.inmate_id = other.id
    try:
        second = await world.schedule(start_in=3600)
    finally:
        world.inmate_id = old
    return first, second


async def _search(world: World, token: str, **params: Any) -> tuple[int, Any]:
    resp = await world.client.get(
        "/api/v1/audit/events", headers=_auth(token), params={k: str(v) for k, v in params.items()}
    )
    return resp.status, await _json(resp)


@pytest.mark.parametrize("name", ["visit", "inmate", "action", "facility", "terminal"])
async def test_auditor_search_filter_returns_exactly_the_matches(
    world: World, staff: dict[str, str], name: str
) -> None:
    """Each search filter returns the rows it names and no others, oldest first."""
    first, second = await _two_visits(world)
    db = world.settings.sqlite_path
    table = rows(db, "SELECT seq, facility_id, visit_id, action FROM audit_events ORDER BY seq")
    both = {first.visit.id, second.visit.id}
    params, wanted = {
        "visit": ({"visit": first.visit.id}, [s for s, _, v, _ in table if v == first.visit.id]),
        "inmate": (
            {"inmate": second.visit.inmate_id},
            [s for s, _, v, _ in table if v == second.visit.id],
        ),
        "action": ({"action": "cancelled"}, [s for s, _, _, a in table if a == "cancelled"]),
        "facility": (
            {"facility": world.facility_id},
            [s for s, f, _, _ in table if f == world.facility_id],
        ),
        "terminal": ({"terminal": world.terminal.id}, [s for s, _, v, _ in table if v in both]),
    }[name]
    status, body = await _search(world, staff["auditor"], **params)
    assert status == 200
    assert [e["seq"] for e in body["events"]] == wanted and wanted


async def test_auditor_search_by_time_range(world: World, staff: dict[str, str]) -> None:
    """``since_ms`` includes its bound, ``until_ms`` excludes it."""
    base = world.clock.now()
    recs = await world.store.append(
        [
            AuditEvent("notice", "admin", "cli", world.facility_id, "", {"i": i}, ts=base + i * 10)
            for i in range(5)
        ]
    )
    since, until = recs[1].ts_ms, recs[4].ts_ms
    status, body = await _search(
        world, staff["auditor"], since_ms=since, until_ms=until, action="notice"
    )
    assert status == 200 and [e["seq"] for e in body["events"]] == [r.seq for r in recs[1:4]]


async def test_auditor_search_by_visitor(world: World, staff: dict[str, str]) -> None:
    """The visitor filter finds the visits a registered visitor took part in."""
    visitor, scheduled = await _visit_with_a_registered_visitor(world)
    await world.schedule(start_in=7200)  # someone else's visit
    status, body = await _search(world, staff["auditor"], visitor=visitor.id)
    assert status == 200
    assert {e["visit_id"] for e in body["events"]} == {scheduled.visit.id}


async def _visit_with_a_registered_visitor(world: World) -> tuple[Visitor, ScheduledVisit]:
    """Siti, registered with NIK and phone, as the family guest of a visit a minute away."""
    visitor = await Admin(world.store).visitor("Siti", NIK, "081234567890")
    scheduled = await world.visits.schedule(
        terminal_id=world.terminal.id,
        inmate_id=world.inmate_id,
        kind=VisitKind.REGULAR,
        start=world.clock.now() + 60,
        guests=[GuestSpec(Role.FAMILY, "Siti", VisitorId(visitor.id))],
        actor=Actor(Role.OFFICER, "s"),
    )
    return visitor, scheduled


async def test_auditor_pages_through_everything_with_next_after(
    world: World, staff: dict[str, str]
) -> None:
    """Following ``next_after`` with a small limit visits every row once, then stops; each page
    read is itself recorded (and found by the later pages)."""
    await world.store.append(
        [AuditEvent("notice", "admin", "cli", world.facility_id, "", {"i": i}) for i in range(23)]
    )
    sql = "SELECT seq FROM audit_events WHERE facility_id = ?"  # not the node's own starts
    every = [r[0] for r in rows(world.settings.sqlite_path, sql, (world.facility_id,))]
    seen: list[int] = []
    reads: list[dict[str, Any]] = []
    after: int | None = 0
    pages = 0
    while after is not None:
        status, body = await _search(world, staff["auditor"], limit=7, after=after)
        assert status == 200 and len(body["events"]) <= 7
        seen += [e["seq"] for e in body["events"] if e["action"] != "audit-read"]
        reads += [e for e in body["events"] if e["action"] == "audit-read"]
        after = body["next_after"]
        pages += 1
        assert pages < 50
    assert seen == sorted(every) and len(every) > 23
    assert reads and all(r["details"]["read"] == "search" for r in reads)


async def test_last_partial_page_has_no_next_after(world: World, staff: dict[str, str]) -> None:
    """A page shorter than the limit is the last one."""
    status, body = await _search(world, staff["auditor"], limit=1000)
    assert status == 200 and body["next_after"] is None and body["events"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"after": "-1"},
        {"since_ms": "yesterday"},
        {"visit": "v" * 65},
    ],
)
async def test_bad_search_parameters_are_400(
    world: World, staff: dict[str, str], params: dict[str, str]
) -> None:
    """Search parameters are validated: typed 400, never a 500."""
    resp = await world.client.get(
        "/api/v1/audit/events", headers=_auth(staff["auditor"]), params=params
    )
    await _error(resp, 400, "bad_request")


async def test_auditor_reads_one_visits_timeline(world: World, staff: dict[str, str]) -> None:
    """A visit's timeline lists its events in order, with the visit's current state."""
    first, _ = await _two_visits(world)
    resp = await world.client.get(
        f"/api/v1/audit/visits/{first.visit.id}", headers=_auth(staff["auditor"])
    )
    body = await _json(resp)
    assert resp.status == 200
    assert body["visit"]["status"] == "cancelled"
    assert [e["action"] for e in body["timeline"]] == ["scheduled", "cancelled"]
    assert all(e["visit_id"] == first.visit.id for e in body["timeline"])


async def test_timeline_of_an_unknown_visit_is_404(world: World, staff: dict[str, str]) -> None:
    """An unknown visit id is a typed 404."""
    resp = await world.client.get("/api/v1/audit/visits/v_nope", headers=_auth(staff["auditor"]))
    await _error(resp, 404, "not_found")


async def test_auditor_verifies_a_clean_log(world: World, staff: dict[str, str]) -> None:
    """Verify over REST reports an intact chain and counts every event (but the verify's own
    record, written after it counted)."""
    await _two_visits(world)
    resp = await world.client.get("/api/v1/audit/verify", headers=_auth(staff["auditor"]))
    body = await _json(resp)
    sql = "SELECT count(*) FROM audit_events WHERE facility_id = ?"  # the node's own aside
    ((mine,),) = rows(world.settings.sqlite_path, sql, (world.facility_id,))
    assert resp.status == 200 and body["ok"] is True and body["events"] == mine - 1


async def test_auditor_verify_names_a_tampered_row(world: World, staff: dict[str, str]) -> None:
    """After a row is edited behind the server's back, verify reports it by seq."""
    await _two_visits(world)
    target = _count(world) - 1
    tamper(
        world.settings.sqlite_path,
        ("UPDATE audit_events SET details = '{}' WHERE seq = ?", (target,)),
    )
    resp = await world.client.get("/api/v1/audit/verify", headers=_auth(staff["auditor"]))
    body = await _json(resp)
    assert resp.status == 200 and body["ok"] is False and body["first_bad_seq"] == target


async def test_audit_responses_hold_no_unmasked_nik(world: World, staff: dict[str, str]) -> None:
    """A registered visitor's NIK and phone appear nowhere in what an auditor can read."""
    _, scheduled = await _visit_with_a_registered_visitor(world)
    texts = []
    for path in (
        "/api/v1/audit/events",
        f"/api/v1/audit/visits/{scheduled.visit.id}",
        f"/api/v1/visits/{scheduled.visit.id}",
    ):
        resp = await world.client.get(path, headers=_auth(staff["auditor"]))
        assert resp.status == 200
        texts.append(await resp.text())
    assert all(NIK not in t and "081234567890" not in t for t in texts)


async def test_officer_cannot_read_the_audit_log(world: World, staff: dict[str, str]) -> None:
    """Reading the audit log is for auditors and admins."""
    resp = await world.client.get("/api/v1/audit/events", headers=_auth(staff["officer"]))
    await _error(resp, 403, "forbidden")


# ---- writes: who may, who may not -------------------------------------------------------------


def _writes(visit_id: str, world: World) -> list[tuple[str, dict[str, Any] | None]]:
    new_visit = {
        "terminal_id": world.terminal.id,
        "inmate_id": world.inmate_id,
        "start_ms": int((world.clock.now() + 7200) * 1000),
        "guests": [{"role": "family", "name": "Siti"}],
    }
    return [
        ("/api/v1/visits", new_visit),
        (f"/api/v1/visits/{visit_id}/cancel", {"reason": "x"}),
        (f"/api/v1/visits/{visit_id}/terminate", {"reason": "x"}),
        (f"/api/v1/visits/{visit_id}/monitor", None),
    ]


@pytest.mark.parametrize("which", range(4), ids=["create", "cancel", "terminate", "monitor"])
async def test_auditor_gets_403_on_every_write(
    world: World, staff: dict[str, str], which: int
) -> None:
    """An auditor's token is refused on each write endpoint, and nothing changes."""
    scheduled = await world.schedule(start_in=600)
    before = _count(world)
    path, body = _writes(scheduled.visit.id, world)[which]
    resp = await world.client.post(path, json=body, headers=_auth(staff["auditor"]))
    await _error(resp, 403, "forbidden")
    visit = await world.store.get_visit(scheduled.visit.id)
    assert visit is not None and visit.status.value == "scheduled"
    assert _count(world) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/audit/events"),
        ("GET", "/api/v1/audit/visits/v_x"),
        ("GET", "/api/v1/audit/verify"),
        ("GET", "/api/v1/visits/v_x"),
        ("POST", "/api/v1/visits"),
        ("POST", "/api/v1/visits/v_x/cancel"),
        ("POST", "/api/v1/visits/v_x/terminate"),
        ("POST", "/api/v1/visits/v_x/monitor"),
    ],
)
async def test_no_token_is_401(world: World, method: str, path: str) -> None:
    """Every staff endpoint wants a bearer token."""
    resp = await world.client.request(method, path, json={})
    await _error(resp, 401, "unauthorized")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-jwt",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer ",
        "Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYWRtaW4ifQ.",
    ],
)
async def test_bad_authorization_header_is_401(world: World, header: str) -> None:
    """A malformed, foreign-scheme or unsigned token is refused."""
    resp = await world.client.get("/api/v1/audit/events", headers={"Authorization": header})
    await _error(resp, 401)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/audit/events"),
        ("GET", "/api/v1/audit/verify"),
        ("GET", "/api/v1/visits/{v}"),
        ("POST", "/api/v1/visits/{v}/cancel"),
    ],
)
async def test_visit_token_is_403_on_staff_endpoints(world: World, method: str, path: str) -> None:
    """A family's visit token opens its own visit's websocket, not the staff API."""
    scheduled = await world.schedule(start_in=600)
    token = await world.token(scheduled, Role.FAMILY)
    resp = await world.client.request(
        method, path.format(v=scheduled.visit.id), json={}, headers=_auth(token)
    )
    await _error(resp, 403, "forbidden")


async def test_revoked_staff_token_is_401(world: World, staff: dict[str, str]) -> None:
    """A revoked token stops working at once."""
    claims = world.app[TOKENS].decode(staff["auditor"], world.clock.now())
    await world.store.revoke(
        claims.jti, claims.exp, AuditEvent("token-revoked", "admin", "cli", "", "", {})
    )
    resp = await world.client.get("/api/v1/audit/events", headers=_auth(staff["auditor"]))
    await _error(resp, 401, "token_revoked")


async def test_officer_schedules_a_visit(world: World, staff: dict[str, str]) -> None:
    """The create endpoint works for an officer: 201, the visit, its links, and its audit event."""
    path, body = _writes("-", world)[0]
    resp = await world.client.post(path, json=body, headers=_auth(staff["officer"]))
    out = await _json(resp)
    assert resp.status == 201 and out["status"] == "scheduled"
    assert len(out["links"]) == 1 and all("/v/" in link for link in out["links"].values())
    table = rows(
        world.settings.sqlite_path,
        "SELECT action, actor_role FROM audit_events WHERE visit_id = ?",
        (out["id"],),
    )
    assert table == [("scheduled", "officer")]


# ---- malformed input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2]", b'"a string"', b"\xff\xfe", b'{"a": 1', b"null"]
)
async def test_malformed_json_is_400(world: World, raw: bytes) -> None:
    """A body that is not a JSON object is a typed 400."""
    resp = await world.client.post(
        "/api/v1/auth/login", data=raw, headers={"Content-Type": "application/json"}
    )
    await _error(resp, 400, "bad_request")


@pytest.mark.parametrize(
    "change",
    [
        {"start_ms": "tomorrow"},
        {"start_ms": 1.5},
        {"start_ms": True},
        {"start_ms": -5},
        {"kind": "picnic"},
        {"kind": ["regular"]},
        {"guests": "Siti"},
        {"guests": []},
        {"guests": [{"role": "officer", "name": "x"}]},
        {"guests": [{"role": "family"}]},
        {"guests": ["Siti"]},
        {"guests": [{"role": "family", "name": "S", "visitor_id": 5}]},
        {"terminal_id": 7},
        {"inmate_id": None},
        {"length_s": "long"},
        {"length_s": 10},
        {"terminal_id": "t" * 65},
        {"start_ms": 2**62},
        {"start_ms": 1_000},
        {"start_ms": 1_800_000_000_000 - 2 * 3_600_000},
        {"start_ms": 1_800_000_000_000 + 400 * 86_400_000},
    ],
)
async def test_wrong_types_on_create_are_400_and_create_nothing(
    world: World, staff: dict[str, str], change: dict[str, Any]
) -> None:
    """Each malformed field of a new visit is a typed 400; no visit and no event is written."""
    _, body = _writes("-", world)[0]
    assert body is not None
    before = _count(world)
    resp = await world.client.post(
        "/api/v1/visits", json={**body, **change}, headers=_auth(staff["officer"])
    )
    await _error(resp, 400, "bad_request")
    assert _count(world) == before
    assert rows(world.settings.sqlite_path, "SELECT count(*) FROM visits") == [(0,)]


async def test_unknown_terminal_on_create_is_404(world: World, staff: dict[str, str]) -> None:
    """A well-formed request naming a terminal that does not exist is a typed 404."""
    _, body = _writes("-", world)[0]
    assert body is not None
    resp = await world.client.post(
        "/api/v1/visits", json={**body, "terminal_id": "t_none"}, headers=_auth(staff["officer"])
    )
    await _error(resp, 404, "not_found")


async def test_overlapping_visit_is_409(world: World, staff: dict[str, str]) -> None:
    """A second visit on the same terminal at the same time is a typed 409 conflict."""
    _, body = _writes("-", world)[0]
    first = await world.client.post("/api/v1/visits", json=body, headers=_auth(staff["officer"]))
    assert first.status == 201
    again = await world.client.post("/api/v1/visits", json=body, headers=_auth(staff["officer"]))
    await _error(again, 409, "conflict")


async def test_oversized_body_is_413(world: World) -> None:
    """A body over 64 KiB is refused with a typed 413."""
    big = json.dumps({"username": "a" * 70_000, "password": "x"})
    resp = await world.client.post(
        "/api/v1/auth/login", data=big, headers={"Content-Type": "application/json"}
    )
    await _error(resp, 413, "too_large")


async def test_oversized_chunked_body_is_413(world: World) -> None:
    """A big body sent without a Content-Length is refused the same way."""

    async def chunks() -> Any:
        for _ in range(20):
            yield b" " * 8192

    resp = await world.client.post(
        "/api/v1/join", data=chunks(), headers={"Content-Type": "application/json"}
    )
    await _error(resp, 413, "too_large")


async def test_unknown_route_is_a_json_404(world: World) -> None:
    """An unknown API path answers with the typed error body, not HTML."""
    resp = await world.client.get("/api/v1/no-such-thing")
    await _error(resp, 404, "not_found")


async def test_wrong_method_is_a_json_405(world: World) -> None:
    """A known path with the wrong method answers 405 with the typed error body."""
    resp = await world.client.delete("/api/v1/audit/events")
    await _error(resp, 405, "method_not_allowed")


# ---- health and the API document --------------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/healthz", "ok"), ("/readyz", "ready")])
async def test_health_endpoints(world: World, path: str, status: str) -> None:
    """Liveness and readiness answer 200 with a JSON status."""
    resp = await world.client.get(path)
    body = await _json(resp)
    assert resp.status == 200 and body["status"] == status


async def test_openapi_lists_every_route(world: World) -> None:
    """The OpenAPI document is JSON and describes every route the server has, with its method,
    and nothing it does not serve; only the pages and their static files are left out."""
    from aiohttp import web

    from services.http.pages import FAMILY_PAGES, STAFF_PAGES

    resp = await world.client.get("/api/v1/openapi.json")
    doc = await _json(resp)
    assert resp.status == 200 and doc["openapi"].startswith("3.")
    served = {
        (r.method.lower(), r.resource.canonical)
        for r in world.app.router.routes()
        if r.resource is not None
        and not isinstance(r.resource, web.StaticResource)
        and not r.resource.canonical.startswith(("/v/", "/static/"))
        and r.resource.canonical not in FAMILY_PAGES
        and r.resource.canonical not in STAFF_PAGES
        and r.method != "HEAD"
    }
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert ("post", "/api/v1/visits") in served and ("get", "/ws") in served
    assert served == documented


def _expected_type(hint: Any) -> str:
    """The JSON schema type a request field's annotation stands for."""
    import dataclasses
    import enum
    import types
    import typing

    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType):
        (hint,) = args
    if typing.get_origin(hint) in (list, tuple):
        return "array"
    if isinstance(hint, type) and issubclass(hint, enum.Enum | str):
        return "string"
    if dataclasses.is_dataclass(hint):
        return "object"  # a nested body
    return {int: "integer", bool: "boolean"}[hint]


async def test_openapi_request_schemas_match_the_body_types(world: World) -> None:
    """Each operation that takes a body documents the schema of the very type its handler
    parses: the same fields, the same required ones, and each field's JSON type (nested bodies
    too)."""
    import dataclasses
    import typing

    from services.http.fields import rules
    from services.http.routes import ROUTES

    doc = await _json(await world.client.get("/api/v1/openapi.json"))
    schemas = doc["components"]["schemas"]
    bodies = [r for r in ROUTES if r.body is not None]
    assert {r.body.__name__ for r in bodies if r.body} >= {"Login", "Join", "NewVisit", "Reason"}
    seen: list[type] = [r.body for r in bodies if r.body is not None]
    for body_type in seen:
        schema = schemas[body_type.__name__]
        hints = typing.get_type_hints(body_type)
        fields = [f.name for f in dataclasses.fields(body_type)]
        assert list(schema["properties"]) == fields, body_type
        required = [name for name, rule in rules(body_type).items() if rule.required]
        assert schema.get("required", []) == required, body_type
        for name in fields:
            assert schema["properties"][name]["type"] == _expected_type(hints[name]), name
            items = schema["properties"][name].get("items", {}).get("$ref", "")
            nested = typing.get_args(hints[name])[:1]
            if items and nested[0] not in seen:
                assert items.endswith("/" + nested[0].__name__)
                seen.append(nested[0])
    for route in bodies:
        op = doc["paths"][route.path][route.method.lower()]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{route.body.__name__}"
        assert op["requestBody"]["required"] is route.body_required


@pytest.mark.parametrize("body", [{"reason": 5}, {"reason": ["x"]}, {"reason": "x" * 201}])
async def test_cancel_with_a_bad_reason_is_400_and_cancels_nothing(
    world: World, staff: dict[str, str], body: dict[str, Any]
) -> None:
    """The cancel reason is validated like every other field; the visit stays scheduled."""
    scheduled = await world.schedule(start_in=600)
    resp = await world.client.post(
        f"/api/v1/visits/{scheduled.visit.id}/cancel", json=body, headers=_auth(staff["officer"])
    )
    await _error(resp, 400, "bad_request")
    visit = await world.store.get_visit(scheduled.visit.id)
    assert visit is not None and visit.status.value == "scheduled"


async def test_officer_cancels_a_visit_with_its_reason(world: World, staff: dict[str, str]) -> None:
    """A cancel by an officer ends the visit `cancelled` and logs the reason."""
    scheduled = await world.schedule(start_in=600)
    resp = await world.client.post(
        f"/api/v1/visits/{scheduled.visit.id}/cancel",
        json={"reason": "family asked"},
        headers=_auth(staff["officer"]),
    )
    body = await _json(resp)
    assert resp.status == 200 and body["status"] == "cancelled"
    assert body["end_reason"] == "cancelled"
    assert rows(
        world.settings.sqlite_path,
        "SELECT details FROM audit_events WHERE visit_id = ? AND action = 'cancelled'",
        (scheduled.visit.id,),
    ) == [('{"why":"family asked"}',)]


async def test_openapi_refs_resolve_and_path_parameters_are_declared(world: World) -> None:
    """Every `$ref` points at a component that exists, and every `{param}` of a path is declared
    as a required path parameter of each of its operations."""
    doc = await _json(await world.client.get("/api/v1/openapi.json"))

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if "$ref" in node else []
            return own + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(doc):
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
    for path, ops in doc["paths"].items():
        names = {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}
        for op in ops.values():
            declared = {
                p["name"] for p in op.get("parameters", []) if p["in"] == "path" and p["required"]
            }
            assert names <= declared, (path, names, declared)


async def test_unexpected_error_is_a_typed_500_and_logs_no_link_secret(
    aiohttp_client: Any,
) -> None:
    """A handler that crashes gives the client a bare typed 500 (no trace, no exception text);
    the log line names the path without the family link's secret."""
    from aiohttp import web
    from structlog.testing import capture_logs

    from services.http.plumbing import errors_middleware

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals 3201234567890123")

    app = web.Application(middlewares=[errors_middleware])
    app.router.add_get("/v/{link}", crash)
    client = await aiohttp_client(app)
    with capture_logs() as logs:
        resp = await client.get("/v/THE-LINK-SECRET-abcdefghijklmnop")
        text = await resp.text()
    err = await _error(resp, 500, "internal")
    assert err["message"] == "internal error"
    assert "secret internals" not in text and "RuntimeError" not in text
    assert [e["event"] for e in logs] == ["http.unhandled"]
    assert "THE-LINK-SECRET" not in repr(logs)


async def test_unknown_visitor_on_create_is_404(world: World, staff: dict[str, str]) -> None:
    """A guest naming a visitor id that is not registered is a typed 404, and nothing is made."""
    _, body = _writes("-", world)[0]
    assert body is not None
    guests = [{"role": "family", "name": "Siti", "visitor_id": "vis_nope"}]
    resp = await world.client.post(
        "/api/v1/visits", json={**body, "guests": guests}, headers=_auth(staff["officer"])
    )
    await _error(resp, 404, "not_found")
    assert rows(world.settings.sqlite_path, "SELECT count(*) FROM visits") == [(0,)]


async def test_verify_over_rest_reports_a_dropped_table(
    world: World, staff: dict[str, str]
) -> None:
    """A dropped checkpoint table is a failed verification (200, ok false), not a 500."""
    tamper(world.settings.sqlite_path, ("DROP TABLE audit_checkpoints", ()))
    resp = await world.client.get("/api/v1/audit/verify", headers=_auth(staff["auditor"]))
    body = await _json(resp)
    assert resp.status == 200 and body["ok"] is False and "unreadable" in body["problem"]


async def test_readyz_is_503_when_the_store_is_gone(world: World) -> None:
    """Readiness follows the database: with the store closed, /readyz answers 503 in JSON while
    /healthz (the process) still answers 200."""
    await world.store.aclose()
    ready = await world.client.get("/readyz")
    assert ready.status == 503 and (await _json(ready))["status"] != "ready"
    assert (await world.client.get("/healthz")).status == 200


# ---- facility scope ---------------------------------------------------------------------------


async def _other_facility(world: World) -> ScheduledVisit:
    """A second facility with its own terminal, inmate and one scheduled visit."""
    admin = Admin(world.store)
    facility = await admin.facility("Rutan Lain", facility_id="f_other")
    room = await admin.room(facility.id, "Ruang A")
    terminal, _ = await admin.terminal(room.id, "PC A", "http://test")
    await admin.import_inmates(facility.id, "number,name\nX-1,Andi\n")
    inmate = await world.store.find_inmate(facility.id, "X-1")
    assert inmate is not None
    return await world.visits.schedule(
        terminal_id=terminal.id,
        inmate_id=inmate.id,
        kind=VisitKind.REGULAR,
        start=world.clock.now() + 600,
        guests=[GuestSpec(Role.FAMILY, "Ani")],
        actor=Actor(Role.OFFICER, "s_other"),
    )


def _unscoped(world: World, role: Role) -> str:
    token, _ = world.app[TOKENS].issue(
        sub=f"s_{role.value}_all", role=role, visit="", now=world.clock.now(), ttl_s=3600
    )
    return token


async def test_facility_auditor_searches_only_their_facility(
    world: World, staff: dict[str, str]
) -> None:
    """An auditor bound to a facility gets only that facility's events, even unfiltered."""
    await world.schedule(start_in=600)
    other = await _other_facility(world)
    status, body = await _search(world, staff["auditor"], limit=1000)
    assert status == 200 and body["events"]
    assert {e["facility_id"] for e in body["events"]} == {world.facility_id}
    assert other.visit.id not in {e["visit_id"] for e in body["events"]}


async def test_facility_auditor_asking_for_another_facility_is_403(
    world: World, staff: dict[str, str]
) -> None:
    """Asking for another facility's log is refused outright."""
    await _other_facility(world)
    resp = await world.client.get(
        "/api/v1/audit/events", params={"facility": "f_other"}, headers=_auth(staff["auditor"])
    )
    await _error(resp, 403, "forbidden")


@pytest.mark.parametrize("path", ["/api/v1/audit/visits/{v}", "/api/v1/visits/{v}"])
async def test_another_facilitys_visit_is_not_found(
    world: World, staff: dict[str, str], path: str
) -> None:
    """A visit of another facility reads as "no such visit" to a facility's auditor."""
    other = await _other_facility(world)
    resp = await world.client.get(path.format(v=other.visit.id), headers=_auth(staff["auditor"]))
    await _error(resp, 404, "not_found")


@pytest.mark.parametrize("action", ["cancel", "terminate", "monitor"])
async def test_officer_cannot_act_on_another_facilitys_visit(
    world: World, staff: dict[str, str], action: str
) -> None:
    """An officer bound to a facility cannot cancel, end or watch a visit elsewhere."""
    other = await _other_facility(world)
    resp = await world.client.post(
        f"/api/v1/visits/{other.visit.id}/{action}",
        json={"reason": "x"} if action == "terminate" else {},
        headers=_auth(staff["officer"]),
    )
    await _error(resp, 404, "not_found")
    visit = await world.store.get_visit(other.visit.id)
    assert visit is not None and visit.status.value == "scheduled"


async def test_officer_cannot_book_another_facilitys_terminal(
    world: World, staff: dict[str, str]
) -> None:
    """Scheduling on a terminal of another facility is "no such terminal", and nothing is made."""
    other = await _other_facility(world)
    _, body = _writes("-", world)[0]
    assert body is not None
    before = _count(world)
    resp = await world.client.post(
        "/api/v1/visits",
        headers=_auth(staff["officer"]),
        json={**body, "terminal_id": other.visit.terminal_id, "inmate_id": other.visit.inmate_id},
    )
    await _error(resp, 404, "not_found")
    assert _count(world) == before


async def test_staff_without_a_facility_see_every_facility(world: World) -> None:
    """An auditor not bound to a facility reads every facility's events and visits."""
    await world.schedule(start_in=600)
    other = await _other_facility(world)
    token = _unscoped(world, Role.AUDITOR)
    status, body = await _search(world, token, limit=1000)
    assert status == 200
    assert {e["facility_id"] for e in body["events"]} >= {world.facility_id, "f_other"}
    resp = await world.client.get(f"/api/v1/audit/visits/{other.visit.id}", headers=_auth(token))
    assert resp.status == 200


ID_MESSAGE = "is required (a string of at most 64 characters)"
FAMILY = {"role": "family", "name": "Siti"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "party"}, "`kind` must be regular, education or legal"),
        ({"kind": None}, "`kind` must be regular, education or legal"),
        ({"start_ms": True}, "`start_ms` must be a positive integer (ms since the epoch)"),
        ({"start_ms": "1"}, "`start_ms` must be a positive integer (ms since the epoch)"),
        ({"start_ms": 1}, "`start_ms` must lie between an hour ago and a year from now"),
        ({"guests": []}, "`guests` must be a list of 1 to 3 entries"),
        ({"guests": [FAMILY] * 4}, "`guests` must be a list of 1 to 3 entries"),
        ({"guests": [FAMILY, "x"]}, "each guest is an object {role, name, visitor_id?}"),
        ({"guests": [{"role": "officer", "name": "x"}]}, "a guest's role is family or teacher"),
        ({"guests": [{"name": "x"}, 5]}, "a guest's role is family or teacher"),
        ({"guests": [{**FAMILY, "visitor_id": 5}]}, "`visitor_id` must be a string"),
        ({"guests": [{"role": "family", "name": ""}]}, f"`name` {ID_MESSAGE}"),
        ({"length_s": 59}, "`length_s` must be an integer between 60 and 14400"),
        ({"length_s": "600"}, "`length_s` must be an integer between 60 and 14400"),
        ({"terminal_id": "t" * 65}, f"`terminal_id` {ID_MESSAGE}"),
        ({"inmate_id": None}, f"`inmate_id` {ID_MESSAGE}"),
    ],
)
async def test_new_visit_body_errors_name_the_field(
    world: World, staff: dict[str, str], change: dict[str, Any], message: str
) -> None:
    """A malformed new-visit body is a 400 whose message names the first wrong field and what
    it must be; nothing is scheduled."""
    _, body = _writes("-", world)[0]
    assert body is not None
    resp = await world.client.post(
        "/api/v1/visits", json={**body, **change}, headers=_auth(staff["officer"])
    )
    assert (await _error(resp, 400, "bad_request"))["message"] == message
    assert rows(world.settings.sqlite_path, "SELECT count(*) FROM visits") == [(0,)]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/v1/auth/login", {"username": "a"}, "`username` and `password` are required strings"),
        (
            "/api/v1/auth/login",
            {"username": 1, "password": "p"},
            "`username` and `password` are required strings",
        ),
        ("/api/v1/join", {"link": 5}, "`link` is required"),
        ("/api/v1/join", {}, "`link` is required"),
    ],
)
async def test_login_and_join_body_errors(
    world: World, path: str, body: dict[str, Any], message: str
) -> None:
    """Login and link exchange refuse a body without its strings, saying which."""
    resp = await world.client.post(path, json=body)
    assert (await _error(resp, 400, "bad_request"))["message"] == message


@pytest.mark.parametrize("visitor_id", [None, ""])
async def test_new_visit_accepts_defaults_and_empty_optionals(
    world: World, staff: dict[str, str], visitor_id: str | None
) -> None:
    """`kind` defaults to regular; a null `length_s` and a null or empty `visitor_id` mean none."""
    _, body = _writes("-", world)[0]
    assert body is not None
    resp = await world.client.post(
        "/api/v1/visits",
        json={**body, "length_s": None, "guests": [{**FAMILY, "visitor_id": visitor_id}]},
        headers=_auth(staff["officer"]),
    )
    created = await _json(resp)
    assert resp.status == 201 and created["kind"] == "regular", created
    assert len(created["links"]) == 1
