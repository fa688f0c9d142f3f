"""The one table of close codes and error codes (PROTOCOL.md §5), each with one meaning.

services.errors keeps its error ``code`` strings (services never import signaling); the edge maps
a refusal's code to its close code with ``close_for``.
"""

from __future__ import annotations

from enum import IntEnum

VERSION = 1
MAX_ID = 64  # characters in a participant id
MAX_TEXT = 500  # characters in a free-text field (a terminate's reason)


class Close(IntEnum):
    """Why the server closed a socket. 4000-4999 are ours; the rest are RFC 6455's."""

    ENDED = 4000  # the visit is over; an `ended` message came first
    REPLACED = 4001  # the same participant connected again elsewhere
    TOO_MANY_ERRORS = 4002  # too many refused messages on one socket
    BAD_REQUEST = 4400  # a refusal of a malformed request
    UNAUTHORIZED = 4401  # no valid token or credentials (or none in time)
    FORBIDDEN = 4403  # the token is not for this seat, or the person is shut out
    NOT_FOUND = 4404  # no such visit
    CONFLICT = 4409  # the visit's state refuses the seat (no monitor seat left)
    VISIT_OVER = 4410  # the visit ended or was cancelled
    TOO_EARLY = 4425  # before the early-join window opens
    JOINED_TOO_OFTEN = 4429  # the participant's joins are rationed
    NORMAL = 1000  # the socket's work is done
    PROTOCOL_ERROR = 1002  # the framing rules were broken
    BAD_DATA = 1007  # a text message that is not UTF-8
    POLICY = 1008  # too many messages before hello, or pings beyond the rate limit
    TOO_BIG = 1009  # a message far too large
    INTERNAL = 1011  # a bug on the server
    SHUTDOWN = 1012  # the server is restarting: reconnect (to any node)
    SLOW = 1013  # the client did not read its messages: reconnect


# Closes after which a client must not reconnect on its own (the pages show why).
FINAL = frozenset(
    {
        Close.REPLACED,
        Close.TOO_MANY_ERRORS,
        Close.BAD_REQUEST,
        Close.FORBIDDEN,
        Close.NOT_FOUND,
        Close.CONFLICT,
        Close.VISIT_OVER,
    }
)

# Error codes carried by `error` messages on an open socket.
E_BAD_JSON = "bad_json"
E_BAD_MESSAGE = "bad_message"
E_UNKNOWN_TYPE = "unknown_type"
E_TOO_LARGE = "too_large"
E_NOT_JOINED = "not_joined"
E_NOT_ALLOWED = "not_allowed"
E_UNKNOWN_TARGET = "unknown_target"
E_RATE_LIMITED = "rate_limited"
E_UNAUTHORIZED = "unauthorized"

# A refusal's error code (services.errors) → the close code its socket gets. A code missing here
# is a server fault (internal, not_recorded, ...): 1011.
REFUSALS: dict[str, Close] = {
    "bad_request": Close.BAD_REQUEST,
    "too_large": Close.BAD_REQUEST,
    "unauthorized": Close.UNAUTHORIZED,
    "token_expired": Close.UNAUTHORIZED,
    "token_revoked": Close.UNAUTHORIZED,
    "forbidden": Close.FORBIDDEN,
    "access_revoked": Close.FORBIDDEN,
    "not_found": Close.NOT_FOUND,
    "conflict": Close.CONFLICT,
    "visit_full": Close.CONFLICT,
    "witness_refused": Close.CONFLICT,
    "visit_over": Close.VISIT_OVER,
    "visit_under_review": Close.CONFLICT,
    "visit_not_open": Close.TOO_EARLY,
    "rate_limited": Close.JOINED_TOO_OFTEN,
}


def close_for(error_code: str) -> Close:
    """The close code for a socket refused (or shut out) with ``error_code``."""
    return REFUSALS.get(error_code, Close.INTERNAL)
