"""structlog set-up: JSON lines for machines, readable lines on a terminal.

Context (visit_id, role, node_id) comes from contextvars bound per connection.

Event names are static (``visit.ended``); context goes in keys. Nothing ever logs a NIK, a phone
number, a token or a link secret: those never reach a log call.
"""

from __future__ import annotations

import logging
import sys

import orjson
import structlog


def configure(json: bool | None = None, level: int = logging.INFO) -> None:
    if json is None:
        json = not sys.stderr.isatty()
    # JSON lines are rendered with orjson straight to bytes: a busy node logs a line per visit
    # event, and the standard json module made that a visible share of a burst of visit ends.
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=orjson.dumps)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    factory: structlog.typing.WrappedLogger = (
        structlog.BytesLoggerFactory(sys.stderr.buffer)
        if json
        else structlog.PrintLoggerFactory(sys.stderr)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
