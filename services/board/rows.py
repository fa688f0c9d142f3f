"""The board's facts gathered (the store's and the live side's) and turned into the board, a
row, or a feed event: what the API and the feed call."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import orjson

from services.board.facts import DayFacts, LiveState, VisitFacts
from services.board.today import Board, TerminalRow, VisitRow, alerts, compute, terminal_row
from services.board.today import visit_row as make_visit_row
from services.booking.slots import day_bounds, zone
from services.clock import Clock
from services.domain.model import Terminal
from services.ids import FacilityId, TerminalId, VisitId


class BoardReads(Protocol):
    """The store roles the board reads (``BoardStore`` and a terminal by id)."""

    async def board_day(self, facility_id: str, start_ms: int, end_ms: int) -> DayFacts | None: ...
    async def board_visit(self, visit_id: str) -> VisitFacts | None: ...
    async def get_terminal(self, terminal_id: str) -> Terminal | None: ...


class BoardRows:
    """The board of a facility's day, and single rows, at the clock's now."""

    def __init__(self, store: BoardReads, live: LiveState, clock: Clock) -> None:
        self._store = store
        self._live = live
        self._clock = clock

    def now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    def today(self, timezone: str) -> dt.date:
        """Today's date in the facility's time zone."""
        return dt.datetime.fromtimestamp(self._clock.now(), zone(timezone)).date()

    async def board(self, facts: DayFacts, date: dt.date) -> Board:
        return compute(facts, date.isoformat(), self._live, self.now_ms())

    async def day(self, facility_id: FacilityId, timezone: str, date: dt.date) -> DayFacts | None:
        start_ms, end_ms = day_bounds(date, timezone)
        return await self._store.board_day(facility_id, start_ms, end_ms)

    async def visit(self, visit_id: VisitId) -> VisitRow | None:
        facts = await self._store.board_visit(visit_id)
        return make_visit_row(facts, self._live.visit(visit_id)) if facts else None

    async def terminal(self, terminal_id: TerminalId) -> TerminalRow | None:
        terminal = await self._store.get_terminal(terminal_id)
        return terminal_row(terminal, self._live.terminal(terminal.id)) if terminal else None

    async def visit_event(self, visit_id: VisitId) -> bytes | None:
        """A feed event's data: the visit's row, its terminal's, and their alerts now."""
        row = await self.visit(visit_id)
        if row is None:
            return None
        terminal = await self.terminal(TerminalId(row.terminal_id))
        terminals = [terminal] if terminal is not None else []
        now = self.now_ms()
        data = {"visit": row, "terminal": terminal, "alerts": alerts([row], terminals, now)}
        return orjson.dumps({"now_ms": now, **data})

    async def terminal_event(self, terminal_id: TerminalId) -> bytes | None:
        """A feed event's data: the terminal's row and its alert now."""
        row = await self.terminal(terminal_id)
        if row is None:
            return None
        now = self.now_ms()
        data = {"now_ms": now, "terminal": row, "alerts": alerts([], [row], now)}
        return orjson.dumps(data)
