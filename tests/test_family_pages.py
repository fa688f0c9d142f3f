"""The booking pages as the node serves them (``/``, ``/register``, ``/status``): one gzip
response each, everything inline and admitted by the CSP's hashes, nothing from elsewhere, and
the server's own relationship labels in their data block."""

from __future__ import annotations

import base64
import hashlib
import re

import orjson
import pytest

from services.booking.relationships import Relationship
from services.http.pages import FAMILY_PAGES
from tests.helpers.world import World

INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)
FACTS = re.compile(r'<script type="application/json" id="facts">(.*?)</script>', re.S)


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("path", list(FAMILY_PAGES))
async def test_each_page_is_one_response_admitted_by_hash(world: World, path: str) -> None:
    """Gzip on the wire; one inline script and one style, each in the CSP by hash (no
    'unsafe-inline'); no other script, stylesheet or image is asked for; no camera."""
    resp = await world.client.get(path, headers={"Accept-Encoding": "gzip"})
    assert resp.status == 200 and resp.headers["Content-Encoding"] == "gzip"
    assert resp.content_type == "text/html"
    policy = resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "default-src 'self'" in policy
    assert "camera=()" in resp.headers["Permissions-Policy"]
    html = await resp.text()
    inline = INLINE.findall(html)
    assert sorted(kind for kind, _ in inline) == ["script", "style"]
    for kind, body in inline:
        directive = next(d for d in policy.split(";") if d.strip().startswith(f"{kind}-src"))
        assert sha256(body) in directive
    assert not re.search(r'(src|href)="(/static/|https?:|//)', html)
    assert " style=" not in html  # an inline style attribute would be refused by the CSP
    assert html.startswith("<!doctype html>") and '<html lang="id">' in html


async def test_the_relationship_labels_come_from_the_server(world: World) -> None:
    """The register page lists each relationship with its label in both languages, as
    ``services.booking.relationships`` names them."""
    html = await (await world.client.get("/register")).text()
    match = FACTS.search(html)
    assert match is not None
    facts = orjson.loads(match.group(1))
    assert facts["relationships"] == [
        {"code": r.value, "id": r.label.id, "en": r.label.en} for r in Relationship
    ]


async def test_the_pages_do_not_hide_the_api_404(world: World) -> None:
    """A path that is no page still answers the typed JSON 404."""
    resp = await world.client.get("/registers")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"


CONFLICTS = (
    "slot_full",
    "quota_inmate",
    "quota_visitor",
    "visitor_blocked",
    "date_blocked",
    "outside_window",
    "kind_not_allowed",
)


def test_each_refusal_of_a_request_has_a_sentence_in_both_languages() -> None:
    """The 409 codes of ``POST /api/v1/requests``: each is said in Indonesian and in English."""
    from services.http.pages import WEB_DIR

    texts = (WEB_DIR / "book-texts.js").read_text()
    indonesian, english = texts.split("\n  en: {", 1)
    for code in CONFLICTS:
        said = [re.search(rf'\n    c_{code}: "([^"]+)"', block) for block in (indonesian, english)]
        assert all(said), code
        assert said[0] and said[1] and said[0].group(1) != said[1].group(1)
