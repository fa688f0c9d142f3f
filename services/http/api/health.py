"""Liveness and readiness, for a load balancer or an orchestrator."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiohttp import web

from services.http.api.context import ApiContext
from services.http.plumbing import respond

log = structlog.get_logger("tatap.http")


@dataclass(frozen=True)
class Alive:
    """The process answers."""

    status: str
    node_id: str


@dataclass(frozen=True)
class Ready:
    """The store answers; ``rooms`` is how many visits this node holds live."""

    status: str
    rooms: int


@dataclass(frozen=True)
class NotReady:
    """The store does not answer: send no traffic here."""

    status: str


class HealthApi:
    """``GET /healthz`` and ``GET /readyz``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    async def alive(self, request: web.Request) -> web.Response:
        """200 while the process serves HTTP at all."""
        return respond(Alive(status="ok", node_id=self._ctx.node_id))

    async def ready(self, request: web.Request) -> web.Response:
        """200 when the store answers a read, else 503."""
        try:
            await self._ctx.store.get_facility("-")
        except Exception:
            log.exception("readyz.store_failed")
            return respond(NotReady(status="store unavailable"), status=503)
        return respond(Ready(status="ready", rooms=len(self._ctx.live.rooms)))
