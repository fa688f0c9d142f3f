"""The OpenAPI document served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

PATH_PARAMS = ("visit_id", "participant_id")


def _op(
    summary: str,
    *,
    auth: bool = True,
    body: str | None = None,
    params: list[str] | None = None,
    ok: int = 200,
    limited: bool = False,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok): {"description": "OK", "content": {"application/json": {}}},
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "409": {"$ref": "#/components/responses/Error"},
        },
    }
    if auth:
        op["security"] = [{"bearer": []}]
    if limited:  # with a Retry-After header
        op["responses"]["429"] = {"$ref": "#/components/responses/Error"}
    if body:
        op["responses"]["408"] = {"$ref": "#/components/responses/Error"}  # body too slow
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    if params:
        op["parameters"] = [
            {
                "name": p,
                "in": "path" if p in PATH_PARAMS else "query",
                "required": p in PATH_PARAMS,
                "schema": {"type": "string"},
            }
            for p in params
        ]
    return op


AUDIT_FILTERS = [
    "facility",
    "inmate",
    "visitor",
    "terminal",
    "visit",
    "action",
    "since_ms",
    "until_ms",
    "after",
    "limit",
]

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Tatap API", "version": "1"},
    "paths": {
        "/api/v1/auth/login": {
            "post": _op("Staff login → bearer token", auth=False, body="Login", limited=True)
        },
        "/api/v1/join": {
            "post": _op("Family/teacher link → websocket token", auth=False, body="Join")
        },
        "/api/v1/visits": {
            "post": _op("Schedule a visit (officer, admin)", body="NewVisit", ok=201)
        },
        "/api/v1/visits/{visit_id}": {"get": _op("One visit (staff)", params=["visit_id"])},
        "/api/v1/visits/{visit_id}/cancel": {
            "post": _op("Cancel before the start (officer, admin)", params=["visit_id"])
        },
        "/api/v1/visits/{visit_id}/terminate": {
            "post": _op("End a visit now (officer)", params=["visit_id"], ok=202)
        },
        "/api/v1/visits/{visit_id}/monitor": {
            "post": _op("Receive-only monitor token (officer)", params=["visit_id"])
        },
        "/api/v1/participants/{participant_id}/revoke": {
            "post": _op(
                "Shut a participant out of its visit, and its registered visitor out of"
                " every visit (officer: that facility's visits; admin)",
                params=["participant_id"],
            )
        },
        "/api/v1/audit/events": {
            "get": _op("Search the audit log (auditor, admin)", params=AUDIT_FILTERS)
        },
        "/api/v1/audit/visits/{visit_id}": {
            "get": _op("One visit's timeline (auditor, admin)", params=["visit_id"])
        },
        "/api/v1/audit/verify": {
            "get": _op(
                "Verify the hash chain (auditor, admin; a facility's auditor is told its own"
                " facility's event count only)"
            )
        },
        "/api/v1/audit/checkpoints": {
            "get": _op(
                "Signed checkpoints after `after` (seq), oldest first, at most `limit`"
                " (1-1000) a page, and the pinned public keys: what a witness keeps"
                " (auditor, admin)",
                params=["after", "limit"],
            )
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "responses": {
            "Error": {
                "description": "Typed error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                        "required": ["code", "message"],
                    }
                },
            },
            "Login": {
                "type": "object",
                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                "required": ["username", "password"],
            },
            "Join": {
                "type": "object",
                "properties": {"link": {"type": "string", "minLength": 20, "maxLength": 128}},
                "required": ["link"],
            },
            "NewVisit": {
                "type": "object",
                "properties": {
                    "terminal_id": {"type": "string"},
                    "inmate_id": {"type": "string"},
                    "kind": {"type": "string", "enum": ["regular", "education", "legal"]},
                    "start_ms": {
                        "type": "integer",
                        "description": "ms since the epoch; from an hour ago to a year ahead",
                    },
                    "length_s": {"type": "integer", "minimum": 60, "maximum": 14400},
                    "guests": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 3,
                        "items": {
                            "type": "object",
                            "properties": {
                                "role": {"type": "string", "enum": ["family", "teacher"]},
                                "name": {"type": "string"},
                                "visitor_id": {"type": "string"},
                            },
                            "required": ["role", "name"],
                        },
                    },
                },
                "required": ["terminal_id", "inmate_id", "start_ms", "guests"],
            },
        },
    },
}
