"""Backends chosen once, from settings: the URL scheme picks the store.

``create_store`` opens every role for a node (creating and migrating the database);
``open_audit_reader`` opens the audit log read-only for the offline ``tatap audit`` commands,
and ``pin_audit_key`` is their one write.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.audit.signing import Ed25519Signer
from services.clock import Clock
from services.errors import ConfigError, NotFound
from services.settings import Settings
from services.store.postgres.connection import is_postgres_url
from services.store.postgres.reader import PgAuditReader
from services.store.postgres.store import missing_roles
from services.store.postgres.store import pin_signing_key as pg_pin_key
from services.store.protocols import AuditReader, ReportReader, Store
from services.store.sqlite.reader import SqliteAuditReader
from services.store.sqlite.store import SqliteStore, pin_signing_key


def create_store(settings: Settings, clock: Clock) -> Store:
    """The store a node (or an admin command) works on, of the backend ``settings.db_url`` names."""
    if _is_sqlite(settings):
        signer = Ed25519Signer.from_data_dir(settings.data_dir)
        return SqliteStore(settings.sqlite_path, signer, clock.now, settings.data_dir)
    if is_postgres_url(settings.db_url):
        raise _postgres_incomplete()
    raise _unsupported(settings)


def offline_settings(db_url: str | None, data_dir: str | Path | None) -> Settings:
    """Settings for an offline audit command: ``db_url`` and ``data_dir`` (None: the environment's,
    then the defaults).

    Token keys and the link key play no part offline; passing placeholders keeps settings from
    creating ``token.keys`` and ``link.key`` in what may be an auditor's read-only copy of the
    data directory.
    """
    return Settings.from_env(
        data_dir=data_dir,
        db_url=db_url,
        token_keys={"offline": b"not-used-offline"},
        link_key=b"not-used-offline",
    )


def open_audit_reader(settings: Settings) -> AuditReader:
    """The audit log of an existing database, opened read-only: nothing is created, migrated
    or written. NotFound if there is no database."""
    if _is_sqlite(settings):
        return SqliteAuditReader(_existing_file(settings), settings.data_dir)
    if is_postgres_url(settings.db_url):
        return PgAuditReader(settings.db_url)
    raise _unsupported(settings)


def open_report_reader(settings: Settings) -> ReportReader:
    """What the monthly report reads, from an existing database opened read-only (as
    ``open_audit_reader``). NotFound if there is no database."""
    if _is_sqlite(settings):
        return SqliteAuditReader(_existing_file(settings), settings.data_dir)
    raise _unsupported(settings)


def pin_audit_key(settings: Settings, clock: Clock, reason: str) -> tuple[str, int]:
    """Trust the data directory's signing key from now on, with an ``audit-key-pinned`` event;
    returns the key id and the event's seq. NotFound if there is no database."""
    if _is_sqlite(settings):
        path = _existing_file(settings)
        signer = Ed25519Signer.from_data_dir(settings.data_dir)
        return signer.key_id, pin_signing_key(path, signer, clock.now, reason)
    if is_postgres_url(settings.db_url):
        signer = Ed25519Signer.from_data_dir(settings.data_dir)
        return signer.key_id, asyncio.run(pg_pin_key(settings.db_url, signer, clock.now, reason))
    raise _unsupported(settings)


def _is_sqlite(settings: Settings) -> bool:
    return settings.db_url.startswith("sqlite:///")


def _existing_file(settings: Settings) -> Path:
    """The SQLite file, which an offline command must not create."""
    path = settings.sqlite_path
    if not path.is_file():
        raise NotFound(f"no database at {path} (check --data-dir or --db)")
    return path


def _postgres_incomplete() -> ConfigError:
    """A node is never served a half store: which roles the PostgreSQL store still lacks."""
    missing = missing_roles()
    roles = "; ".join(f"{role} ({', '.join(names)})" for role, names in missing.items())
    return ConfigError(
        "the PostgreSQL store cannot serve a node yet: it lacks "
        f"{roles}. Only `tatap audit verify|export` work on a postgresql:// URL so far"
    )


def _unsupported(settings: Settings) -> ConfigError:
    return ConfigError(f"unsupported database URL scheme: {settings.db_url.split(':', 1)[0]!r}")
