"""``tatap serve``: run one server node (the composition root, ``signaling.app``, on aiohttp)."""

from __future__ import annotations

import argparse
from typing import Any

from services.cli.common import settings_of, store_options


def register(sub: Any) -> None:
    """The ``serve`` command (entry point ``tatap.commands``)."""
    p = sub.add_parser("serve", help="run one server node")
    store_options(p)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--redis", help="redis:// URL (several nodes)")
    p.add_argument("--public-url", help="base URL for links, e.g. https://visit.example.go.id")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    # Imported here, not above: every `tatap` command registers this verb, and aiohttp alone
    # would double the time `tatap --help` takes.
    from aiohttp import web

    from services.logs import configure
    from signaling.app import create_app

    settings = settings_of(args)
    configure(settings.log_json)
    _use_uvloop()
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=10,
    )
    return 0


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    uvloop.install()
