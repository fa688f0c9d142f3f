"""Staff logins under attack: failures are throttled per source address and per name, a
stranger's guesses never lock an officer out, and password checks run with bounded concurrency.

Each source address is a client socket bound to its own loopback address (127.0.0.2, 127.0.0.3 …).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import ip_network
from pathlib import Path

import aiohttp
import pytest

from services.access.known_sources import DEVICE_COOKIE, KnownSources
from services.addresses import client_address, limit_key, parse_networks
from services.admin.provision import Admin
from services.domain.model import Role
from tests.helpers.served import tatap_serve
from tests.helpers.world import World, build_world

OFFICER, RIGHT = "petugas", "benar-sekali-123"
FEW = 5  # failures an address may bank here: each wrong guess costs a real argon2 check


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for w in build_world(tmp_path, login_address_failures=FEW):
        yield w


@asynccontextmanager
async def source(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client whose connections come from ``address``."""
    connector = aiohttp.TCPConnector(limit=0, local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def attempt(
    world: World,
    session: aiohttp.ClientSession,
    username: str,
    password: str,
    forwarded_for: str | None = None,
    device: str = "",
) -> tuple[int, str]:
    resp = await post_login(world, session, username, password, forwarded_for, device)
    body = await resp.json()
    return resp.status, body.get("error", {}).get("code", "")


async def post_login(
    world: World,
    session: aiohttp.ClientSession,
    username: str,
    password: str,
    forwarded_for: str | None = None,
    device: str = "",
) -> aiohttp.ClientResponse:
    """The login's response; ``device`` is sent as the known-device cookie (the client's cookie
    jar keeps none for an IP address)."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    if device:
        headers["Cookie"] = f"{DEVICE_COOKIE}={device}"
    resp = await session.post(
        world.client.make_url("/api/v1/auth/login"),
        json={"username": username, "password": password},
        headers=headers,
    )
    await resp.read()
    return resp


async def known_device(world: World, address: str) -> str:
    """The officer logs in from ``address``: the known-device cookie they are given."""
    async with source(address) as officer:
        resp = await post_login(world, officer, OFFICER, RIGHT)
    assert resp.status == 200
    cookie = resp.cookies.get(DEVICE_COOKIE)
    return cookie.value if cookie is not None else ""


async def backoff(world: World, first: int = 2, last: int = 6) -> None:
    """Strangers at 127.0.0.first … last fail once each for the officer: the name's backoff."""
    for i in range(first, last + 1):
        assert await guesses(world, f"127.0.0.{i}", [OFFICER]) == [401]


async def login(world: World, username: str, password: str) -> tuple[int, str]:
    resp = await world.client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    body = await resp.json()
    return resp.status, body.get("error", {}).get("code", "")


async def guesses(world: World, address: str, names: list[str]) -> list[int]:
    """Wrong passwords for ``names``, one after another, from ``address``."""
    async with source(address) as session:
        return [(await attempt(world, session, name, "salah"))[0] for name in names]


async def test_wrong_guesses_from_one_address_do_not_lock_out_another(world: World) -> None:
    """Many wrong guesses for an officer from one address get that address refused, and the
    officer's right password from their usual address still logs in."""
    await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
    await known_device(world, "127.0.0.3")
    statuses = await guesses(world, "127.0.0.2", [OFFICER] * (FEW + 2))
    assert statuses[-1] == 429
    async with source("127.0.0.3") as officer:
        assert (await attempt(world, officer, OFFICER, RIGHT))[0] == 200


async def test_an_officers_typo_does_not_lock_their_usual_address_out(world: World) -> None:
    """An officer mistypes once at their usual address while strangers fail for the name from
    many addresses and keep polling: the officer's right password there still logs in."""
    await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
    await known_device(world, "127.0.0.3")
    async with source("127.0.0.3") as officer:
        assert (await attempt(world, officer, OFFICER, "typo"))[0] == 401
        await backoff(world, last=5)  # the typo was the name's first failure
        assert await guesses(world, "127.0.0.2", [OFFICER] * 3) == [429] * 3
        assert (await attempt(world, officer, OFFICER, RIGHT))[0] == 200


async def test_a_known_device_logs_in_from_another_address_after_a_typo(world: World) -> None:
    """The officer's browser, with its known-device cookie (HttpOnly, SameSite=Strict, sent to
    the login route only), mistypes once at a new address during the name's backoff and then
    logs in there."""
    await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
    async with source("127.0.0.3") as desk:
        resp = await post_login(world, desk, OFFICER, RIGHT)
    morsel = resp.cookies[DEVICE_COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Strict"
    assert morsel["path"] == "/api/v1/auth"
    await backoff(world)
    async with source("127.0.0.9") as roaming:
        assert (await attempt(world, roaming, OFFICER, "typo", device=morsel.value))[0] == 401
        assert (await attempt(world, roaming, OFFICER, RIGHT, device=morsel.value))[0] == 200


async def test_the_device_cookie_is_secure_behind_an_https_public_url(tmp_path: Path) -> None:
    """With an https public URL the known-device cookie is marked Secure."""
    async for world in build_world(
        tmp_path, public_url="https://visit.example.go.id", login_address_failures=FEW
    ):
        await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
        async with source("127.0.0.3") as desk:
            resp = await post_login(world, desk, OFFICER, RIGHT)
        assert resp.cookies[DEVICE_COOKIE]["secure"]


async def test_a_known_device_is_not_refused_for_its_addresss_failures(world: World) -> None:
    """A guesser behind the officer's NAT address gets that address refused; the officer's
    browser there, with its known-device cookie, still logs in."""
    await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
    device = await known_device(world, "127.0.0.3")
    assert (await guesses(world, "127.0.0.3", [f"x{i}" for i in range(FEW + 1)]))[-1] == 429
    async with source("127.0.0.3") as officer:
        assert (await attempt(world, officer, OFFICER, RIGHT, device=device))[0] == 200


def test_a_device_cookie_counts_for_its_own_account_and_time_only() -> None:
    """A known-device cookie is good for the account it was issued for, until it expires, under
    the same key (a restart keeps it); a forged, altered or oversized one is nobody's."""
    known = KnownSources(b"k" * 32, known_for_s=100.0, limit=10)
    cookie = known.remember("petugas", "127.0.0.3", "", now=1000.0)
    device, issued, mac = cookie.split(".")
    assert known.device("petugas", cookie, 1050.0) == device
    assert known.device("other", cookie, 1050.0) == ""
    assert known.device("petugas", cookie, 1100.0) == ""
    assert known.device("petugas", f"{device}.{issued}.{mac[::-1]}", 1050.0) == ""
    assert known.device("petugas", f"evil.{issued}.{mac}", 1050.0) == ""
    assert known.device("petugas", f"{device}.{int(issued) + 50}.{mac}", 1050.0) == ""
    assert known.device("petugas", cookie + "0" * 200, 1050.0) == ""
    assert KnownSources(b"x" * 32, 100.0, 10).device("petugas", cookie, 1050.0) == ""
    restarted = KnownSources(b"k" * 32, 100.0, 10)  # the same key: good after a restart
    assert restarted.device("petugas", cookie, 1050.0) == device


def test_known_addresses_are_bounded() -> None:
    """Only so many account-address pairs are remembered: the stalest is forgotten first."""
    known = KnownSources(b"k" * 32, known_for_s=100.0, limit=2)
    for i in range(3):
        known.remember("petugas", f"127.0.0.{i}", "", now=float(i))
    assert len(known) == 2
    assert not known.address_known("petugas", "127.0.0.0", 3.0)
    assert known.address_known("petugas", "127.0.0.2", 3.0)


async def test_spraying_names_from_one_address_is_refused(world: World) -> None:
    """One address trying 40 different names is refused once its failures pile up."""
    statuses = await guesses(world, "127.0.0.2", [f"staff{i}" for i in range(40)])
    assert statuses[:FEW] == [401] * FEW
    assert statuses[FEW:] == [429] * (40 - FEW)


async def test_a_throttled_address_is_logged_once(world: World) -> None:
    """The address that reaches the failure limit is logged once, not once per refused try."""
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        await guesses(world, "127.0.0.2", [f"staff{i}" for i in range(FEW + 3)])
    throttled = [e for e in logs if e["event"] == "login.address_throttled"]
    assert throttled == [
        {
            "event": "login.address_throttled",
            "address": "127.0.0.2",
            "failures": FEW,
            "log_level": "warning",
        }
    ]


async def test_failed_address_waits_out_the_name_backoff(world: World) -> None:
    """After failures for one name from several addresses, a failing address that never logged
    into it must wait before its next try (429 with Retry-After), and gets in once it has
    waited."""
    await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
    await backoff(world)
    async with source("127.0.0.2") as retry:
        resp = await post_login(world, retry, OFFICER, RIGHT)
        assert resp.status == 429
        await world.advance(int(resp.headers["Retry-After"]))
        assert (await attempt(world, retry, OFFICER, RIGHT))[0] == 200


async def test_a_fresh_address_waits_out_the_name_backoff(world: World) -> None:
    """Rotating addresses buys no guesses: during the name's backoff an address that has never
    failed, nor logged into the name, waits too (429 with Retry-After)."""
    await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
    await backoff(world)
    async with source("127.0.0.20") as fresh:
        resp = await post_login(world, fresh, OFFICER, RIGHT)
        assert resp.status == 429
        await world.advance(int(resp.headers["Retry-After"]))
        assert (await attempt(world, fresh, OFFICER, RIGHT))[0] == 200


async def test_strangers_sent_together_as_the_backoff_ends_get_one_guess(world: World) -> None:
    """Eight fresh addresses try the name at once when its backoff has passed: one is let
    through, the other seven get 429, so rotating addresses in parallel buys no more guesses."""
    await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
    await backoff(world)
    await world.advance(1)
    assert await guesses(world, "127.0.0.8", [OFFICER]) == [401]  # the sixth failure
    await world.advance(3)  # past its backoff of about 2 s
    sessions = [source(f"127.0.0.{i}") for i in range(30, 38)]
    clients = [await s.__aenter__() for s in sessions]
    try:
        results = await asyncio.gather(*(attempt(world, c, OFFICER, "salah") for c in clients))
    finally:
        for s in sessions:
            await s.__aexit__(None, None, None)
    assert sorted(status for status, _ in results) == [401] + [429] * 7


async def test_refused_tries_do_not_lengthen_the_name_backoff(world: World) -> None:
    """Strangers polling during the backoff are refused without restarting it: once the first
    Retry-After has passed, the next try is let through."""
    await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
    await backoff(world)
    async with source("127.0.0.20") as fresh:
        resp = await post_login(world, fresh, OFFICER, "salah")
        assert resp.status == 429
        for i in range(21, 26):
            assert await guesses(world, f"127.0.0.{i}", [OFFICER]) == [429]
        await world.advance(int(resp.headers["Retry-After"]))
        assert (await attempt(world, fresh, OFFICER, RIGHT))[0] == 200


async def test_login_flood_is_bounded_and_a_real_login_gets_through(world: World) -> None:
    """32 parallel logins from one address: those beyond its share of the password queue get 429
    at once, and a real login from another address meanwhile takes under a second."""
    await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
    async with source("127.0.0.2") as attacker, source("127.0.0.3") as officer:
        flood = [
            asyncio.create_task(attempt(world, attacker, f"fake{i}", "salah")) for i in range(32)
        ]
        started = time.monotonic()
        assert (await attempt(world, officer, OFFICER, RIGHT))[0] == 200
        took = time.monotonic() - started
        statuses = [status for status, _ in await asyncio.gather(*flood)]
    assert took < 1.0
    assert set(statuses) <= {401, 429}
    assert statuses.count(429) >= 32 - 2 * world.staff.logins.limits.per_address


async def test_login_flood_from_many_addresses_is_refused_beyond_the_queue(
    tmp_path: Path,
) -> None:
    """32 parallel logins from 32 addresses: the password queue holds a few, the rest get 429."""
    async for world in build_world(tmp_path, login_workers=1, login_queue=2):
        sessions = [source(f"127.0.1.{i}") for i in range(1, 33)]
        clients = [await s.__aenter__() for s in sessions]
        try:
            results = await asyncio.gather(
                *(attempt(world, c, f"fake{i}", "salah") for i, c in enumerate(clients))
            )
        finally:
            for s in sessions:
                await s.__aexit__(None, None, None)
        statuses = [status for status, _ in results]
        assert set(statuses) == {401, 429}
        assert statuses.count(401) <= 3 * 3  # queue + worker, refilled at most twice meanwhile


async def test_a_known_address_logs_in_fast_during_a_flood_from_many_addresses(
    world: World,
) -> None:
    """32 parallel fake logins from 32 addresses fill the password queue; the officer's login
    from their usual address meanwhile gets a place and is answered in under a second."""
    await Admin(world.store).staff(OFFICER, Role.OFFICER, RIGHT)
    await known_device(world, "127.0.0.3")
    guard = world.staff.logins
    sessions = [source(f"127.0.1.{i}") for i in range(1, 33)]
    clients = [await s.__aenter__() for s in sessions]
    try:
        flood = [
            asyncio.create_task(attempt(world, c, f"fake{i}", "salah"))
            for i, c in enumerate(clients)
        ]
        async with asyncio.timeout(5):  # until the strangers' queue is full
            while guard.pending < guard.limits.workers + guard.limits.queue:
                await asyncio.sleep(0.001)
        async with source("127.0.0.3") as officer:
            started = time.monotonic()
            assert (await attempt(world, officer, OFFICER, RIGHT))[0] == 200
            took = time.monotonic() - started
        await asyncio.gather(*flood)
    finally:
        for s in sessions:
            await s.__aexit__(None, None, None)
    assert took < 1.0


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


async def test_login_flood_keeps_a_served_node_small(tmp_path: Path) -> None:
    """32 parallel logins from 32 addresses against `tatap serve`: password checks run two at a
    time (64 MiB each), so the node's peak memory grows by less than three checks' worth, where
    the default thread pool ran six at once."""
    async with tatap_serve(tmp_path) as node:
        before = peak_rss_mib(node.pid)
        sessions = [source(f"127.0.2.{i}") for i in range(1, 33)]
        clients = [await s.__aenter__() for s in sessions]
        try:
            replies = await asyncio.gather(
                *(
                    c.post(
                        node.url("/api/v1/auth/login"), json={"username": f"u{i}", "password": "x"}
                    )
                    for i, c in enumerate(clients)
                )
            )
            statuses = [r.status for r in replies]
        finally:
            for s in sessions:
                await s.__aexit__(None, None, None)
        grown = peak_rss_mib(node.pid) - before
    assert set(statuses) <= {401, 429}
    assert grown < 3 * 64


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    """Behind a trusted proxy, failures count against the forwarded client address: one client
    is refused while another client behind the same proxy is not."""
    async for world in build_world(
        tmp_path, login_address_failures=FEW, trusted_proxies=(ip_network("127.0.0.5/32"),)
    ):
        limit = FEW
        async with source("127.0.0.5") as proxy:
            for i in range(limit):
                await attempt(world, proxy, f"x{i}", "salah", forwarded_for="203.0.113.7")
            refused = await attempt(world, proxy, "x", "salah", forwarded_for="203.0.113.7")
            other = await attempt(world, proxy, "x", "salah", forwarded_for="198.51.100.9")
        assert refused[0] == 429
        assert other == (401, "unauthorized")


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(tmp_path: Path) -> None:
    """A client that is not a trusted proxy cannot dodge its throttle by naming other addresses
    in X-Forwarded-For."""
    async for world in build_world(
        tmp_path, login_address_failures=FEW, trusted_proxies=(ip_network("127.0.0.5/32"),)
    ):
        limit = FEW
        async with source("127.0.0.2") as client:
            statuses = [
                (await attempt(world, client, f"x{i}", "salah", forwarded_for=f"203.0.113.{i}"))[0]
                for i in range(limit + 1)
            ]
        assert statuses[-1] == 429


def test_forwarded_chain_is_read_from_the_right() -> None:
    """Through two trusted proxies the client is the rightmost untrusted hop; what the client
    wrote further left, or a garbled entry, is never believed."""
    trusted = parse_networks("127.0.0.1, 10.0.0.0/8")
    chain = "6.6.6.6, 203.0.113.7, 10.1.2.3"
    assert client_address("127.0.0.1", chain, trusted) == "203.0.113.7"
    assert client_address("127.0.0.1", "not-an-ip, 10.1.2.3", trusted) == "10.1.2.3"
    assert client_address("192.0.2.1", chain, trusted) == "192.0.2.1"


def test_ipv6_addresses_count_by_their_64() -> None:
    """Per-address limits count an IPv6 client by its /64, which it can roam freely, and an
    IPv4-mapped address as the IPv4 address it is."""
    assert limit_key("2001:db8:1:2::1") == limit_key("2001:db8:1:2:ffff::9")
    assert limit_key("2001:db8:1:2::1") != limit_key("2001:db8:1:3::1")
    assert limit_key("::ffff:203.0.113.7") == limit_key("203.0.113.7") == "203.0.113.7"


async def test_unknown_names_are_refused_like_wrong_passwords(world: World) -> None:
    """An unknown name gets the same answer as a wrong password (no user enumeration)."""
    await Admin(world.store).staff("auditor1", Role.AUDITOR, "benar-sekali-123")
    assert await login(world, "nobody", "x") == await login(world, "auditor1", "x")


def test_no_command_pays_for_the_unknown_name_hash_at_import() -> None:
    """Importing the CLI computes no argon2 hash (0.1 s and 64 MiB each): the stand-in hash an
    unknown name is checked against is made on the first such login."""
    probe = (
        "import services.cli.main, services.access.staff as v; "
        "print(v._dummy_hash.cache_info().currsize)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == "0"
