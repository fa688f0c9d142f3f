"""What the family of a visit was told: each message, its delivery state, and a wa.me link to
send it by hand (officers, facility scoped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.http.api.context import ApiContext
from services.http.plumbing import respond
from services.http.staff_auth import SCHEDULERS, StaffAuth, scoped_visit
from services.notify.messages import wa_me, with_link

MAX_MESSAGES = 100  # a visit has a handful: requested, approved, a reminder, a cancellation


@dataclass(frozen=True)
class Notifications:
    """A visit's messages, oldest first: ``{id, kind, channel, state, attempts, last_error,
    created_ms, sent_ms, phone, text, wa_me}`` each. ``channel`` is ``webhook`` (the notifier
    sends it) or ``wa.me`` (no gateway: an officer sends it from ``wa_me``)."""

    visit_id: str
    messages: list[dict[str, Any]]


class NotificationsApi:
    """``/api/v1/requests/{visit_id}/notifications``."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth) -> None:
        self._ctx = ctx
        self._auth = auth

    async def list(self, request: web.Request) -> web.Response:
        """The visit's messages with their delivery state, for an officer of its facility."""
        claims = await self._auth.require(request, *SCHEDULERS)
        visit = await scoped_visit(self._ctx.store, claims, request)
        found = await self._ctx.store.visit_messages(visit.id, MAX_MESSAGES)
        link = self._ctx.links.family.url(self._ctx.base_url, visit)
        out = []
        for m in found:
            # The link is built, never stored; a message for a visit no longer open has none.
            text = with_link(m.text, link if m.kind.carries_link else None)
            out.append(
                {
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
            )
        return respond(Notifications(visit_id=visit.id, messages=out))
