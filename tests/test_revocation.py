"""Revoking shuts people out at once: a token, a participant (whatever link or token it uses) and
a staff account, from the CLI (another process) and from the staff API, open sockets included."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.access.revocation import Revocations
from services.access.tokens import TokenService
from services.admin.provision import Admin
from services.audit.query import AuditQuery
from services.booking.scheduling import GuestSpec, ScheduledVisit
from services.domain.model import Role, VisitKind
from services.ids import Actor, ParticipantId, VisitorId
from services.store.sqlite.migrations import STEPS
from signaling.app import TOKENS
from signaling.transport.socket_index import PRUNE_GRACE_S, RevocationWatch, SocketIndex
from tests.helpers.audit import open_store, run_cli
from tests.helpers.officer import officer, staff_token
from tests.helpers.pair import pair
from tests.helpers.world import KEYS, Peer, World, build_world

PASSWORD = "correct horse battery"
CLI_ENV = {"TATAP_TOKEN_KEYS": ",".join(f"{k}:{v.decode()}" for k, v in KEYS.items())}


async def cli(world: World, *args: str) -> None:
    """``tatap <args>`` as its own process on the world's database; the server keeps running."""
    proc = await asyncio.to_thread(run_cli, world.settings.data_dir, *args, env=CLI_ENV)
    assert proc.returncode == 0, proc.stderr


async def shut_out(peer: Peer, code: str, close: int, within: float) -> None:
    """The socket is told why (`error` with ``code``) and closed with ``close`` in time."""
    started = time.monotonic()
    assert (await peer.until("error", timeout=within))["code"] == code
    assert await peer.closed(timeout=within) == close
    assert time.monotonic() - started < within


def family_seat(scheduled: ScheduledVisit) -> ParticipantId:
    return next(p.id for p in scheduled.visit.participants if p.role is Role.FAMILY)


async def family_in_visit(world: World) -> tuple[Peer, ScheduledVisit, str]:
    """A scheduled visit with its family member's socket seated; returns the socket, the visit
    and the family's token."""
    scheduled = await world.schedule()
    token = await world.token(scheduled, Role.FAMILY)
    fam = await world.connect(token)
    await fam.expect("welcome")
    return fam, scheduled, token


def officer_token(world: World, facility: str | None = None, sub: str = "s_officer") -> str:
    token, _ = world.app[TOKENS].issue(
        sub=sub,
        role=Role.OFFICER,
        visit="",
        now=world.clock.now(),
        ttl_s=3600,
        facility=world.facility_id if facility is None else facility,
    )
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def actions(world: World, action: str) -> list[Any]:
    return await world.store.audit_search(AuditQuery(action=action, limit=100))


# ---- from the CLI, another process: the node's poll closes the sockets ----------------------


async def test_cli_token_revoke_closes_its_open_socket_within_a_second(world: World) -> None:
    """`tatap admin revoke TOKEN` while the token's socket is open: `token_revoked`, close 4401,
    within a second of the command returning."""
    fam, _, token = await family_in_visit(world)
    await cli(world, "admin", "revoke", token)
    await shut_out(fam, "token_revoked", 4401, within=1.0)


async def test_cli_participant_revoke_closes_its_open_socket_within_a_second(
    world: World,
) -> None:
    """`tatap admin revoke --participant ID`: that seat's socket gets `access_revoked` and
    closes 4403 within a second."""
    fam, scheduled, _ = await family_in_visit(world)
    await cli(world, "admin", "revoke", "--participant", family_seat(scheduled))
    await shut_out(fam, "access_revoked", 4403, within=1.0)


async def test_cli_disabled_officer_monitor_socket_closes_within_a_second(
    world: World,
) -> None:
    """`tatap admin staff --disable USER` closes that officer's monitor sockets (4403)."""
    staff = await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    _, _, visit_id = await pair(world)
    mon = await officer(world, visit_id, staff_id=staff.id)
    await mon.expect("welcome")
    await cli(world, "admin", "staff", "--disable", "petugas")
    await shut_out(mon, "access_revoked", 4403, within=1.0)


# ---- a revoked participant stays out, whatever link or token it uses ------------------------


