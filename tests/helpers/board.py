"""The officers' today board from a test: read it, mark an inmate ready, and follow its event
stream (server-sent events) on a real HTTP connection."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from tests.helpers.world import World


async def read_board(
    world: World, headers: dict[str, str], facility: str | None = None, **query: str
) -> dict[str, Any]:
    """``GET /api/v1/board`` of the world's facility (or ``facility``); asserts 200."""
    params = {"facility": facility or world.facility_id, **query}
    resp = await world.client.get("/api/v1/board", params=params, headers=headers)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


def row(board: dict[str, Any], visit_id: str) -> dict[str, Any]:
    """The board's row of one visit."""
    found: dict[str, Any] = next(v for v in board["visits"] if v["id"] == visit_id)
    return found


def alert_kinds(board: dict[str, Any]) -> set[tuple[str, str | None]]:
    """The board's alerts as (kind, visit id) pairs."""
    return {(a["kind"], a["visit_id"]) for a in board["alerts"]}


class EventStream:
    """One subscriber of ``/api/v1/board/events``: events by name, comments counted."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp
        self.pings = 0

    async def next(self, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
        """The next event as (name, data); raises ``EOFError`` when the stream ends."""
        name, data = "message", b""
        async with asyncio.timeout(timeout):
            while True:
                line = await self.resp.content.readline()
                if not line:
                    raise EOFError("the stream ended")
                line = line.rstrip(b"\n")
                if line.startswith(b":"):
                    self.pings += 1
                elif line.startswith(b"event: "):
                    name = line[7:].decode()
                elif line.startswith(b"data: "):
                    data = line[6:]
                elif not line and data:
                    return name, orjson.loads(data)

    async def until(self, name: str, timeout: float = 5.0) -> dict[str, Any]:
        """The data of the next event called ``name``, skipping any other."""
        async with asyncio.timeout(timeout):
            while True:
                got, data = await self.next(timeout)
                if got == name:
                    return data

    async def close(self) -> None:
        self.resp.close()


async def subscribe(world: World, headers: dict[str, str]) -> EventStream:
    """A subscriber of the world's facility's board feed, past its `hello`."""
    resp = await world.client.get(
        "/api/v1/board/events", params={"facility": world.facility_id}, headers=headers
    )
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    stream = EventStream(resp)
    name, _ = await stream.next()
    assert name == "hello"
    return stream
