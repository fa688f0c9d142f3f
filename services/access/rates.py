"""Public booking calls per client address: a token bucket each, sized for carrier-grade NAT.

What it is for: a family books once a week or so, yet ``POST /api/v1/requests`` is public and
every call costs a write transaction. Without a limit one script could take a day's slots with
made-up NIKs (a NIK's checks are only plausibility) or keep the writer busy for everyone else.

Why it is this loose (the trade-off): Indonesian mobile carriers put hundreds of subscribers
behind one IPv4 address (carrier-grade NAT), and a rush (the day's slots open at a known hour)
brings many of them at once. A tight limit (say 5 a minute) would refuse honest families for
sharing an address with strangers, so the default is ``burst`` 30 calls at once and ``per_s`` 2
a second sustained from one address. That still holds one script to about two bookings a
second, and each booking needs its own NIK and inmate (quotas: one a week each). What it cannot
stop: a client with many addresses (an IPv6 /64 counts as one address here, but a botnet has
many); quotas and officer approval are the defences there. A family refused in a rush waits a
second or two (``Retry-After``) and tries again; the page says so.

Memory is bounded: at most ``size`` addresses are remembered, the least recently seen forgotten
first. A forgotten address starts again with a full bucket, which is what it would have had
after a quiet while anyway. Addresses are counted as ``services.addresses.limit_key`` says.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from services.addresses import limit_key
from services.clock import Clock
from services.errors import ConfigError, RateLimited


@dataclass(frozen=True, slots=True)
class Rate:
    """``burst`` calls at once, refilled at ``per_s`` a second."""

    per_s: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.per_s > 0 and self.burst >= 1):
            raise ConfigError("a rate needs per_s above zero and a burst of at least 1")


BOOKING = Rate(per_s=2.0, burst=30)  # POST /api/v1/requests
SLOT_LISTING = Rate(per_s=5.0, burst=60)  # GET .../slots: cheaper, and a family browses days
MAX_ADDRESSES = 50_000  # about 5 MB of buckets at most


class AddressRates:
    """One token bucket per client address; ``take`` spends a token or raises RateLimited.

    A refused call spends nothing, so a client that keeps knocking is let in as soon as a token
    has refilled, and ``Retry-After`` says when that is."""

    def __init__(self, clock: Clock, rate: Rate, size: int = MAX_ADDRESSES) -> None:
        if size < 1:
            raise ValueError("remember at least one address")
        self._clock = clock
        self._rate = rate
        self._size = size
        # limit key → (tokens left, when counted); most recently seen last.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, address: str) -> None:
        """Spend one of ``address``'s tokens; RateLimited (with ``retry_after_s``) if none."""
        key = limit_key(address)
        now = self._clock.now()
        rate = self._rate
        tokens, at = self._buckets.pop(key, (float(rate.burst), now))
        # max(0, ...): a clock stepped back must not drain a bucket.
        tokens = min(float(rate.burst), tokens + max(0.0, now - at) * rate.per_s)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            wait = math.ceil((1.0 - tokens) / rate.per_s)
            raise RateLimited("too many requests from here; try again shortly", retry_after_s=wait)
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > self._size:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)
