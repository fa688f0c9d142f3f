"""Shared fixtures; the helpers they are built from live in ``tests.helpers``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.world import World, build_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for w in build_world(tmp_path):
        yield w
