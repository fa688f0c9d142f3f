"""Web pages served by the node: the family's visit page at ``/v/<link>`` and its static files.

The visit page is built once per node into one response: its stylesheet, the protocol's facts and
its scripts inline (the files under ``/static`` stay served as they are), and the link's answer
put in by the node. On a phone's slow link every request is a round trip, so the page needs none
before it opens its socket, which it does from its head while the rest still arrives; the CSP
admits the inline scripts and style by their hashes only.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiohttp import web

from services.errors import TatapError

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
# In the order the page loaded them: each script reads names the ones before it defined.
SCRIPTS = ("i18n.js", "peers.js", "visit.js")
STYLESHEET = "visit.css"
# Opens the socket from the page's head (see boot.js).
BOOT = "boot.js"
# Opens the data block holding the link's answer: the page reads it instead of asking
# /api/v1/join first.
JOINED_BLOCK = '<script type="application/json" id="joined">'

# Exchanges a link secret for what ``POST /api/v1/join`` answers (raises as that does).
Exchange = Callable[[str], Awaitable[object]]


def csp(script_hashes: list[str], style_hash: str) -> str:
    """The visit page loads nothing from elsewhere: its own inline scripts and style (by hash),
    the camera, and the socket and API of the node that served it (CSP 'self' covers ws:/wss: to
    the same host). The JSON block holding the link's answer is data, never run."""
    scripts = " ".join(f"'{h}'" for h in script_hashes)
    return (
        f"default-src 'self'; script-src 'self' {scripts}; "
        f"style-src 'self' '{style_hash}'; img-src 'self' data:; "
        "media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@dataclass(frozen=True)
class VisitPage:
    """The page split around the slot for the link's answer, and its CSP."""

    head: str
    tail: str
    policy: str

    @classmethod
    def build(cls, protocol_script: str) -> VisitPage:
        """``visit.html`` with ``visit.css``, then ``boot.js`` in the head and ``protocol_script``
        plus :data:`SCRIPTS` at the end of the body, all inline."""
        html = (WEB_DIR / "visit.html").read_text()
        style = (WEB_DIR / STYLESHEET).read_text()
        boot = (WEB_DIR / BOOT).read_text()
        script = protocol_script + "".join((WEB_DIR / name).read_text() for name in SCRIPTS)
        html = re.sub(r'\s*<script src="/static/[^"]+" defer></script>', "", html)
        link = f'<link rel="stylesheet" href="/static/{STYLESHEET}">'
        if html.count(link) != 1 or html.count("</body>") != 1:
            raise RuntimeError("visit.html lost its stylesheet link or its </body>")
        # The answer and boot.js where the stylesheet was: early in the first bytes to arrive.
        head, rest = html.split(link)
        rest = rest.replace("</body>", f"<script>{script}</script>\n</body>")
        return cls(
            head=head + JOINED_BLOCK,
            tail=f"</script>\n  <script>{boot}</script>\n  <style>{style}</style>{rest}",
            policy=csp([sha256(boot), sha256(script)], sha256(style)),
        )

    def render(self, joined: object) -> str:
        # "<" escaped: nothing in the answer can end the JSON block early.
        data = orjson.dumps(joined).decode().replace("<", "\\u003c")
        return self.head + data + self.tail


def visit_page(
    page: VisitPage, exchange: Exchange
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``GET /v/<link>``: the page with the link's answer, or with none when the link opens
    nothing (the page then asks ``/api/v1/join`` itself and shows that answer's error)."""

    async def serve(request: web.Request) -> web.Response:
        try:
            joined = await exchange(request.match_info["link"])
        except TatapError:
            joined = None
        response = web.Response(text=page.render(joined), content_type="text/html")
        # no-store: the answer holds a token for this visit.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = page.policy
        response.headers["Permissions-Policy"] = "camera=(self), microphone=(self), geolocation=()"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.enable_compression()
        return response

    return serve


def page_routes(protocol_script: str, exchange: Exchange) -> list[web.AbstractRouteDef]:
    """The visit page (with ``protocol_script``, the facts ``/static/protocol.js`` serves, inline)
    and the static files."""
    page = VisitPage.build(protocol_script)
    return [
        web.get("/v/{link}", visit_page(page, exchange)),
        web.static("/static", WEB_DIR),
    ]
