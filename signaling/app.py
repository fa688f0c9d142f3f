"""The composition root: ``create_app(settings)`` builds one node, choosing every backend once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from services.access.guard import Guard
from services.access.links import VisitLinks
from services.access.logins import LoginGuard, LoginLimits
from services.access.revocation import Revocations
from services.access.staff import StaffLogin
from services.access.tokens import TokenService
from services.booking.scheduling import VisitService
from services.clock import Clock, SystemClock
from services.http.api.context import ApiContext
from services.http.pages import page_routes
from services.http.plumbing import BODY_TIMEOUT, errors_middleware, forwarded_middleware
from services.http.routes import api_routes
from services.settings import Settings
from services.store.factory import create_store
from services.store.protocols import Store
from signaling.cluster.bus import create_bus
from signaling.endpoint import Endpoint
from signaling.protocol import facts as protocol_facts
from signaling.runtime.deadlines import DeadlineScheduler
from signaling.transport.socket_index import RevocationWatch, SocketIndex
from signaling.transport.socket_limits import ConnectionCap, handler_args, warn_untrusted_proxy
from signaling.transport.upgrade import install_cap
from signaling.visits.hub import Hub

log = structlog.get_logger("tatap.app")

STORE = web.AppKey("store", Store)
HUB = web.AppKey("hub", Hub)
VISITS = web.AppKey("visits", VisitService)
LINKS = web.AppKey("links", VisitLinks)
STAFF = web.AppKey("staff", StaffLogin)
TOKENS = web.AppKey("tokens", TokenService)


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    clock = clock or SystemClock()
    app = web.Application(
        middlewares=[errors_middleware, forwarded_middleware(settings.trusted_proxies)],
        client_max_size=64 * 1024,
        handler_args=handler_args(settings),
    )
    app[BODY_TIMEOUT] = settings.body_timeout_s
    cap = ConnectionCap(settings.max_conns_per_address, settings.trusted_proxies)
    install_cap(app, cap)
    tokens = TokenService(settings.token_keys)
    app[TOKENS] = tokens

    bus = create_bus(settings)  # first: a refused configuration must not leave a store open
    store = create_store(settings, clock)
    logins = LoginGuard(
        LoginLimits(
            workers=settings.login_workers,
            queue=settings.login_queue,
            address_failures=settings.login_address_failures,
        ),
        key=next(iter(settings.token_keys.values()), None),
    )
    visits = VisitService(store, clock)
    links = VisitLinks(store, tokens, clock, settings.token_grace_s)
    staff = StaffLogin(store, tokens, clock, settings.staff_token_ttl_s, logins)
    hub = Hub(settings, store, clock, DeadlineScheduler(clock), bus)
    app[STORE], app[VISITS], app[LINKS], app[STAFF], app[HUB] = store, visits, links, staff, hub
    sockets = SocketIndex()
    revocations = Revocations(store, clock, sockets.close_revoked)
    guard = Guard(tokens, revocations, clock)
    endpoint = Endpoint(settings, hub, guard, store, sockets)
    api = ApiContext(
        store,
        guard,
        visits,
        links,
        staff,
        clock,
        hub,
        settings.base_url,
        revocations,
        settings.node_id,
    )
    watch = RevocationWatch(store, sockets, settings.revocation_poll_s, clock)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await hub.start()
        keepalive = asyncio.create_task(
            endpoint.keepalive(settings.ping_interval_s, settings.ping_idle_s), name="keepalive"
        )
        await watch.start()
        revoked = asyncio.create_task(watch.run(), name="revocations")
        log.info("node.started", node_id=settings.node_id, db=settings.db_url.split(":", 1)[0])
        warn_untrusted_proxy(settings)
        yield
        # Shutdown order: stop finding visits and close sockets (clients reconnect elsewhere),
        # let pending audit writes finish, then close the store.
        keepalive.cancel()
        revoked.cancel()
        await hub.aclose()
        await bus.aclose()
        await store.aclose()
        await logins.aclose()
        log.info("node.stopped", node_id=settings.node_id)

    async def close_sockets(app: web.Application) -> None:
        await hub.close_connections()

    app.cleanup_ctx.append(lifecycle)
    # on_shutdown runs before aiohttp waits for open handlers: websockets are closed (1012)
    # first, so a node with live visits stops at once and its clients know to reconnect.
    app.on_shutdown.append(close_sockets)

    async def metrics(request: web.Request) -> web.Response:
        """Prometheus text format: what this node holds right now."""
        hub = app[HUB]
        gauges = {
            "tatap_rooms": len(hub.rooms),
            "tatap_participants_connected": sum(len(r.present()) for r in hub.rooms.values()),
            "tatap_terminal_sessions": len(hub.devices),
            "tatap_deadlines_pending": hub.pending_deadlines,
            "tatap_background_tasks": len(hub.tasks),
        }
        lines = []
        for name, value in gauges.items():
            lines += [f"# TYPE {name} gauge", f'{name}{{node="{settings.node_id}"}} {value}']
        # How often the per-address connection cap bit: raise it if honest users hit it.
        name = "tatap_connections_refused_total"
        lines += [f"# TYPE {name} counter", f'{name}{{node="{settings.node_id}"}} {cap.refused}']
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    app.router.add_routes(api_routes(api, {"/ws": endpoint.handle, "/metrics": metrics}))
    app.router.add_routes([protocol_facts.route(settings.early_join_s)])  # before /static
    app.router.add_routes(page_routes())
    return app
