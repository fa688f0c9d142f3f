"""What the verb modules of ``tatap`` share: the data options, settings from flags, the services
one command runs on, and JSON output."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from services.clock import SystemClock
from services.core import Core, create_core
from services.settings import Settings
from services.store.factory import create_store
from services.store.protocols import Store


def store_options(p: argparse.ArgumentParser) -> None:
    """``--db`` and ``--data-dir``: which deployment's data a command works on."""
    p.add_argument("--db", help="database URL (default sqlite:///<data-dir>/tatap.db)")
    p.add_argument("--data-dir", help="where the database and keys live (default ./var)")


def settings_of(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by whichever of the common flags were given."""
    return Settings.from_env(
        data_dir=getattr(args, "data_dir", None),
        db_url=getattr(args, "db", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        redis_url=getattr(args, "redis", None),
        public_url=getattr(args, "public_url", None),
    )


def with_store(args: argparse.Namespace, fn: Callable[[Store, Settings], Awaitable[int]]) -> int:
    """Run ``fn`` on a store opened from the flags (admin commands need nothing more)."""
    settings = settings_of(args)

    async def run() -> int:
        store = create_store(settings, SystemClock())
        try:
            return await fn(store, settings)
        finally:
            await store.aclose()

    return asyncio.run(run())


def with_core(args: argparse.Namespace, fn: Callable[[Core, Settings], Awaitable[int]]) -> int:
    """Run ``fn`` on the services a node runs on, built from the flags as a node builds them."""
    settings = settings_of(args)

    async def run() -> int:
        core = create_core(settings, SystemClock())
        try:
            return await fn(core, settings)
        finally:
            await core.aclose()

    return asyncio.run(run())


def print_json(data: Any) -> None:
    """Indented JSON on standard output, non-ASCII kept as is (names in Indonesian)."""
    print(json.dumps(data, indent=2, ensure_ascii=False))
