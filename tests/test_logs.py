"""Logs: per-connection context bound, static event names, no secrets or personal data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import LogCapture

from services.domain.model import Role
from tests.helpers.world import World


@pytest.fixture
def captured() -> Iterator[LogCapture]:
    capture = LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    try:
        yield capture
    finally:
        structlog.reset_defaults()


async def test_connection_logs_carry_visit_role_and_node(
    world: World, captured: LogCapture
) -> None:
    """Every line logged for a websocket names its visit, role and node; none holds the token."""
    visit = await world.schedule()
    token = await world.token(visit, Role.FAMILY)
    fam = await world.connect(token)
    await fam.expect("welcome")
    await fam.send({"type": "leave"})
    await fam.until("ended")
    joined = [e for e in captured.entries if e["event"] == "ws.joined"]
    assert joined and joined[0]["visit_id"] == visit.visit.id
    assert joined[0]["role"] == "family" and joined[0]["node_id"] == "node-test"
    ended = [e for e in captured.entries if e["event"] == "visit.ended"]
    assert ended[0]["reason"] == "hangup"
    text = repr(captured.entries)
    assert token not in text
    for secret in visit.links.values():
        assert secret not in text
