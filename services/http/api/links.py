"""Family and teacher links: the secret in a ``/v/<link>`` URL -> a websocket token."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from services.booking.scheduling import visit_json
from services.http.api.context import ApiContext
from services.http.fields import Text, parse_body, spec
from services.http.plumbing import json_body, respond


@dataclass(frozen=True)
class Join:
    """A link secret; one that is not 20 to 128 characters is refused 401 like an unknown one."""

    link: str = spec(
        Text("`link` is required", max_len=None, min_len=0, description="20 to 128 characters")
    )


@dataclass(frozen=True)
class You:
    """The seat a link opens."""

    id: str
    role: str


@dataclass(frozen=True)
class Joined:
    """A token for ``/ws`` valid until the visit ends, the visit, and the node's clock."""

    token: str
    expires_ms: int
    you: You
    visit: dict[str, object]
    now_ms: int


class LinksApi:
    """``POST /api/v1/join``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    async def join(self, request: web.Request) -> web.Response:
        """A family or teacher link -> a token for the websocket, valid until the visit ends."""
        body = parse_body(Join, await json_body(request))
        return respond(await self.exchange(body.link))

    async def exchange(self, link: str) -> Joined:
        """What ``join`` answers for ``link``; the visit page carries it too."""
        token, claims, visit, participant = await self._ctx.links.open_link(link)
        await self._ctx.revocations.check(claims)  # a revoked participant's link opens nothing
        return Joined(
            token=token,
            expires_ms=int(claims.exp * 1000),
            you=You(id=participant.id, role=participant.role.value),
            visit=visit_json(visit),
            now_ms=self._ctx.now_ms(),
        )
