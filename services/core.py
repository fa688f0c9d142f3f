"""The services a node runs on (store, tokens, logins, visits, links, staff login, revocations,
the guard, the notifier, the make-up offerer), built from settings.

``signaling.app.create_app`` is the composition root of a node and builds its services here; a
``tatap`` command that works on visits (``visit create``, ``admin revoke``) builds the same ones
here, since it cannot import the root above it. So a grace period or a limit is read from settings
in one place, whoever runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.access.guard import Guard
from services.access.links import FamilyLinks, VisitLinks
from services.access.logins import LoginGuard, LoginLimits
from services.access.revocation import Revocation, Revocations
from services.access.sessions import SessionLimits, StaffSessions
from services.access.staff import StaffLogin
from services.access.tokens import TokenService
from services.booking.makeup import MakeupOfferer
from services.booking.scheduling import VisitService
from services.clock import Clock
from services.notify.notifier import Notifier, NotifyConfig
from services.notify.webhook import WebhookSender
from services.settings import Settings
from services.store.factory import create_store
from services.store.protocols import Store


@dataclass(frozen=True, slots=True)
class Core:
    """The services one process runs on; ``aclose`` releases them."""

    store: Store
    tokens: TokenService
    logins: LoginGuard
    visits: VisitService
    links: VisitLinks
    staff: StaffLogin
    revocations: Revocations
    guard: Guard
    sessions: StaffSessions  # the consoles' cookie sessions
    notifier: Notifier  # started by a node only (signaling.app); a CLI command leaves it idle
    makeups: MakeupOfferer  # the same: make-up offers from ended visits

    async def aclose(self) -> None:
        """Close the store (pending audit writes finish first), then drop waiting logins."""
        await self.store.aclose()
        await self.logins.aclose()


def create_core(
    settings: Settings,
    clock: Clock,
    on_revoked: Callable[[Revocation], object] = lambda _: None,
) -> Core:
    """Every service from ``settings``; ``on_revoked`` tells this process's sockets at once."""
    sender = webhook_sender(settings)  # first: a refused configuration must not leave a store open
    store = create_store(settings, clock)
    tokens = TokenService(settings.token_keys)
    logins = LoginGuard(
        LoginLimits(
            workers=settings.login_workers,
            queue=settings.login_queue,
            address_failures=settings.login_address_failures,
        ),
        key=next(iter(settings.token_keys.values()), None),
    )
    links = VisitLinks(store, tokens, clock, settings.token_grace_s, FamilyLinks(settings.link_key))
    staff = StaffLogin(store, tokens, clock, settings.staff_token_ttl_s, logins)
    revocations = Revocations(store, clock, on_revoked)
    guard = Guard(tokens, revocations, clock)
    limits = SessionLimits(settings.console_idle_s, settings.console_session_s)
    key = next(iter(settings.token_keys.values()))
    sessions = StaffSessions(tokens, guard, revocations, clock, key, limits)
    notifier = Notifier(store, clock, links.family, notify_config(settings), sender)
    visits = VisitService(store, clock)
    makeups = MakeupOfferer(store, clock, settings.node_id, settings.notify_poll_s)
    return Core(
        store, tokens, logins, visits, links, staff, revocations, guard, sessions, notifier, makeups
    )


def notify_config(settings: Settings) -> NotifyConfig:
    """The notifier's part of ``settings``."""
    return NotifyConfig(
        base_url=settings.base_url,
        node_id=settings.node_id,
        poll_s=settings.notify_poll_s,
        max_attempts=settings.notify_max_attempts,
    )


def webhook_sender(settings: Settings) -> WebhookSender | None:
    """The gateway messages go to, if one is configured (ConfigError if it is badly so)."""
    if not settings.notify_webhook_url:
        return None
    return WebhookSender(
        settings.notify_webhook_url, settings.notify_webhook_secret, settings.notify_timeout_s
    )
