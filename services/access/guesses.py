"""Wrong guesses of a secret pair (a visit code and the last digits of a NIK) per client
address: a few are forgiven, then the address waits. The pair is short, so without a limit an
address could walk the codes of one NIK suffix; addresses are counted as
``services.addresses.limit_key`` says (IPv6 by its /64), and the table is bounded."""

from __future__ import annotations

from collections import OrderedDict

from services.addresses import limit_key
from services.clock import Clock
from services.errors import RateLimited


class Guesses:
    """Wrong code-and-NIK guesses per client address: ``limit`` within ``window_s``, then 429
    until the oldest falls out. Bounded: the least recently wrong addresses are forgotten."""

    def __init__(self, clock: Clock, limit: int = 10, window_s: float = 600, size: int = 10_000):
        self._clock = clock
        self._limit = limit
        self._window_s = window_s
        self._size = size
        self._wrong: OrderedDict[str, list[float]] = OrderedDict()

    def check(self, address: str) -> None:
        """RateLimited if ``address`` has guessed wrong too often lately."""
        now = self._clock.now()
        recent = [t for t in self._wrong.get(limit_key(address), []) if t > now - self._window_s]
        if len(recent) >= self._limit:
            wait = int(recent[0] + self._window_s - now) + 1
            raise RateLimited("too many wrong guesses; try again later", retry_after_s=wait)

    def wrong(self, address: str) -> None:
        """Count a wrong guess from ``address``."""
        key = limit_key(address)
        now = self._clock.now()
        recent = [t for t in self._wrong.pop(key, []) if t > now - self._window_s]
        self._wrong[key] = [*recent, now][-self._limit :]
        while len(self._wrong) > self._size:
            self._wrong.popitem(last=False)
