"""What the family of a visit was told: each message, its delivery state, and a wa.me link to
send it by hand; an officer who did so marks it sent (officers, facility scoped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.errors import Conflict, NotFound
from services.http.api.context import ApiContext
from services.http.plumbing import respond
from services.http.staff_auth import SCHEDULERS, StaffAuth, scoped_visit
from services.ids import Actor
from services.notify.messages import wa_me, with_link
from services.notify.notifier import notified_event
from services.notify.records import Channel, Message

MAX_MESSAGES = 100  # a visit has a handful: requested, approved, a reminder, a cancellation


@dataclass(frozen=True)
class Notifications:
    """A visit's messages, oldest first: ``{id, kind, channel, state, attempts, last_error,
    created_ms, sent_ms, phone, text, wa_me}`` each. ``channel`` is ``webhook`` (the notifier
    sends it) or ``wa.me`` (no gateway: an officer sends it from ``wa_me``)."""

    visit_id: str
    messages: list[dict[str, Any]]


class NotificationsApi:
    """``/api/v1/requests/{visit_id}/notifications[/{message_id}/sent]``."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth) -> None:
        self._ctx = ctx
        self._auth = auth

    async def list(self, request: web.Request) -> web.Response:
        """The visit's messages with their delivery state, for an officer of its facility."""
        claims = await self._auth.require(request, *SCHEDULERS)
        visit = await scoped_visit(self._ctx.store, claims, request)
        found = await self._ctx.store.visit_messages(visit.id, MAX_MESSAGES)
        link = self._ctx.links.family.url(self._ctx.base_url, visit)
        return respond(Notifications(visit.id, [_view(m, link) for m in found]))

    async def sent(self, request: web.Request) -> web.Response:
        """An officer sent a message by hand (from its wa.me link): it is ``sent`` and audited
        as the officer's, and the notifier does not send it again. 409 if it is sent or
        skipped already."""
        claims = await self._auth.require(request, *SCHEDULERS)
        visit = await scoped_visit(self._ctx.store, claims, request)
        found = await self._ctx.store.visit_messages(visit.id, MAX_MESSAGES)
        message = next((m for m in found if m.id == request.match_info["message_id"]), None)
        if message is None:
            raise NotFound("no such message")
        event = notified_event(message, Actor(claims.role, claims.sub), Channel.WA_ME)
        if not await self._ctx.store.message_sent(message.id, self._ctx.now_ms(), event):
            raise Conflict(f"the message is {message.state.value} already")
        after = await self._ctx.store.visit_messages(visit.id, MAX_MESSAGES)
        link = self._ctx.links.family.url(self._ctx.base_url, visit)
        return respond(Notifications(visit.id, [_view(m, link) for m in after]))


def _view(m: Message, link: str | None) -> dict[str, Any]:
    """A message as an officer sees it; the link is built, never stored, and a message about a
    visit no longer open carries none."""
    text = with_link(m.text, link if m.kind.carries_link else None)
    return {
        "id": m.id,
        "kind": m.kind.value,
        "channel": m.channel.value,
        "state": m.state.value,
        "attempts": m.attempts,
        "last_error": m.last_error or None,
        "created_ms": m.created_ms,
        "sent_ms": m.sent_ms,
        "phone": m.phone,
        "text": text,
        "wa_me": wa_me(m.phone, text),
    }
