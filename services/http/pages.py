"""Web pages served by the node: the family's visit page at ``/v/<link>`` and its static files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


# The visit page loads nothing from elsewhere: its own scripts and styles, the camera, and the
# socket and API of the node that served it (CSP 'self' covers ws:/wss: to the same host).
VISIT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


async def visit_page(request: web.Request) -> web.FileResponse:
    # The link secret stays in the URL path; the page reads it and exchanges it via /api/v1/join.
    response = web.FileResponse(WEB_DIR / "visit.html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = VISIT_CSP
    response.headers["Permissions-Policy"] = "camera=(self), microphone=(self), geolocation=()"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def page_routes() -> list[web.AbstractRouteDef]:
    return [
        web.get("/v/{link}", visit_page),
        web.static("/static", WEB_DIR),
    ]
