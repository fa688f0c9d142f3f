"""Web pages served by the node: the family's visit page at ``/v/<link>`` and its static files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent / "web"


async def visit_page(request: web.Request) -> web.FileResponse:
    # The link secret stays in the URL path; the page reads it and exchanges it via /api/v1/join.
    response = web.FileResponse(WEB_DIR / "visit.html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def page_routes() -> list[web.AbstractRouteDef]:
    return [
        web.get("/v/{link}", visit_page),
        web.static("/static", WEB_DIR),
    ]
