"""Staff login abuse: failed guesses throttled per source address and per account, and the slow
password check run with bounded concurrency.

What each limit stops, and what it must not stop:

- **Per address** (failed logins only): one source that keeps failing, whether it guesses one
  password or sprays many names, is refused for a while. Honest logins never count, so many
  officers behind one NAT address are not throttled for logging in.
- **Per account** (failed logins from anywhere): after a few failures the account's attempts are
  spaced out by an exponential backoff, but only for addresses that failed within the last
  15 minutes themselves. A clean address is never refused for the account's sake, so a
  stranger's guesses cannot lock an officer out of their own account; an attacker who rotates
  addresses gets one guess per fresh address per 15 minutes.
- **Password checks** (argon2 costs 64 MiB and ~0.1 s on purpose) run on a small pool of their
  own, with a bounded queue and at most a couple in flight per address; beyond that the answer
  is 429 at once. Memory stays at a few checks' worth, and one address's flood cannot queue
  ahead of another address's login.

Addresses are counted as services.addresses.limit_key says (IPv6 by its /64). Tables are
bounded: the least recently touched entries are forgotten first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import structlog

from services.addresses import limit_key
from services.errors import RateLimited

T = TypeVar("T")
log = structlog.get_logger("tatap.logins")


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """The numbers behind the throttle; defaults suit one prison's staff."""

    address_failures: int = 20  # failed logins one address may have banked before it is refused
    address_leak_s: float = 30.0  # one banked failure is forgiven this often
    account_free_failures: int = 5  # failures an account takes before its backoff starts
    account_leak_s: float = 60.0
    account_max_backoff_s: float = 60.0
    clean_after_s: float = 900.0  # an address with no failure this long is clean again
    workers: int = 2  # password checks running at once (each holds 64 MiB)
    queue: int = 8  # checks waiting for a worker; beyond that, 429
    per_address: int = 2  # checks running or waiting for one address
    max_entries: int = 10_000  # per table


class _Bucket:
    """A leaky bucket: each failure adds one, ``1 / leak_s`` drains per second."""

    __slots__ = ("level", "at")

    def __init__(self) -> None:
        self.level = 0.0
        self.at = 0.0

    def current(self, now: float, leak_s: float) -> float:
        return max(0.0, self.level - (now - self.at) / leak_s)

    def add(self, now: float, leak_s: float) -> None:
        self.level = self.current(now, leak_s) + 1.0
        self.at = now


class _Table:
    """Buckets by key, at most ``limit`` of them; the stalest is forgotten first."""

    def __init__(self, leak_s: float, limit: int) -> None:
        self._leak = leak_s
        self._limit = limit
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def level(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        return bucket.current(now, self._leak) if bucket is not None else 0.0

    def last(self, key: str) -> float | None:
        """When this key last failed, if the table remembers it."""
        bucket = self._buckets.get(key)
        return bucket.at if bucket is not None else None

    def add(self, key: str, now: float) -> None:
        bucket = self._buckets.pop(key, None) or _Bucket()
        bucket.add(now, self._leak)
        self._buckets[key] = bucket
        while len(self._buckets) > self._limit:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


class LoginGuard:
    """Decides whether a login attempt may go ahead, and runs its password check."""

    def __init__(self, limits: LoginLimits | None = None) -> None:
        self.limits = lim = limits or LoginLimits()
        self._addresses = _Table(lim.address_leak_s, lim.max_entries)
        self._accounts = _Table(lim.account_leak_s, lim.max_entries)
        self._pool = ThreadPoolExecutor(max_workers=lim.workers, thread_name_prefix="password")
        self._pending = 0
        self._pending_by_address: dict[str, int] = {}

    def admit(self, account: str, address: str, now: float) -> None:
        """Raises RateLimited when this address, or this account from this address, must wait."""
        lim = self.limits
        address = limit_key(address)
        # Refused until a whole failure has been forgiven: after N failures in quick succession
        # the level is a hair below N, and must not let the next one through.
        own = self._addresses.level(address, now)
        if own > lim.address_failures - 1:
            wait = (own - lim.address_failures + 1) * lim.address_leak_s
            raise RateLimited("too many failed logins from here; try again later",
                              retry_after_s=int(wait) + 1)  # fmt: skip
        last = self._addresses.last(address)
        if last is None or now - last >= lim.clean_after_s:
            return  # a clean address is never held back for the account's sake
        key = account.casefold()
        over = self._accounts.level(key, now) - lim.account_free_failures
        if over >= 0:
            backoff = min(2.0**over, lim.account_max_backoff_s)
            wait = (self._accounts.last(key) or now) + backoff - now
            if wait > 0:
                raise RateLimited("too many failed logins for this name; try again shortly",
                                  retry_after_s=int(wait) + 1)  # fmt: skip

    def failed(self, account: str, address: str, now: float) -> None:
        key = limit_key(address)
        self._addresses.add(key, now)
        self._accounts.add(account.casefold(), now)
        level = self._addresses.level(key, now)
        if level > self.limits.address_failures - 1:
            # Only a failure that was let through gets here: once per crossing, not per refused
            # try, so a flood does not flood the log too.
            log.warning("login.address_throttled", address=key, failures=round(level))

    async def check(self, address: str, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the password pool, or RateLimited at once when the queue is full."""
        lim = self.limits
        address = limit_key(address)
        mine = self._pending_by_address.get(address, 0)
        if self._pending >= lim.workers + lim.queue or mine >= lim.per_address:
            raise RateLimited("too many logins at once; try again shortly", retry_after_s=1)
        self._pending += 1
        self._pending_by_address[address] = mine + 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._pending -= 1
            left = self._pending_by_address[address] - 1
            if left:
                self._pending_by_address[address] = left
            else:
                del self._pending_by_address[address]

    async def aclose(self) -> None:
        """Waiting checks are dropped; a running one finishes in its thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)
