"""The protocol's facts as the pages read them: ``/static/protocol.js``, made from the code table
and the node's settings when the app is built, so a page never holds a copy that could drift. The
visit page carries the same script inline (``services/http/pages.py``): a request less.

Not imported by the package (the terminal agent has no use for aiohttp routes).
"""

from __future__ import annotations

import orjson
from aiohttp import web

from signaling.protocol.codes import FINAL, VERSION, Close
from signaling.protocol.inbound import NOTICE_CODES

PATH = "/static/protocol.js"


def facts(early_join_s: int) -> dict[str, object]:
    """What the pages need: close codes by name, those after which not to reconnect, and how
    long before its start a visit may be joined, and the officers' canned notices."""
    return {
        "version": VERSION,
        "close": {code.name: code.value for code in Close},
        "final": sorted(code.value for code in FINAL),
        "early_join_ms": early_join_s * 1000,
        "notices": list(NOTICE_CODES),
    }


def script(early_join_s: int) -> str:
    """A script defining ``window.TATAP_PROTOCOL`` (frozen), run before the page's own."""
    body = orjson.dumps(facts(early_join_s), option=orjson.OPT_SORT_KEYS).decode()
    return f'"use strict";\nwindow.TATAP_PROTOCOL = Object.freeze({body});\n'


def route(early_join_s: int) -> web.RouteDef:
    """``GET /static/protocol.js``; register it before the static files under ``/static``."""
    text = script(early_join_s)

    async def serve(request: web.Request) -> web.Response:
        response = web.Response(text=text, content_type="text/javascript")
        response.headers["Cache-Control"] = "no-cache"
        return response

    return web.get(PATH, serve)
