"""A node behind a TLS proxy that it does not trust says so at start-up: every client would count
as the proxy's one address for the connection cap and the login throttle."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from tests.helpers.world import build_world


async def startup_events(tmp_path: Path, **settings: Any) -> list[str]:
    """The log events of a node started with ``settings``."""
    with capture_logs() as logs:
        async for _ in build_world(tmp_path, **settings):
            pass
    return [e["event"] for e in logs]


async def test_https_public_url_without_trusted_proxy_warns(tmp_path: Path) -> None:
    """An https public URL (Tatap itself speaks plain http, so a proxy terminates TLS) with no
    trusted proxy logs node.proxy_not_trusted at start-up."""
    events = await startup_events(tmp_path, public_url="https://visit.example.go.id")
    assert "node.proxy_not_trusted" in events


async def test_a_trusted_proxy_or_plain_http_does_not_warn(tmp_path: Path) -> None:
    """With the proxy trusted, or with no proxy evident, start-up logs no such warning."""
    trusted = await startup_events(
        tmp_path / "a",
        public_url="https://visit.example.go.id",
        trusted_proxies=(ip_network("127.0.0.1/32"),),
    )
    plain = await startup_events(tmp_path / "b")
    assert "node.proxy_not_trusted" not in trusted + plain
