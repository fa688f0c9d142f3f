"""How often one participant may come back, and what its comings and goings cost the audit log.

A family token that reconnects in a loop used to write a `reconnected` and a `left` row each
time (hundreds of rows a second). Two things stop that, per participant of a visit:

- **A token bucket** admits `REJOIN_BURST` joins at once and one more every `REJOIN_EVERY_S`:
  an honest phone on a flaky network gets straight back in; a loop is refused `rate_limited`
  with a retry hint.
- **Folding.** A `left` is written at once, unless it cancels a reconnect that was itself folded.
  A participant's first return after a quiet spell is written at once too (an auditor sees an
  honest reconnect when it happened); a return within `FOLD_WINDOW_S` of its previous return is
  folded: once the window passes quietly (or the visit ends), what was folded is written as one
  `reconnected` with `details.reconnects` = how many it stands for, or, when the participant is
  gone by then, as one `left` with that count.

So the log never says a participant is present when it is not: a drop is never held back, only a
reconnect is (by at most the window), and only while it flaps. The first join and the last leave
are always written; what a crash can lose is the count of reconnects folded since the last written
event. A loop writes a handful of rows, not two per cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from signaling.runtime.deadlines import Deadline

REJOIN_BURST = 5  # joins of one participant admitted back to back
REJOIN_EVERY_S = 2.0  # then one more every this many seconds
FOLD_WINDOW_S = 10.0  # comings and goings this close together fold into one event
MAX_TRACKED = 16  # participants remembered per visit (officers' ids are theirs to pick)


@dataclass(slots=True)
class Rejoins:
    """One participant's joins in one visit: its bucket and what is folded but not written."""

    tokens: float
    filled_at: float
    fold_until: float = 0.0  # a reconnect before this time (the last return + window) is folded
    reconnects: int = 0  # reconnects folded since the last written event
    unwritten: bool = False  # a folded reconnect stands (the participant is back, log says left)
    flush: Deadline | None = None  # writes what is folded once the window has passed

    def admit(self, now: float) -> float:
        """Take a token: 0.0 when this join may go ahead, else the seconds until it may."""
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) * REJOIN_EVERY_S

    def reconnected(self, now: float) -> bool:
        """A returning participant took its seat; True if its `reconnected` is written now."""
        folds = now < self.fold_until
        self.fold_until = now + FOLD_WINDOW_S
        if folds:
            self.reconnects += 1
            self.unwritten = True
        return not folds

    def dropped(self, now: float) -> bool:
        """The participant's socket is gone; True if its `left` is written now (always, unless
        it cancels a folded reconnect: then the log already says it left). A drop does not open
        the fold window: the next return, if it is the first in a while, is written at once."""
        if self.unwritten:
            self.unwritten = False
            return False
        return True

    def due(self, now: float) -> bool:
        return now >= self.fold_until

    def folded(self, present: bool) -> tuple[str, dict[str, object]] | None:
        """The one event that stands for what was folded, or None. Nothing is forgotten here:
        the caller calls `written` once that event is on its way (a visit's end may fail to be
        written, and the folded facts must then still be there for the next try)."""
        if self.unwritten and present:
            return ("reconnected", {"reconnects": self.reconnects})
        if self.reconnects and not present:
            return ("left", {"reason": "dropped", "reconnects": self.reconnects})
        return None

    def written(self) -> None:
        """What was folded has been handed to the log: start counting afresh."""
        self.reconnects, self.unwritten = 0, False

    def pending(self) -> bool:
        """Something is folded and not yet written."""
        return self.unwritten or self.reconnects > 0

    def idle(self, now: float) -> bool:
        """Nothing to remember: a full bucket and nothing folded."""
        self._refill(now)
        return self.tokens >= REJOIN_BURST and not self.reconnects and self.flush is None

    def _refill(self, now: float) -> None:
        self.tokens = min(REJOIN_BURST, self.tokens + (now - self.filled_at) / REJOIN_EVERY_S)
        self.filled_at = now
