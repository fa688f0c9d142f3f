"""Backends chosen once, from settings: the URL scheme picks the store."""

from __future__ import annotations

from services.audit.signing import Ed25519Signer
from services.clock import Clock
from services.errors import ConfigError
from services.settings import Settings
from services.store.protocols import Store
from services.store.sqlite.store import SqliteStore


def create_store(settings: Settings, clock: Clock) -> Store:
    if settings.db_url.startswith("sqlite:///"):
        signer = Ed25519Signer.from_data_dir(settings.data_dir)
        return SqliteStore(settings.sqlite_path, signer, clock.now, settings.data_dir)
    raise ConfigError(f"unsupported database URL scheme: {settings.db_url.split(':', 1)[0]!r}")
