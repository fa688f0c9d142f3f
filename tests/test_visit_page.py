"""The visit page as the node serves it: one gzip response with everything inline, admitted by
its CSP's hashes, and the link's answer in it."""

from __future__ import annotations

import base64
import hashlib
import re

import orjson

from services.domain.model import Role
from tests.helpers.world import World

INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)
JOINED = re.compile(r'<script type="application/json" id="joined">(.*?)</script>', re.S)


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


async def test_the_page_carries_its_scripts_style_and_the_links_answer(world: World) -> None:
    """Gzip on the wire; every inline script and style is admitted by hash (and only those: no
    'unsafe-inline'); nothing is loaded from /static; the answer opens the family's seat."""
    scheduled = await world.schedule()
    seat = next(p for p in scheduled.visit.participants if p.role is Role.FAMILY)
    resp = await world.client.get(
        f"/v/{scheduled.links[seat.id]}", headers={"Accept-Encoding": "gzip"}
    )
    assert resp.status == 200 and resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Cache-Control"] == "no-store"
    policy = resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "default-src 'self'" in policy
    html = await resp.text()
    inline = INLINE.findall(html)
    assert {kind for kind, _ in inline} == {"script", "style"} and len(inline) == 3
    for kind, body in inline:
        directive = next(d for d in policy.split(";") if d.strip().startswith(f"{kind}-src"))
        assert sha256(body) in directive
    assert not re.search(r'(src|href)="/static/', html)
    match = JOINED.search(html)
    assert match is not None
    answer = orjson.loads(match.group(1))
    assert answer["you"] == {"id": seat.id, "role": "family"}
    assert answer["visit"]["id"] == scheduled.visit.id and answer["token"]


async def test_a_link_that_opens_nothing_gets_the_page_without_an_answer(world: World) -> None:
    """The page asks /api/v1/join itself then, and shows that answer's error."""
    resp = await world.client.get("/v/" + "x" * 40)
    assert resp.status == 200
    match = JOINED.search(await resp.text())
    assert match is not None and match.group(1) == "null"


async def test_the_family_page_says_it_may_be_monitored(world: World) -> None:
    """The standing line is in the page as served, in Indonesian, outside every screen (so it
    shows before and during the call), with its English text in the page's texts."""
    scheduled = await world.schedule()
    seat = next(p for p in scheduled.visit.participants if p.role is Role.FAMILY)
    html = await (await world.client.get(f"/v/{scheduled.links[seat.id]}")).text()
    line = '<p id="monitored" class="monitored" data-t="monitored">'
    assert html.index(line) < html.index("<main>")
    assert "Kunjungan ini dapat dipantau oleh petugas" in html
    assert "This visit may be monitored by an officer" in html


async def test_the_live_wall_carries_the_protocol_facts_under_a_strict_policy(
    world: World,
) -> None:
    """/officer/wall is one response: its scripts (the protocol's close codes among them) and
    style inline, admitted by hash, nothing from /static, and no camera or microphone."""
    resp = await world.client.get("/officer/wall")
    assert resp.status == 200
    policy = resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "camera=()" in resp.headers["Permissions-Policy"]
    html = await resp.text()
    scripts = [body for kind, body in INLINE.findall(html) if kind == "script"]
    assert len(scripts) == 1 and sha256(scripts[0]) in policy
    assert "window.TATAP_PROTOCOL" in scripts[0] and "class WallTile" in scripts[0]
    assert not re.search(r'(src|href)="/static/', html)
