"""Staff login abuse: failed guesses throttled per source and per account, without letting a
stranger lock an officer out, and the slow password check run with bounded concurrency.

Who is asking, first: a **known** source is the officer's browser with a valid "known device"
cookie for this account, or an address that logged into this account in the last 30 days (see
services.access.known_sources). Only a right password makes a source known, for that account only.

What each limit stops, and what it must not stop:

- **Per source** (failed logins only): one address that keeps failing, whether it guesses one
  password or sprays many names, is refused for a while. A known device is counted by its own
  id instead of its address, so a guesser behind the officer's NAT cannot refuse the officer's
  browser, and a stolen cookie still buys only the same few failures. Honest logins never
  count, so many officers behind one NAT address are not throttled for logging in.
- **Per account** (failed logins from anywhere): after a few failures every unknown source,
  fresh addresses included, must wait out an exponential backoff from the account's last
  failure that was let through. Rotating addresses (an IPv6 /64 is one address here, but a
  botnet has many) therefore buys one guess per backoff for the whole account, not one per
  address. Known sources are never held back by it: the officer's own typo, or a stranger's
  guesses, cannot lock the officer's usual desk out. Refused tries are not failures (they cost
  no password check and add nothing), so polling does not lengthen the backoff; only a guess
  that was let through restarts it, from the moment it was let through, so that of many tries
  sent together as a backoff ends one gets through. An address is everyone behind it: a
  guesser at the officer's own NAT address is known too, and meets only the per-source limit
  (one failure forgiven every 30 s). The price: an officer on a new device and a new address
  during an attack waits up to ``account_max_backoff_s``.
- **Password checks** run on a pool of their own (services.access.password_pool): a couple
  at once, a bounded queue, at most a couple per source, 429 at once beyond that. Known sources
  are served first and have places that strangers cannot fill, so a flood from many addresses
  does not hold up an officer's usual login.

Addresses are counted as services.addresses.limit_key says (IPv6 by its /64). Every table is
bounded: the least recently touched entries are forgotten first.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog

from services.access.known_sources import KnownSources
from services.access.password_pool import PasswordPool
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
    known_for_s: float = 30 * 86400.0  # a source stays known this long after a login
    workers: int = 2  # password checks running at once (each holds 64 MiB)
    queue: int = 8  # checks waiting for a worker; beyond that, 429
    reserved: int = 4  # more places in that queue that only known sources may take
    per_address: int = 2  # checks running or waiting for one source
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

    def restart(self, key: str, now: float) -> None:
        """Count ``last`` from now, adding no failure."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.level, bucket.at = bucket.current(now, self._leak), now

    def add(self, key: str, now: float) -> None:
        bucket = self._buckets.pop(key, None) or _Bucket()
        bucket.add(now, self._leak)
        self._buckets[key] = bucket
        while len(self._buckets) > self._limit:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass(frozen=True, slots=True)
class Source:
    """Who tries to log in, as the limits count them."""

    address: str  # the limit key of the client address
    device: str  # the id of a valid known-device cookie for the account, or ""
    known: bool  # this device or address logged into the account recently

    @property
    def key(self) -> str:
        """What the per-source failure limit counts: the device if there is one."""
        return f"device:{self.device}" if self.device else self.address


class LoginGuard:
    """Decides whether a login attempt may go ahead, and runs its password check."""

    def __init__(self, limits: LoginLimits | None = None, key: bytes | None = None) -> None:
        self.limits = lim = limits or LoginLimits()
        self._addresses = _Table(lim.address_leak_s, lim.max_entries)
        self._accounts = _Table(lim.account_leak_s, lim.max_entries)
        # Without a key (tests, tools) cookies are good until the process ends.
        self._known = KnownSources(key or secrets.token_bytes(32), lim.known_for_s, lim.max_entries)
        self._pool = PasswordPool(lim.workers, lim.queue, lim.reserved, lim.per_address)

    @property
    def pending(self) -> int:
        """Password checks running or waiting."""
        return self._pool.pending

    def source(self, account: str, address: str, cookie: str, now: float) -> Source:
        account, address = account.casefold(), limit_key(address)
        device = self._known.device(account, cookie, now)
        known = bool(device) or self._known.address_known(account, address, now)
        return Source(address, device, known)

    def admit(self, account: str, source: Source, now: float) -> None:
        """Raises RateLimited when this source, or this account for a stranger, must wait."""
        lim = self.limits
        # Refused until a whole failure has been forgiven: after N failures in quick succession
        # the level is a hair below N, and must not let the next one through.
        own = self._addresses.level(source.key, now)
        if own > lim.address_failures - 1:
            wait = (own - lim.address_failures + 1) * lim.address_leak_s
            raise RateLimited(
                "too many failed logins from here; try again later", retry_after_s=int(wait) + 1
            )
        if source.known:
            return  # the account's own desk is never held back for the account's sake
        key = account.casefold()
        over = self._accounts.level(key, now) - lim.account_free_failures
        if over >= 0:
            backoff = min(2.0**over, lim.account_max_backoff_s)
            wait = (self._accounts.last(key) or now) + backoff - now
            if wait > 0:
                raise RateLimited(
                    "too many failed logins for this name; try again shortly",
                    retry_after_s=int(wait) + 1,
                )
            # This stranger's try is the one the backoff allows: the next waits from now, so
            # that many sent at once when the backoff ends do not all get through.
            self._accounts.restart(key, now)

    def failed(self, account: str, source: Source, now: float) -> None:
        self._addresses.add(source.key, now)
        self._accounts.add(account.casefold(), now)
        level = self._addresses.level(source.key, now)
        if level > self.limits.address_failures - 1:
            # Only a failure that was let through gets here: once per crossing, not per refused
            # try, so a flood does not flood the log too.
            log.warning("login.address_throttled", address=source.key, failures=round(level))

    def succeeded(self, account: str, source: Source, now: float) -> str:
        """Remember the source as known for the account; the device cookie's value to set."""
        return self._known.remember(account.casefold(), source.address, source.device, now)

    async def check(self, source: Source, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the password pool, or RateLimited at once when the queue is full."""
        return await self._pool.run(source.key, source.known, fn, *args)

    async def aclose(self) -> None:
        """Waiting checks are dropped; a running one finishes in its thread."""
        self._pool.close()
