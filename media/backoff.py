"""Capped, jittered exponential backoff for reconnect loops.

"Full jitter" (a random delay between zero and the current cap) spreads a crowd of terminals that
lost the same node over the whole window instead of letting them return in lockstep.
"""

from __future__ import annotations

import asyncio
import random


class Backoff:
    """Delays of 0..base, 0..2·base, … capped at ``cap`` seconds; ``reset()`` after a success."""

    def __init__(
        self, base: float = 0.5, cap: float = 10.0, rng: random.Random | None = None
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self._base = base
        self._cap = cap
        self._rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        ceiling = min(self._cap, self._base * (2**self.attempts))
        self.attempts = min(self.attempts + 1, 32)
        # Never zero: a server that refuses at once must not be hammered in a tight loop.
        return max(self._base / 10, self._rng.uniform(0, ceiling))

    def reset(self) -> None:
        self.attempts = 0

    async def wait(self, stop: asyncio.Event | None = None) -> None:
        """Sleep for the next delay, or less if ``stop`` is set meanwhile."""
        delay = self.next_delay()
        if stop is None:
            await asyncio.sleep(delay)
            return
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            pass
