"""Shared fixtures; the helpers they are built from live in ``tests.helpers``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.helpers.postgres import PgCluster, running_cluster
from tests.helpers.world import World, build_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for w in build_world(tmp_path):
        yield w


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One real PostgreSQL 15 for the session (tests.helpers.postgres), stopped at its end."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty database in the session's cluster, dropped after the test."""
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url)