async def test_revoked_participant_link_mints_no_token(world: World) -> None:
    """After a participant is revoked, its link exchange (`/api/v1/join`) answers 403."""
    scheduled = await world.schedule()
    seat = family_seat(scheduled)
    await Revocations(world.store, world.clock).revoke_participant(seat, Actor("admin", "test"))
    resp = await world.client.post("/api/v1/join", json={"link": scheduled.links[seat]})
    body = await resp.json()
    assert resp.status == 403 and body["error"]["code"] == "access_revoked"


async def test_revoked_participant_fresh_token_is_refused_at_hello(world: World) -> None:
    """A token minted for the seat after (or before) its revocation is refused: close 4403."""
    scheduled = await world.schedule()
    await Revocations(world.store, world.clock).revoke_participant(
        family_seat(scheduled), Actor("admin", "test")
    )
    peer = await world.connect(await world.token(scheduled, Role.FAMILY))
    assert (await peer.expect("error"))["code"] == "access_revoked"
    assert await peer.closed() == 4403


async def test_revoking_one_participant_leaves_the_others_in(world: World) -> None:
    """The terminal's socket in the same visit stays open and gets `peer-left`."""
    term, fam, visit_id = await pair(world)
    visit = await world.store.get_visit(visit_id)
    assert visit is not None
    seat = next(p.id for p in visit.participants if p.role is Role.FAMILY)
    resp = await world.client.post(
        f"/api/v1/participants/{seat}/revoke", headers=bearer(officer_token(world))
    )
    assert resp.status == 200
    await shut_out(fam, "access_revoked", 4403, within=1.0)
    assert (await term.until("peer-left"))["peer"]["id"] == seat
    await term.send({"type": "ping", "id": 1})
    assert (await term.until("pong"))["id"] == 1


# ---- the staff API ----------------------------------------------------------------------------


@pytest.fixture
async def slow_poll(tmp_path: Path) -> AsyncIterator[World]:
    """A world whose revocation poll never comes in time: whatever closes, the API closed."""
    async for w in build_world(tmp_path, revocation_poll_s=60.0):
        yield w


async def test_api_participant_revoke_closes_the_socket_at_once(slow_poll: World) -> None:
    """`POST /api/v1/participants/{id}/revoke` by an officer of the facility closes that
    participant's socket on this node without waiting for the poll."""
    world = slow_poll
    fam, scheduled, _ = await family_in_visit(world)
    seat = family_seat(scheduled)
    resp = await world.client.post(
        f"/api/v1/participants/{seat}/revoke",
        json={"reason": "x"},
        headers=bearer(officer_token(world)),
    )
    assert resp.status == 200 and (await resp.json())["participant_id"] == seat
    await shut_out(fam, "access_revoked", 4403, within=0.5)


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("other-facility officer", 404, "not_found"),
        ("auditor", 403, "forbidden"),
        ("family", 403, "forbidden"),
        ("nobody", 401, "unauthorized"),
    ],
)
async def test_api_participant_revoke_refuses_others(
    world: World, who: str, status: int, code: str
) -> None:
    """Only officers of the visit's facility and admins revoke: another facility's officer is
    told there is no such participant; other roles are refused; the seat stays usable."""
    scheduled = await world.schedule()
    seat = family_seat(scheduled)
    tokens = {
        "other-facility officer": officer_token(world, facility="f_other"),
        "auditor": world.app[TOKENS].issue(
            sub="s_a", role=Role.AUDITOR, visit="", now=world.clock.now(), ttl_s=600
        )[0],
        "family": await world.token(scheduled, Role.FAMILY),
    }
    headers = bearer(tokens[who]) if who in tokens else {}
    resp = await world.client.post(f"/api/v1/participants/{seat}/revoke", headers=headers)
    body = await resp.json()
    assert resp.status == status and body["error"]["code"] == code, body
    peer = await world.connect(await world.token(scheduled, Role.FAMILY))
    await peer.expect("welcome")


async def test_api_unknown_participant_is_404(world: World) -> None:
    """Revoking a participant that does not exist is a typed 404 and records nothing."""
    resp = await world.client.post(
        "/api/v1/participants/p_nobody/revoke", headers=bearer(officer_token(world))
    )
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    assert await actions(world, "participant-revoked") == []


