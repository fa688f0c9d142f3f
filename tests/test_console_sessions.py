"""The staff console's session on a real server: the cookie's attributes, CSRF on every change,
idle and absolute timeouts, logout and a staff disable ending the session, roles and scope."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientResponse

from services.access.revocation import Revocations
from services.access.sessions import BACKGROUND_HEADER, BACKGROUND_QUERY, SESSION_COOKIE
from services.admin.provision import Admin
from services.audit.query import AuditQuery
from services.domain.model import Role, VisitStatus
from services.ids import Actor
from signaling.app import TOKENS
from tests.helpers.console import PASSWORD, cookie, csrf, login, requested, staff
from tests.helpers.world import World, build_world

IDLE_S = 600.0
MAX_S = 3600.0


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[World]:
    """A node whose consoles time out after 10 minutes idle and an hour in all."""
    async for w in build_world(tmp_path, console_idle_s=IDLE_S, console_session_s=MAX_S):
        yield w


def set_cookie(resp: object) -> str:
    assert isinstance(resp, ClientResponse)
    return next(h for h in resp.headers.getall("Set-Cookie") if h.startswith(SESSION_COOKIE + "="))


async def test_login_sets_an_httponly_strict_cookie_and_answers_the_session(desk: World) -> None:
    """A JSON login answers who is logged in, the facility and a CSRF token; the cookie is
    HttpOnly, SameSite=Strict, Path=/, and not Secure on a plain-http node."""
    await staff(desk, "andi", Role.OFFICER)
    resp, body = await login(desk, "andi")
    assert resp.status == 200, body
    assert body["username"] == "andi" and body["role"] == "officer"
    assert body["console"] == "/officer" and body["facility"]["id"] == desk.facility_id
    assert body["facility"]["timezone"] and len(str(body["csrf"])) == 64
    header = set_cookie(resp)
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header
    assert "Secure" not in header
    session = await desk.client.get("/officer/session")
    assert session.status == 200 and (await session.json())["csrf"] == body["csrf"]


async def test_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    """A node whose public URL is https sets the session cookie Secure."""
    async for world in build_world(tmp_path, public_url="https://tatap.example"):
        await staff(world, "andi", Role.OFFICER)
        resp, _ = await login(world, "andi")
        assert resp.status == 200 and "Secure" in set_cookie(resp)


async def test_a_change_needs_the_csrf_token(desk: World) -> None:
    """The cookie reads the queue, but an approve without the CSRF token, with a wrong one, or
    from another origin or site is refused 403 csrf_refused, and the request stays requested;
    with the token from our own origin it goes through."""
    await staff(desk, "andi", Role.OFFICER)
    _, session = await login(desk, "andi")
    visit = await requested(desk)
    queue = await desk.client.get("/api/v1/requests")
    assert queue.status == 200 and [r["id"] for r in (await queue.json())["requests"]] == [visit.id]
    url = f"/api/v1/requests/{visit.id}/approve"
    refused = [
        {},
        {"X-CSRF-Token": "0" * 64},
        {**csrf(session), "Origin": "http://evil.example"},
        {**csrf(session), "Sec-Fetch-Site": "cross-site"},
        {**csrf(session), "Sec-Fetch-Site": "same-site"},
    ]
    for headers in refused:
        resp = await desk.client.post(url, headers=headers)
        body = await resp.json()
        assert resp.status == 403 and body["error"]["code"] == "csrf_refused", headers
    found = await desk.store.get_visit(visit.id)
    assert found is not None and found.status is VisitStatus.REQUESTED
    origin = str(desk.client.make_url("/")).rstrip("/")
    headers = {**csrf(session), "Origin": origin, "Sec-Fetch-Site": "same-origin"}
    resp = await desk.client.post(url, headers=headers)
    assert resp.status == 200, await resp.text()


async def test_idle_timeout_ends_the_session_and_background_polls_do_not_renew(
    desk: World,
) -> None:
    """Use renews the session; polls marked background do not, so an officer who does nothing
    for the idle time is logged out (401) even with the queue polling."""
    await staff(desk, "andi", Role.OFFICER)
    await login(desk, "andi")
    await desk.advance(IDLE_S - 60)
    used = await desk.client.get("/api/v1/requests")
    assert used.status == 200 and SESSION_COOKIE in used.cookies  # renewed
    for _ in range(3):
        await desk.advance(IDLE_S / 3 - 5)
        poll = await desk.client.get("/api/v1/requests", headers={BACKGROUND_HEADER: "1"})
        assert poll.status == 200 and SESSION_COOKIE not in poll.cookies
    await desk.advance(30)
    resp = await desk.client.get("/api/v1/requests", headers={BACKGROUND_HEADER: "1"})
    assert resp.status == 401


async def test_a_background_query_does_not_renew_either(desk: World) -> None:
    """What cannot set a header (the board page's EventSource) says ``background=1`` in the
    query: it is answered, and the session is not renewed by it, so it still times out."""
    await staff(desk, "andi", Role.OFFICER)
    await login(desk, "andi")
    await desk.advance(IDLE_S - 60)
    query = f"?{BACKGROUND_QUERY}=1"
    poll = await desk.client.get(f"/api/v1/board{query}")
    assert poll.status == 200 and SESSION_COOKIE not in poll.cookies
    await desk.advance(90)
    assert (await desk.client.get(f"/api/v1/board{query}")).status == 401


async def test_absolute_lifetime_ends_a_session_in_use(desk: World) -> None:
    """A session used all the time still ends its absolute lifetime after the login."""
    await staff(desk, "andi", Role.OFFICER)
    await login(desk, "andi")
    for _ in range(int(MAX_S // (IDLE_S / 2)) - 1):
        await desk.advance(IDLE_S / 2)
        assert (await desk.client.get("/api/v1/requests")).status == 200
    await desk.advance(IDLE_S / 2 + 1)
    resp = await desk.client.get("/api/v1/requests")
    assert resp.status == 401


async def test_logout_ends_the_session_for_every_copy_of_the_cookie(desk: World) -> None:
    """After logout the cookie is cleared, and a copy of it kept (a renewed one too) is
    refused: the session is revoked on the server, and the logout is audited."""
    await staff(desk, "andi", Role.OFFICER)
    _, session = await login(desk, "andi")
    first = cookie(desk)
    await desk.advance(120)
    await desk.client.get("/api/v1/requests")
    renewed = cookie(desk)
    assert renewed and renewed != first
    resp = await desk.client.post("/officer/logout", headers=csrf(session))
    assert resp.status == 200 and cookie(desk) == ""
    events = await desk.store.audit_search(AuditQuery(action="token-revoked", limit=10))
    assert [(e.actor_role, json.loads(e.details)["role"]) for e in events] == [
        ("officer", "officer")
    ]
    for copy in (first, renewed):
        again = await desk.client.get(
            "/api/v1/requests", headers={"Cookie": f"{SESSION_COOKIE}={copy}"}
        )
        assert again.status == 401 and (await again.json())["error"]["code"] == "token_revoked"


async def test_staff_disable_ends_the_session(desk: World) -> None:
    """Disabling the staff account refuses its live console session at once (403)."""
    await staff(desk, "andi", Role.OFFICER)
    await login(desk, "andi")
    assert (await desk.client.get("/officer/session")).status == 200
    await Revocations(desk.store, desk.clock).disable_staff("andi", Actor(Role.ADMIN, "s_admin"))
    resp = await desk.client.get("/api/v1/requests")
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "access_revoked"
    again = await desk.client.post("/officer/login", json={"username": "andi", "password": "x"})
    assert again.status == 401


async def test_auditor_is_sent_to_its_console_and_form_login_redirects(desk: World) -> None:
    """A form login answers 303 to the role's console: /officer for an officer, /auditor for an
    auditor (whose session cannot approve requests)."""
    await staff(desk, "andi", Role.OFFICER)
    await staff(desk, "rina", Role.AUDITOR)

    for name, where in (("andi", "/officer"), ("rina", "/auditor")):
        desk.client.session.cookie_jar.clear()
        resp = await desk.client.post(
            "/officer/login",
            data={"username": name, "password": PASSWORD},
            allow_redirects=False,
        )
        assert resp.status == 303 and resp.headers["Location"] == where
        assert "HttpOnly" in set_cookie(resp)
    queue = await desk.client.get("/api/v1/requests")
    assert queue.status == 403


async def test_login_from_another_site_is_refused(desk: World) -> None:
    """A login form posted by another site's page is refused: no one is logged in unawares."""
    await staff(desk, "andi", Role.OFFICER)

    resp = await desk.client.post(
        "/officer/login",
        data={"username": "andi", "password": PASSWORD},
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        allow_redirects=False,
    )
    assert resp.status == 403 and cookie(desk) == ""


async def test_an_officer_of_another_facility_sees_nothing(desk: World) -> None:
    """An officer of another facility gets no queue of this one, and its approve of this
    facility's request answers "no such visit"."""
    other = await Admin(desk.store).facility("Lapas Lain")
    await staff(desk, "budi", Role.OFFICER, other.id)
    visit = await requested(desk)
    _, session = await login(desk, "budi")
    queue = await desk.client.get(f"/api/v1/requests?facility={desk.facility_id}")
    assert queue.status == 404
    own = await desk.client.get("/api/v1/requests")
    assert own.status == 200 and (await own.json())["requests"] == []
    resp = await desk.client.post(f"/api/v1/requests/{visit.id}/approve", headers=csrf(session))
    assert resp.status == 404
    notes = await desk.client.get(f"/api/v1/requests/{visit.id}/notifications")
    assert notes.status == 404


async def test_console_login_is_throttled_as_the_api_login(tmp_path: Path) -> None:
    """The console's login door keeps the API login's throttle: an address that keeps failing
    is refused with 429 and Retry-After, even for the right password; the two doors share it."""
    async for world in build_world(tmp_path, login_address_failures=3):
        await staff(world, "andi", Role.OFFICER)
        wrong = {"username": "andi", "password": "salah-salah-1"}
        api = await world.client.post("/api/v1/auth/login", json=wrong)
        assert api.status == 401
        for _ in range(2):
            resp = await world.client.post("/officer/login", json=wrong)
            assert resp.status == 401
        refused = await world.client.post(
            "/officer/login", json={"username": "andi", "password": PASSWORD}
        )
        assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
        assert cookie(world) == ""


async def test_a_renewed_session_is_the_same_session(desk: World) -> None:
    """A renewal is the same token with a later expiry: the same jti (one logout revokes
    every copy), the login's iat, the same CSRF token, and never past the absolute limit."""
    tokens = desk.app[TOKENS]
    await staff(desk, "andi", Role.OFFICER)
    _, session = await login(desk, "andi")
    first = tokens.decode(cookie(desk), desk.clock.now())
    while desk.clock.now() < first.iat + MAX_S - IDLE_S / 2:
        await desk.advance(IDLE_S / 2)
        assert (await desk.client.get("/api/v1/requests")).status == 200
    renewed = tokens.decode(cookie(desk), desk.clock.now())
    assert (renewed.jti, renewed.iat, renewed.sub) == (first.jti, first.iat, first.sub)
    assert renewed.exp == int(first.iat + MAX_S) and renewed.exp > first.exp
    again = await desk.client.get("/officer/session")
    assert (await again.json())["csrf"] == session["csrf"]
