"""The OpenAPI 3 document served at ``/api/v1/openapi.json``, written from the route table.

Request schemas come from the rules of each body's fields (``services.http.fields``), so the
document states the limits the handlers enforce; response schemas come from the fields' types.
"""

from __future__ import annotations

import dataclasses
import enum
import types
from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin, get_type_hints

from services.access.sessions import SESSION_COOKIE
from services.http.fields import SPEC, rules

if TYPE_CHECKING:
    from services.http.routes import Route

ERROR_REF = {"$ref": "#/components/responses/Error"}
# What any operation may answer besides its success: each a typed error (services.errors).
ERROR_STATUSES = ("400", "401", "403", "404", "409")
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
}
SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    bool: {"type": "boolean"},
    float: {"type": "number"},
}


def document(routes: Sequence[Route]) -> dict[str, Any]:
    """The whole document: one operation per route, one component per body type."""
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Tatap API", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                # A console's session (POST /officer/login); a change also sends X-CSRF-Token.
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            },
            "responses": {
                "Error": {
                    "description": "Typed error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
            "schemas": schemas,
        },
    }


def _operation(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    answers = [(route.status, route.response), *route.other]
    op: dict[str, Any] = {
        "summary": route.summary,
        "responses": {str(s): _answer(route.content, s, t, schemas) for s, t in answers},
    }
    if route.errors:
        op["responses"].update({status: ERROR_REF for status in ERROR_STATUSES})
    if route.auth:
        op["security"] = [{"bearer": []}, {"session": []}]  # either
    if route.limited:  # with a Retry-After header
        op["responses"]["429"] = ERROR_REF
    if route.body is not None:
        op["responses"]["408"] = ERROR_REF  # the body came too slowly
        op["requestBody"] = {
            "required": route.body_required,
            "content": {"application/json": {"schema": schema_of(route.body, schemas)}},
        }
    if route.upload:  # a file, as it is
        op["responses"]["408"] = ERROR_REF
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    names = [seg[1:-1] for seg in route.path.split("/") if seg.startswith("{")]
    params = [_param(name, "path") for name in names] + [_param(q, "query") for q in route.query]
    if params:
        op["parameters"] = params
    return op


def _answer(content: str, status: int, hint: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": HTTPStatus(status).phrase}
    if content:
        out["content"] = {content: {"schema": schema_of(hint, schemas)} if hint else {}}
    return out


def _param(name: str, where: str) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": {"type": "string"}}


def schema_of(hint: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    """The schema of a type: a ``$ref`` for a dataclass (added to ``schemas`` once)."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if hint.__name__ not in schemas:
            schemas[hint.__name__] = {}  # placed first: a type may refer to itself
            schemas[hint.__name__] = _object(hint, schemas)
        return {"$ref": f"#/components/schemas/{hint.__name__}"}
    if hint in SCALARS:
        return dict(SCALARS[hint])
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"type": "string", "enum": [c.value for c in hint]}
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return {**schema_of(inner, schemas), "nullable": True}
    if origin in (list, tuple):
        return {"type": "array", "items": schema_of(args[0], schemas)}
    if origin is dict or hint is dict:
        return {"type": "object"}
    return {}  # Any, object: any JSON value


def _object(cls: type, schemas: dict[str, Any]) -> dict[str, Any]:
    """A request body from its fields' rules; a response from its fields' types."""
    fields = dataclasses.fields(cls)
    out: dict[str, Any] = {"type": "object"}
    if fields and SPEC in fields[0].metadata:
        body = rules(cls)
        out["properties"] = {
            name: rule.schema(lambda item: schema_of(item, schemas)) for name, rule in body.items()
        }
        required = [name for name, rule in body.items() if rule.required]
    else:
        hints = get_type_hints(cls)
        out["properties"] = {f.name: schema_of(hints[f.name], schemas) for f in fields}
        required = [f.name for f in fields]
    if required:  # OpenAPI 3.0 forbids an empty list
        out["required"] = required
    if cls.__doc__:
        out["description"] = " ".join(cls.__doc__.split())
    return out