# ---- a disabled staff account -----------------------------------------------------------------


async def login(world: World, username: str) -> Any:
    resp = await world.client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    return resp.status, await resp.json()


async def test_disabled_staff_cannot_log_in(world: World) -> None:
    """The right password of a disabled account gets 403 `access_revoked`, and no token."""
    await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    await Revocations(world.store, world.clock).disable_staff("petugas", Actor("admin", "test"))
    status, body = await login(world, "petugas")
    assert status == 403 and body["error"]["code"] == "access_revoked" and "token" not in body


async def test_disabled_staff_old_token_is_refused_by_the_api(world: World) -> None:
    """A staff token issued before the account was disabled no longer opens the API."""
    await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    status, body = await login(world, "petugas")
    assert status == 200
    visit = await world.schedule()
    url = f"/api/v1/visits/{visit.visit.id}"
    assert (await world.client.get(url, headers=bearer(body["token"]))).status == 200
    await Revocations(world.store, world.clock).disable_staff("petugas", Actor("admin", "test"))
    resp = await world.client.get(url, headers=bearer(body["token"]))
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "access_revoked"


async def test_disabled_staff_monitor_token_is_refused_at_hello(world: World) -> None:
    """A monitor token minted before the account was disabled takes no seat: close 4403."""
    staff = await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    scheduled = await world.schedule()
    claims = staff_token(world, staff.id, ttl_s=600)[1]
    monitor = await world.links.monitor_token(claims, scheduled.visit.id)
    await Revocations(world.store, world.clock).disable_staff("petugas", Actor("admin", "test"))
    peer = await world.connect(monitor)
    assert (await peer.expect("error"))["code"] == "access_revoked"
    assert await peer.closed() == 4403


# ---- the audit log ------------------------------------------------------------------------------


async def test_every_revocation_is_an_audit_event(world: World) -> None:
    """A token, a participant and a staff account revoked: one event each, with the actor; a
    repeated revocation records nothing more."""
    staff = await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    scheduled = await world.schedule()
    seat = family_seat(scheduled)
    token = await world.token(scheduled, Role.TERMINAL)
    await cli(world, "admin", "revoke", token)
    await cli(world, "admin", "revoke", "--participant", seat, "--reason", "threats")
    await cli(world, "admin", "revoke", "--participant", seat)
    await cli(world, "admin", "staff", "--disable", "petugas")
    [tok] = await actions(world, "token-revoked")
    [part] = await actions(world, "participant-revoked")
    [dis] = await actions(world, "staff-disabled")
    assert (tok.actor_role, tok.actor_id, tok.visit_id) == ("admin", "cli", scheduled.visit.id)
    assert part.visit_id == scheduled.visit.id and part.facility_id == world.facility_id
    assert part.to_json()["details"] == {"participant": seat, "role": "family", "reason": "threats"}
    assert dis.to_json()["details"]["staff"] == staff.id


