"""HTTP plumbing shared by every handler: JSON responses, typed errors, input parsing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from services.addresses import Network, client_address, is_trusted
from services.errors import BadRequest, RequestTimeout, TatapError, TooLarge

log = structlog.get_logger("tatap.http")
MAX_BODY = 64 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A request body must arrive whole this soon after the handler asks for it (body_timeout_s).
BODY_TIMEOUT = web.AppKey("body_timeout", float)


def respond(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def error_response(status: int, code: str, message: str) -> web.Response:
    return respond({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Typed JSON errors for everything; a stack trace never reaches a client."""
    try:
        return await handler(request)
    except TatapError as exc:
        resp = respond(exc.to_json(), status=exc.status)
        retry = exc.details.get("retry_after_s")
        if isinstance(retry, int):
            resp.headers["Retry-After"] = str(retry)
        return resp
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status, "http_error"
        )
        return error_response(exc.status, code, exc.reason)
    except Exception:
        log.exception("http.unhandled", path=_loggable(request.path))
        return error_response(500, "internal", "internal error")


def forwarded_middleware(trusted: tuple[Network, ...]) -> Middleware:
    """``request.remote`` becomes the client's address when a trusted proxy forwarded it."""

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote
        forwarded_for = request.headers.get("X-Forwarded-For")
        if forwarded_for and is_trusted(peer, trusted):
            request = request.clone(remote=client_address(peer, forwarded_for, trusted))
        return await handler(request)

    return forwarded


def _loggable(path: str) -> str:
    """A request path fit for a log: a family link's secret (``/v/<secret>``) is left out."""
    return "/v/<link>" if path.startswith("/v/") else path[:200]


async def read_body(request: web.Request) -> bytes:
    """The request's body, at most ``MAX_BODY`` bytes, arrived within the body timeout."""
    if request.content_length and request.content_length > MAX_BODY:
        raise TooLarge("request body too large")
    try:
        async with asyncio.timeout(request.app.get(BODY_TIMEOUT, 10.0)):
            raw = await request.read()
    except TimeoutError as exc:
        # A body dripped byte by byte would hold a handler and a socket for ever.
        raise RequestTimeout("request body not received in time") from exc
    if len(raw) > MAX_BODY:
        raise TooLarge("request body too large")
    return raw


async def read_upload(request: web.Request, limit: int) -> bytes:
    """A file upload's raw body, at most ``limit`` bytes (the one kind of route past
    ``MAX_BODY``), read from the stream so that the app's ``client_max_size`` stays small for
    every other route; it must arrive whole within the body timeout."""
    if request.content_length and request.content_length > limit:
        raise TooLarge("the file is too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(request.app.get(BODY_TIMEOUT, 10.0) * 3):
            async for chunk in request.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise TooLarge("the file is too large")
                chunks.append(chunk)
    except TimeoutError as exc:
        raise RequestTimeout("the file was not received in time") from exc
    return b"".join(chunks)


async def json_body(request: web.Request, required: bool = True) -> dict[str, Any]:
    raw = await read_body(request)
    if not raw:
        if required:
            raise BadRequest("a JSON object body is required")
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body
