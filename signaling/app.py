"""The composition root: ``create_app(settings)`` builds one node, choosing every backend once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
from aiohttp import web

from services.access.links import VisitLinks
from services.access.staff import StaffLogin
from services.access.tokens import TokenService
from services.audit.runs import NodeRuns
from services.board.feed import BoardFeed
from services.board.rows import BoardRows
from services.booking.scheduling import VisitService
from services.clock import Clock, SystemClock
from services.core import Core, create_core
from services.http.api.context import ApiContext
from services.http.api.links import LinksApi
from services.http.pages import page_routes
from services.http.plumbing import BODY_TIMEOUT, errors_middleware, forwarded_middleware
from services.http.routes import api_routes
from services.http.sessions import SessionCookies
from services.notify.notifier import Notifier
from services.settings import Settings
from services.store.protocols import Store
from signaling.cluster.factory import Cluster, create_cluster
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
NOTIFIER = web.AppKey("notifier", Notifier)
BOARD_FEED = web.AppKey("board_feed", BoardFeed)


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """One node: every backend chosen once from ``settings``, and the order it all stops in.

    The ``tatap`` CLI and ``tatap demo`` assemble nothing of their own: the demo runs this app,
    and the CLI's visit commands build the same services through ``services.core.create_core``.
    """
    clock = clock or SystemClock()
    app = web.Application(
        middlewares=[errors_middleware, forwarded_middleware(settings.trusted_proxies)],
        client_max_size=64 * 1024,
        handler_args=handler_args(settings),
    )
    app[BODY_TIMEOUT] = settings.body_timeout_s
    cap = ConnectionCap(settings.max_conns_per_address, settings.trusted_proxies)
    install_cap(app, cap)

    cluster = create_cluster(settings)  # first: a refused configuration must not leave a store open
    sockets = SocketIndex()
    core = create_core(settings, clock, sockets.close_revoked)
    store, tokens, visits = core.store, core.tokens, core.visits
    feed = BoardFeed(settings.board_heartbeat_s)  # before the hub, which reports changes to it
    hub = Hub(settings, store, clock, DeadlineScheduler(clock), cluster, feed)
    board = BoardRows(store, hub.board, clock)
    feed.start(board)
    app[BOARD_FEED] = feed
    sockets.listen(feed.close_revoked)  # a logout or a disabled account ends its streams too
    app[STORE], app[TOKENS], app[VISITS], app[HUB] = store, tokens, visits, hub
    app[LINKS], app[STAFF], app[NOTIFIER] = core.links, core.staff, core.notifier
    endpoint = Endpoint(settings, hub, core.guard, store, sockets)
    api = ApiContext(
        store,
        core.guard,
        visits,
        core.links,
        core.staff,
        clock,
        hub,
        settings.base_url,
        core.revocations,
        settings.node_id,
        core.sessions,
        board,
        feed,
        settings.booking_rate,
        settings.slot_rate,
        settings.witness_store,
    )
    # Inside the others: it sees the request the handler saw, and the handler's own answer.
    app.middlewares.append(SessionCookies(core.sessions, settings.base_url).middleware())
    watch = RevocationWatch(store, sockets, settings.revocation_poll_s, clock)
    served = {"/ws": endpoint.handle, "/metrics": _metrics(app, settings, cap)}
    app.router.add_routes(api_routes(api, served))
    app.router.add_routes([protocol_facts.route(settings.early_join_s)])  # before /static
    page_script = protocol_facts.script(settings.early_join_s)
    app.router.add_routes(page_routes(page_script, LinksApi(api).exchange))

    runs = NodeRuns(store, clock, settings.node_id, settings.data_dir)
    app.cleanup_ctx.append(_lifecycle(settings, core, cluster, hub, endpoint, watch, feed, runs))

    async def close_sockets(app: web.Application) -> None:
        feed.close_all()  # board streams end with `resync`, as websockets with 1012
        await hub.close_connections()

    # on_shutdown runs before aiohttp waits for open handlers: websockets are closed (1012)
    # first, so a node with live visits stops at once and its clients know to reconnect.
    app.on_shutdown.append(close_sockets)
    return app


def _lifecycle(
    settings: Settings,
    core: Core,
    cluster: Cluster,
    hub: Hub,
    endpoint: Endpoint,
    watch: RevocationWatch,
    feed: BoardFeed,
    runs: NodeRuns,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Start the node's background work; on the way out, stop everything in a fixed order."""

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await runs.started()  # first: the log says when this node was down before anything else
        beating = asyncio.create_task(runs.run(), name="heartbeat")
        await hub.start()
        keepalive = asyncio.create_task(
            endpoint.keepalive(settings.ping_interval_s, settings.ping_idle_s), name="keepalive"
        )
        await watch.start()
        revoked = asyncio.create_task(watch.run(), name="revocations")
        await core.notifier.start()  # one node only: see docs/notifications.md
        await core.makeups.start()  # the same node: make-up offers from the log
        log.info("node.started", node_id=settings.node_id, db=settings.db_url.split(":", 1)[0])
        warn_untrusted_proxy(settings)
        yield
        # Shutdown order: stop the notifier (a delivery's record still lands) and the timers
        # that reach into visits and sockets; stop finding visits and close sockets (clients
        # reconnect elsewhere); leave the bus, which other nodes reach this one through; then let
        # pending audit writes finish, record the clean stop (``node-stopped``), close the store
        # (``core.aclose``), and last drop the logins still waiting for a password check.
        await core.notifier.aclose()
        await core.makeups.aclose()
        keepalive.cancel()
        revoked.cancel()
        await hub.aclose()
        await feed.aclose()
        await cluster.aclose()
        beating.cancel()
        await runs.stopped()  # the last event of a clean stop
        await core.aclose()
        log.info("node.stopped", node_id=settings.node_id)

    return lifecycle


def _metrics(
    app: web.Application, settings: Settings, cap: ConnectionCap
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``/metrics``: what this node holds right now, in the Prometheus text format."""

    async def metrics(request: web.Request) -> web.Response:
        hub = app[HUB]
        gauges = {
            "tatap_rooms": len(hub.rooms),
            "tatap_participants_connected": sum(len(r.present()) for r in hub.rooms.values()),
            "tatap_terminal_sessions": len(hub.devices),
            "tatap_deadlines_pending": hub.pending_deadlines,
            "tatap_background_tasks": len(hub.tasks),
            "tatap_board_subscribers": app[BOARD_FEED].subscribers(),
        }
        lines = []
        for name, value in gauges.items():
            lines += [f"# TYPE {name} gauge", f'{name}{{node="{settings.node_id}"}} {value}']
        # How often the per-address connection cap bit: raise it if honest users hit it.
        name = "tatap_connections_refused_total"
        lines += [f"# TYPE {name} counter", f'{name}{{node="{settings.node_id}"}} {cap.refused}']
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    return metrics
