"""Shutting a participant out: its link, its tokens, and its open sockets."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from services.domain.model import Role
from services.http.api.context import ApiContext
from services.http.api.visits import Reason
from services.http.fields import parse_body
from services.http.plumbing import json_body, respond
from services.http.staff_auth import StaffAuth
from services.ids import Actor, ParticipantId


@dataclass(frozen=True)
class Revoked:
    """The participant now refused everywhere."""

    participant_id: str
    revoked: bool


class ParticipantsApi:
    """``POST /api/v1/participants/{participant_id}/revoke``."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth) -> None:
        self._ctx = ctx
        self._auth = auth

    async def revoke(self, request: web.Request) -> web.Response:
        """Shut a participant out: its link, its tokens, and its open sockets (closed now)."""
        claims = await self._auth.require(request, Role.OFFICER, Role.ADMIN)
        body = parse_body(Reason, await json_body(request, required=False))
        revocation = await self._ctx.revocations.revoke_participant(
            ParticipantId(request.match_info["participant_id"]),
            Actor(claims.role, claims.sub),
            body.reason,
            facility_id=claims.facility,
        )
        return respond(Revoked(participant_id=revocation.subject, revoked=True))
