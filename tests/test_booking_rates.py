"""Public booking calls are limited per client address: a token bucket (burst, then a steady
rate), 429 with Retry-After beyond it, an IPv6 /64 counted as one address, a bounded table, and
behind a trusted proxy the forwarded client counted, not the proxy.

Source addresses on a real server are client sockets bound to their own loopback address
(127.0.0.2, 127.0.0.3 …)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.access.rates import AddressRates, Rate
from services.clock import FakeClock
from services.errors import ConfigError, RateLimited
from tests.helpers.world import World, build_world

FEW = Rate(per_s=0.5, burst=3)  # three at once, then one every two seconds


@asynccontextmanager
async def limited_world(tmp_path: Path, **settings: Any) -> AsyncIterator[World]:
    async for world in build_world(tmp_path, booking_rate=FEW, slot_rate=FEW, **settings):
        yield world


@asynccontextmanager
async def source(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client whose connections come from ``address``."""
    connector = aiohttp.TCPConnector(limit=0, local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def book(
    world: World, session: aiohttp.ClientSession, forwarded_for: str = ""
) -> tuple[int, str, str | None]:
    """POST an empty request (400 when let through): status, error code, Retry-After."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    url = world.client.make_url("/api/v1/requests")
    async with session.post(url, json={}, headers=headers) as resp:
        body = await resp.json()
        return resp.status, body["error"]["code"], resp.headers.get("Retry-After")


async def test_a_burst_then_the_steady_rate() -> None:
    """``burst`` calls pass at once; the next is refused with the wait until a token refills,
    and passes once that wait is over."""
    clock = FakeClock()
    rates = AddressRates(clock, FEW)
    for _ in range(3):
        rates.take("203.0.113.7")
    with pytest.raises(RateLimited) as refused:
        rates.take("203.0.113.7")
    assert refused.value.details == {"retry_after_s": 2}
    await clock.advance(1.0)
    with pytest.raises(RateLimited) as again:
        rates.take("203.0.113.7")
    assert again.value.details == {"retry_after_s": 1}  # a refusal spent nothing: 1 s to go
    await clock.advance(1.0)
    rates.take("203.0.113.7")
    rates.take("198.51.100.9")  # another address has its own bucket


def test_an_ipv6_slash_64_is_one_address() -> None:
    """A client picks any address of its /64 at will: all of them share one bucket; the next
    /64 has its own."""
    rates = AddressRates(FakeClock(), FEW)
    net = ip_network("2001:db8:1:2::/64")
    for i in range(3):
        rates.take(str(net[i + 1]))
    with pytest.raises(RateLimited):
        rates.take(str(net[999_999]))
    rates.take("2001:db8:1:3::1")
    assert len(rates) == 2


def test_the_table_forgets_the_least_recently_seen() -> None:
    """At most ``size`` addresses are remembered; the one seen longest ago goes first (and
    comes back with a full bucket), while a recently seen one keeps its count."""
    rates = AddressRates(FakeClock(), FEW, size=2)
    for _ in range(3):
        rates.take("10.0.0.1")
        rates.take("10.0.0.2")
    rates.take("10.0.0.3")  # 10.0.0.1 was seen before 10.0.0.2: it is forgotten
    assert len(rates) == 2
    for _ in range(3):
        rates.take("10.0.0.1")  # forgotten: a full bucket again (and 10.0.0.2 goes)
    rates.take("10.0.0.3")
    rates.take("10.0.0.3")  # its third: it was not forgotten
    with pytest.raises(RateLimited):
        rates.take("10.0.0.3")
    rates.take("10.0.0.2")  # forgotten just now: a full bucket


def test_a_rate_must_make_sense() -> None:
    """A zero rate or an empty burst is a configuration error, caught at start-up."""
    for per_s, burst in ((0.0, 30), (2.0, 0), (-1.0, 5)):
        with pytest.raises(ConfigError):
            Rate(per_s, burst)


async def test_requests_are_limited_per_source_address(tmp_path: Path) -> None:
    """On a real server: three calls from 127.0.0.2 pass (and fail validation), the fourth is
    429 ``rate_limited`` with Retry-After, before its body is read; 127.0.0.3 is not held back."""
    async with limited_world(tmp_path) as world:
        async with source("127.0.0.2") as first, source("127.0.0.3") as second:
            answers = [await book(world, first) for _ in range(4)]
            assert [a[:2] for a in answers[:3]] == [(400, "bad_request")] * 3
            assert answers[3] == (429, "rate_limited", "2")
            assert (await book(world, second))[0] == 400


async def test_free_slots_are_limited_too(tmp_path: Path) -> None:
    """The free-slot listing has a bucket of its own, with the same 429."""
    async with limited_world(tmp_path) as world:
        date = dt.date.fromtimestamp(world.clock.now()).isoformat()
        url = f"/api/v1/facilities/{world.facility_id}/slots?date={date}"
        statuses = [(await world.client.get(url)).status for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert (await book(world, world.client.session))[0] == 400  # bookings: their own bucket


async def test_the_day_list_shares_the_free_slot_listings_bucket(tmp_path: Path) -> None:
    """The page asks for the dates, then a day's slots: both draw on one bucket per address,
    so that the day list is no way around the slot listing's limit."""
    async with limited_world(tmp_path) as world:
        date = dt.date.fromtimestamp(world.clock.now()).isoformat()
        days = f"/api/v1/facilities/{world.facility_id}/days?kind=regular"
        slots = f"/api/v1/facilities/{world.facility_id}/slots?date={date}"
        statuses = [(await world.client.get(url)).status for url in (days, slots, days, slots)]
        assert statuses == [200, 200, 200, 429]
        resp = await world.client.get(days)
        assert resp.status == 429 and resp.headers["Retry-After"]


async def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(tmp_path: Path) -> None:
    """Many families behind one proxy: each forwarded client has its own bucket."""
    async with limited_world(tmp_path, trusted_proxies=(ip_network("127.0.0.2/32"),)) as world:
        async with source("127.0.0.2") as proxy:
            for _ in range(3):
                await book(world, proxy, forwarded_for="203.0.113.7")
            assert (await book(world, proxy, forwarded_for="203.0.113.7"))[0] == 429
            assert (await book(world, proxy, forwarded_for="198.51.100.9"))[0] == 400


async def test_a_forwarded_for_from_an_untrusted_peer_buys_nothing(tmp_path: Path) -> None:
    """A client that writes its own X-Forwarded-For is still counted by its own address."""
    async with limited_world(tmp_path) as world:
        async with source("127.0.0.4") as client:
            statuses = [
                (await book(world, client, forwarded_for=f"203.0.113.{i}"))[0] for i in range(4)
            ]
            assert statuses == [400, 400, 400, 429]
