"""Typed request bodies: each field of a body dataclass carries the rule that parses it.

One rule serves twice: ``parse_body`` checks a JSON object against it (with the message a client
sees), and ``services.http.openapi`` writes its JSON schema from it, so the document and the
validation cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from services.errors import BadRequest

T = TypeVar("T")
SPEC = "spec"  # the key of a field's rule in its dataclass metadata
Ref = Callable[[type], dict[str, Any]]  # a nested body type -> its schema (a $ref)


class Rule(Protocol):
    """How one field of a request body is read, and how the document describes it."""

    @property
    def required(self) -> bool: ...
    def parse(self, body: Mapping[str, Any], key: str) -> Any: ...
    def schema(self, ref: Ref) -> dict[str, Any]: ...


def spec(rule: Rule, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field read by ``rule`` (the default only lets the dataclass be built bare)."""
    return dataclasses.field(default=default, metadata={SPEC: rule})


def rules(cls: type) -> dict[str, Rule]:
    """The rules of a body type's fields, in declaration order (the order errors are found)."""
    return {f.name: f.metadata[SPEC] for f in dataclasses.fields(cls)}


def parse_body(cls: type[T], body: Mapping[str, Any]) -> T:
    """``body`` as a ``cls``, or ``BadRequest`` naming the first field that is wrong."""
    return cls(**{name: rule.parse(body, name) for name, rule in rules(cls).items()})


@dataclass(frozen=True)
class Text:
    """A string of ``min_len`` to ``max_len`` characters; absent means ``default`` if optional."""

    message: str  # "{key}" is replaced by the field's name
    max_len: int | None = 64
    min_len: int = 1
    required: bool = True
    default: str | None = None
    nullable: bool = False  # an explicit null is the default
    description: str = ""

    def parse(self, body: Mapping[str, Any], key: str) -> Any:
        if key not in body and not self.required:
            return self.default
        value = body.get(key)
        if value is None and self.nullable:
            return self.default
        if not isinstance(value, str) or not self._fits(value):
            raise BadRequest(self.message.format(key=key))
        return value

    def _fits(self, value: str) -> bool:
        return self.min_len <= len(value) and (self.max_len is None or len(value) <= self.max_len)

    def schema(self, ref: Ref) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.min_len:
            out["minLength"] = self.min_len
        if self.max_len is not None:
            out["maxLength"] = self.max_len
        return _described(out, self.description, self.nullable)


@dataclass(frozen=True)
class Integer:
    """An integer (never a boolean) from ``lo`` to ``hi``; absent or null is None if optional."""

    message: str
    lo: int
    hi: int | None = None
    required: bool = True
    description: str = ""

    def parse(self, body: Mapping[str, Any], key: str) -> int | None:
        value = body.get(key)
        if value is None and not self.required:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not self._fits(value):
            raise BadRequest(self.message.format(key=key))
        return value

    def _fits(self, value: int) -> bool:
        return self.lo <= value and (self.hi is None or value <= self.hi)

    def schema(self, ref: Ref) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer", "minimum": self.lo}
        if self.hi is not None:
            out["maximum"] = self.hi
        return _described(out, self.description, not self.required)


@dataclass(frozen=True)
class Choice:
    """One of an enum's values (or of ``allowed``); absent means ``default`` if there is one."""

    message: str
    kind: type[enum.Enum]
    allowed: tuple[enum.Enum, ...] = ()
    default: enum.Enum | None = None
    description: str = ""

    @property
    def required(self) -> bool:
        return self.default is None

    def parse(self, body: Mapping[str, Any], key: str) -> enum.Enum:
        value = body.get(key, self.default.value if self.default else None)
        try:
            choice = self.kind(value)
        except (ValueError, TypeError) as exc:
            raise BadRequest(self.message.format(key=key)) from exc
        if self.allowed and choice not in self.allowed:
            raise BadRequest(self.message.format(key=key))
        return choice

    def schema(self, ref: Ref) -> dict[str, Any]:
        values = [c.value for c in (self.allowed or tuple(self.kind))]
        out: dict[str, Any] = {"type": "string", "enum": values}
        if self.default is not None:
            out["default"] = self.default.value
        return _described(out, self.description, False)


@dataclass(frozen=True)
class Objects:
    """A list of ``lo`` to ``hi`` objects, each parsed as ``item``."""

    message: str
    item_message: str  # for an entry that is not an object
    item: type
    lo: int = 1
    hi: int = 3
    required: bool = True

    def parse(self, body: Mapping[str, Any], key: str) -> tuple[Any, ...]:
        value = body.get(key)
        if value is None and not self.required:
            return ()
        if not isinstance(value, list) or not self.lo <= len(value) <= self.hi:
            raise BadRequest(self.message.format(key=key))
        return tuple(self._entry(entry) for entry in value)

    def _entry(self, entry: Any) -> Any:
        if not isinstance(entry, dict):
            raise BadRequest(self.item_message)
        return parse_body(self.item, entry)

    def schema(self, ref: Ref) -> dict[str, Any]:
        return {
            "type": "array",
            "minItems": self.lo,
            "maxItems": self.hi,
            "items": ref(self.item),
        }


@dataclass(frozen=True)
class Object:
    """One nested object, parsed as ``item``."""

    message: str
    item: type
    required: bool = True

    def parse(self, body: Mapping[str, Any], key: str) -> Any:
        value = body.get(key)
        if not isinstance(value, dict):
            raise BadRequest(self.message.format(key=key), field=key)
        return parse_body(self.item, value)

    def schema(self, ref: Ref) -> dict[str, Any]:
        return {"type": "object", "allOf": [ref(self.item)]}


@dataclass(frozen=True)
class Flag:
    """A boolean; absent or null is false, or refused if ``required`` (a yes/no question)."""

    message: str
    required: bool = False

    def parse(self, body: Mapping[str, Any], key: str) -> bool:
        value = body.get(key)
        if value is None and not self.required:
            return False
        if not isinstance(value, bool):
            raise BadRequest(self.message.format(key=key), field=key)
        return value

    def schema(self, ref: Ref) -> dict[str, Any]:
        return {"type": "boolean"} if self.required else {"type": "boolean", "default": False}


def _described(schema: dict[str, Any], description: str, nullable: bool) -> dict[str, Any]:
    if description:
        schema["description"] = description
    if nullable:
        schema["nullable"] = True
    return schema
