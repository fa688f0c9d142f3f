"""Named parameters from outside (a query string, CLI flags): one way to read a bounded integer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.errors import BadRequest


def query_int(
    params: Mapping[str, Any], name: str, default: int | None, lo: int, hi: int
) -> int | None:
    """``params[name]`` as an integer in ``lo..hi``; ``default`` when absent or empty.

    BadRequest names the parameter: REST and the CLI give one message for one mistake.
    """
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"`{name}` must be an integer") from exc
    if not lo <= value <= hi:
        raise BadRequest(f"`{name}` must be between {lo} and {hi}")
    return value