# ---- the CLI's refusals and the migration ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("admin", "revoke"), "either a token, --participant ID or --visitor ID"),
        (("admin", "revoke", "tok", "--participant", "p_1"), "either a token, --participant"),
        (("admin", "revoke", "--participant", "p_1", "--visitor", "vis_1"), "either a token"),
        (("admin", "revoke", "--visitor", "vis_nobody"), "no such visitor"),
        (("admin", "revoke", "--participant", "p_nobody"), "no such participant"),
        (("admin", "revoke", "not-a-token"), "token"),
        (("admin", "staff", "--disable", "nobody"), "no such staff user"),
        (("admin", "staff", "--enable", "nobody"), "no such staff user"),
        (
            ("admin", "staff", "--enable", "a", "--disable", "a"),
            "name one of --disable USER, --enable USER or --reset USER",
        ),
    ],
)
def test_cli_revoke_refusals_are_one_line_errors(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    """A revoke naming nothing, two things, or someone unknown exits 1 with a message."""
    proc = run_cli(tmp_path, *args, env=CLI_ENV)
    assert proc.returncode == 1 and says in proc.stderr and "Traceback" not in proc.stderr


async def test_tokens_revoked_before_the_migration_stay_revoked(tmp_path: Path) -> None:
    """A database of the first schema with a revoked token: after migrating, still revoked."""
    conn = sqlite3.connect(tmp_path / "tatap.db", isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.executescript(STEPS[0])
    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
    conn.execute("INSERT INTO revoked_tokens (jti, exp_ms) VALUES ('old-jti', 1)")
    conn.close()
    store = open_store(tmp_path)
    try:
        assert await store.is_revoked("old-jti")
        assert not await store.is_revoked("other-jti")
    finally:
        await store.aclose()


async def test_terminal_seat_is_not_revoked_as_a_participant(world: World) -> None:
    """The visit-room terminal's seat is refused with 400 (the visit is ended instead), and
    nothing is recorded."""
    scheduled = await world.schedule()
    seat = next(p.id for p in scheduled.visit.participants if p.role is Role.TERMINAL)
    resp = await world.client.post(
        f"/api/v1/participants/{seat}/revoke", headers=bearer(officer_token(world))
    )
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_request"
    assert await actions(world, "participant-revoked") == []


# ---- a person, not a seat: the visitor behind a revoked participant ------------------------------


async def booked(
    world: World, visitor: VisitorId, start_in: float = 0.0, where: tuple[str, str] | None = None
) -> ScheduledVisit:
    """A regular visit whose family seat is booked for ``visitor``; ``where`` is another
    facility's (terminal id, inmate id)."""
    terminal, inmate = where or (world.terminal.id, world.inmate_id)
    return await world.visits.schedule(
        terminal_id=terminal,
        inmate_id=inmate,
        kind=VisitKind.REGULAR,
        start=world.clock.now() + start_in,
        guests=[GuestSpec(Role.FAMILY, "Siti", visitor)],
        actor=Actor(Role.OFFICER, "s_test"),
        length_s=900,
    )


async def a_visitor(world: World) -> VisitorId:
    return (await Admin(world.store).visitor("Siti", "3604012345678901")).id


async def other_facility(world: World) -> tuple[str, str, str]:
    """A second facility with a terminal and an inmate: (facility, terminal, inmate)."""
    admin = Admin(world.store)
    facility = await admin.facility("Lapas Serang")
    room = await admin.room(facility.id, "Ruang 1")
    terminal, _ = await admin.terminal(room.id, "PC", "http://test")
    await admin.import_inmates(facility.id, "number,name,block\nC-1,Andi,B\n")
    inmate = await world.store.find_inmate(facility.id, "C-1")
    assert inmate is not None
    return facility.id, terminal.id, inmate.id


async def join(world: World, scheduled: ScheduledVisit) -> tuple[int, Any]:
    """The family link of this visit exchanged for a token: (status, body)."""
    link = scheduled.links[family_seat(scheduled)]
    resp = await world.client.post("/api/v1/join", json={"link": link})
    return resp.status, await resp.json()


async def test_revoked_participant_visitor_link_in_another_visit_mints_no_token(
    world: World,
) -> None:
    """Revoking a seat booked for a registered visitor shuts that person out of their other
    visits too: the other visit's link answers 403 `access_revoked`."""
    visitor = await a_visitor(world)
    first, other = await booked(world, visitor), await booked(world, visitor, start_in=2000)
    assert (await join(world, other))[0] == 200
    await cli(world, "admin", "revoke", "--participant", family_seat(first))
    status, body = await join(world, other)
    assert status == 403 and body["error"]["code"] == "access_revoked"


async def test_revoked_participant_visitor_open_socket_in_another_visit_closes(
    world: World,
) -> None:
    """The visitor's open socket in another visit gets `access_revoked` and closes 4403 within
    a second of `tatap admin revoke --participant` returning."""
    visitor = await a_visitor(world)
    first, other = await booked(world, visitor, start_in=2000), await booked(world, visitor)
    _, body = await join(world, other)
    fam = await world.connect(body["token"])
    await fam.expect("welcome")
    await cli(world, "admin", "revoke", "--participant", family_seat(first))
    await shut_out(fam, "access_revoked", 4403, within=1.0)


async def test_revoked_participant_without_visitor_leaves_other_seats_alone(
    world: World,
) -> None:
    """A guest typed in by hand (no visitor id) is shut out of that seat only: another visit's
    hand-typed family seat still exchanges its link."""
    first, other = await world.schedule(start_in=2000), await world.schedule()
    await cli(world, "admin", "revoke", "--participant", family_seat(first))
    assert (await join(world, first))[0] == 403
    assert (await join(world, other))[0] == 200


async def test_officer_revocation_of_a_visitor_stays_in_the_officers_facility(
    world: World,
) -> None:
    """An officer revoking a participant shuts its visitor out of the officer's facility's
    visits only; the same visitor's visit in another facility still opens."""
    visitor = await a_visitor(world)
    _, terminal, inmate = await other_facility(world)
    first, here = await booked(world, visitor), await booked(world, visitor, start_in=2000)
    elsewhere = await booked(world, visitor, where=(terminal, inmate))
    resp = await world.client.post(
        f"/api/v1/participants/{family_seat(first)}/revoke", headers=bearer(officer_token(world))
    )
    assert resp.status == 200
    assert (await join(world, here))[0] == 403
    assert (await join(world, elsewhere))[0] == 200


async def test_cli_visitor_revoke_shuts_every_seat_everywhere(world: World) -> None:
    """`tatap admin revoke --visitor ID` refuses that visitor's links in every facility, and
    records one `visitor-revoked` event naming the visitor."""
    visitor = await a_visitor(world)
    _, terminal, inmate = await other_facility(world)
    here = await booked(world, visitor)
    elsewhere = await booked(world, visitor, where=(terminal, inmate))
    await cli(world, "admin", "revoke", "--visitor", visitor, "--reason", "smuggling")
    assert (await join(world, here))[0] == 403
    assert (await join(world, elsewhere))[0] == 403
    [event] = await actions(world, "visitor-revoked")
    assert event.to_json()["details"] == {
        "visitor": visitor,
        "facility": "*",
        "reason": "smuggling",
    }


async def test_participant_revoke_records_the_seat_and_the_visitor(world: World) -> None:
    """Revoking a visitor's seat writes two audit events: `participant-revoked` for the seat
    and `visitor-revoked` scoped to the officer's facility."""
    visitor = await a_visitor(world)
    seat = family_seat(await booked(world, visitor))
    resp = await world.client.post(
        f"/api/v1/participants/{seat}/revoke", headers=bearer(officer_token(world))
    )
    assert resp.status == 200
    [part] = await actions(world, "participant-revoked")
    [person] = await actions(world, "visitor-revoked")
    assert part.to_json()["details"]["participant"] == seat
    assert person.facility_id == world.facility_id
    assert person.to_json()["details"]["facility"] == world.facility_id


async def test_visitor_seat_booked_after_the_revocation_mints_no_token(world: World) -> None:
    """A visit booked for a visitor after `tatap admin revoke --visitor`: its link answers 403
    `access_revoked`."""
    visitor = await a_visitor(world)
    await cli(world, "admin", "revoke", "--visitor", visitor)
    status, body = await join(world, await booked(world, visitor))
    assert status == 403 and body["error"]["code"] == "access_revoked"


async def test_revoked_visitor_token_of_another_seat_is_refused_at_hello(world: World) -> None:
    """A token minted for the visitor's seat before the visitor was revoked takes no seat at
    `hello`: `access_revoked`, close 4403."""
    visitor = await a_visitor(world)
    scheduled = await booked(world, visitor)
    token = await world.token(scheduled, Role.FAMILY)
    await Revocations(world.store, world.clock).revoke_visitor(visitor, Actor("admin", "test"))
    peer = await world.connect(token)
    assert (await peer.expect("error"))["code"] == "access_revoked"
    assert await peer.closed() == 4403


def token_without_vis(world: World, scheduled: ScheduledVisit) -> str:
    """A family token for the visitor's seat as tokens were issued before the `vis` claim
    existed: built by hand, naming the seat and visit but not the visitor."""
    seat = family_seat(scheduled)
    assert next(p for p in scheduled.visit.participants if p.id == seat).visitor_id
    return TokenService(KEYS).issue(
        sub=seat,
        role=Role.FAMILY,
        visit=scheduled.visit.id,
        now=world.clock.now(),
        ttl_s=3600,
        facility=world.facility_id,
    )[0]


async def test_revoked_visitor_token_without_vis_is_refused_at_hello(world: World) -> None:
    """A token of the visitor's seat that carries no `vis` claim takes no seat at `hello` once
    the visitor is revoked: `access_revoked`, close 4403 (its seat names the visitor)."""
    visitor = await a_visitor(world)
    token = token_without_vis(world, await booked(world, visitor))
    await Revocations(world.store, world.clock).revoke_visitor(visitor, Actor("admin", "test"))
    peer = await world.connect(token)
    assert (await peer.expect("error"))["code"] == "access_revoked"
    assert await peer.closed() == 4403


async def test_cli_visitor_revoke_closes_socket_of_token_without_vis(world: World) -> None:
    """`tatap admin revoke --visitor ID` closes the open socket of a token without `vis` for
    that visitor's seat within a second: `access_revoked`, close 4403."""
    visitor = await a_visitor(world)
    peer = await world.connect(token_without_vis(world, await booked(world, visitor)))
    await peer.expect("welcome")
    await cli(world, "admin", "revoke", "--visitor", visitor)
    await shut_out(peer, "access_revoked", 4403, within=1.0)


# ---- a disabled staff account enabled again -----------------------------------------------------


async def test_cli_enabled_staff_logs_in_again(world: World) -> None:
    """`tatap admin staff --enable USER` after `--disable USER`: the right password gets a
    token again, and that token opens the API."""
    await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    await cli(world, "admin", "staff", "--disable", "petugas")
    assert (await login(world, "petugas"))[0] == 403
    await cli(world, "admin", "staff", "--enable", "petugas", "--reason", "cleared")
    status, body = await login(world, "petugas")
    assert status == 200
    visit = await world.schedule()
    resp = await world.client.get(f"/api/v1/visits/{visit.visit.id}", headers=bearer(body["token"]))
    assert resp.status == 200


async def test_enabled_staff_old_token_stays_refused(world: World) -> None:
    """A token issued before the account was disabled stays refused (403 `access_revoked`)
    after the account is enabled again: its holder must log in again."""
    await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    _, body = await login(world, "petugas")
    revocations = Revocations(world.store, world.clock)
    await revocations.disable_staff("petugas", Actor("admin", "test"))
    await world.advance(1.0)
    await revocations.enable_staff("petugas", Actor("admin", "test"))
    visit = await world.schedule()
    resp = await world.client.get(f"/api/v1/visits/{visit.visit.id}", headers=bearer(body["token"]))
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "access_revoked"


async def test_monitor_token_minted_while_disabled_stays_refused_after_enable(
    world: World,
) -> None:
    """A monitor token minted after the disabling (in the race between the API's revocation
    check and the disable) takes no seat once the account is enabled again: `access_revoked`,
    close 4403. Only tokens issued after the enabling are good."""
    staff = await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    _, _, visit_id = await pair(world)
    revocations = Revocations(world.store, world.clock)
    await revocations.disable_staff("petugas", Actor("admin", "test"))
    await world.advance(1.0)
    raced = staff_token(world, staff.id)[1]
    monitor = await world.links.monitor_token(raced, visit_id)
    await world.advance(1.0)
    await revocations.enable_staff("petugas", Actor("admin", "test"))
    mon = await world.connect(monitor)
    assert (await mon.expect("error"))["code"] == "access_revoked"
    assert await mon.closed() == 4403


async def test_monitor_token_minted_after_enable_takes_its_seat(world: World) -> None:
    """A monitor token minted after the account is enabled again is welcomed, though the
    account was disabled before: the lift, not the disabling, is the boundary."""
    staff = await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    _, _, visit_id = await pair(world)
    revocations = Revocations(world.store, world.clock)
    await revocations.disable_staff("petugas", Actor("admin", "test"))
    await world.advance(1.0)
    await revocations.enable_staff("petugas", Actor("admin", "test"))
    mon = await officer(world, visit_id, staff_id=staff.id)
    await mon.expect("welcome")


async def test_staff_disabled_again_after_enabling_is_refused(world: World) -> None:
    """Disabling an account that was enabled again takes effect: no login."""
    await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    revocations = Revocations(world.store, world.clock)
    await revocations.disable_staff("petugas", Actor("admin", "test"))
    await revocations.enable_staff("petugas", Actor("admin", "test"))
    await world.advance(1.0)
    assert (await login(world, "petugas"))[0] == 200
    await revocations.disable_staff("petugas", Actor("admin", "test"))
    status, body = await login(world, "petugas")
    assert status == 403 and body["error"]["code"] == "access_revoked"


async def test_enabling_staff_is_an_audit_event(world: World) -> None:
    """Enabling records `staff-enabled` with the actor and the reason; enabling an account that
    is not disabled is a one-line error and records nothing."""
    staff = await Admin(world.store).staff("petugas", Role.OFFICER, PASSWORD, world.facility_id)
    await cli(world, "admin", "staff", "--disable", "petugas")
    await cli(world, "admin", "staff", "--enable", "petugas", "--reason", "cleared")
    proc = await asyncio.to_thread(
        run_cli, world.settings.data_dir, "admin", "staff", "--enable", "petugas", env=CLI_ENV
    )
    assert proc.returncode == 1 and "not disabled" in proc.stderr
    [event] = await actions(world, "staff-enabled")
    assert (event.actor_role, event.actor_id) == ("admin", "cli")
    assert event.to_json()["details"] == {"staff": staff.id, "role": "officer", "reason": "cleared"}


# ---- pruning token revocations whose token expired long ago ------------------------------------


async def revoke_staff_token(world: World, ttl_s: float, issued_ago: float = 0.0) -> str:
    """Revoke a fresh staff token living ``ttl_s`` from ``issued_ago`` seconds back; its jti."""
    claims = TokenService(KEYS).issue(
        sub="s_x", role=Role.OFFICER, visit="", ttl_s=ttl_s, now=world.clock.now() - issued_ago
    )[1]
    await Revocations(world.store, world.clock).revoke_token(claims, Actor("admin", "test"))
    return claims.jti


def pruner(world: World) -> RevocationWatch:
    """A revocation watch on the node's own store and clock, driven by the test."""
    return RevocationWatch(world.store, SocketIndex(), 60.0, world.clock)


async def test_watch_prunes_only_long_expired_token_revocations(world: World) -> None:
    """A token revocation whose token expired over an hour ago is deleted; one whose token
    expired less long ago, and a participant's revocation, stay; the audit events all stay."""
    expired = await revoke_staff_token(world, 60, issued_ago=PRUNE_GRACE_S + 100)
    live = await revoke_staff_token(world, 60, issued_ago=PRUNE_GRACE_S - 100)
    scheduled = await world.schedule()
    await Revocations(world.store, world.clock).revoke_participant(
        family_seat(scheduled), Actor("admin", "test")
    )
    assert await pruner(world).prune() == 1
    assert not await world.store.is_revoked(expired)
    assert await world.store.is_revoked(live)
    assert (await join(world, scheduled))[0] == 403
    assert len(await actions(world, "token-revoked")) == 2


async def test_prune_runs_at_most_once_a_minute(world: World) -> None:
    """A second prune within a minute of the node's clock deletes nothing; a minute later it
    deletes what expired meanwhile."""
    watch = pruner(world)
    await revoke_staff_token(world, 60, issued_ago=2 * PRUNE_GRACE_S)
    assert await watch.prune() == 1
    await revoke_staff_token(world, 60, issued_ago=2 * PRUNE_GRACE_S)
    assert await watch.prune() == 0
    await world.advance(60)
    assert await watch.prune() == 1


async def test_pruning_the_newest_revocation_keeps_the_sequence(world: World) -> None:
    """After the newest revocation is pruned, the head stays where it was, the next revocation
    is numbered after the pruned one (a node that saw it polls past it), and the node's watch
    still closes the socket that next revocation shuts out."""
    fam, _, token = await family_in_visit(world)
    await revoke_staff_token(world, 60, issued_ago=2 * PRUNE_GRACE_S)
    head = await world.store.revocation_head()
    assert await pruner(world).prune() == 1
    assert await world.store.revocation_head() == head
    await cli(world, "admin", "revoke", token)
    [after] = await world.store.revocations_after(head)
    assert after.seq > head
    await shut_out(fam, "token_revoked", 4401, within=1.0)
