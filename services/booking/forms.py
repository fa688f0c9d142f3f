"""A family's request as submitted, and its biodata checked into a visitor record.

Every field goes through ``services.booking.identity``: a wrong one is a BadRequest naming the
field, with the reason code and its text in both languages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.booking.identity import normalize_name, normalize_phone, parse_nik
from services.booking.relationships import parse_relationship
from services.booking.scheduling import new_id
from services.domain.model import VisitKind, Visitor
from services.errors import BadRequest
from services.ids import VisitorId


@dataclass(frozen=True, slots=True)
class VisitorForm:
    """The family's biodata as typed; checked by ``services.booking.identity``."""

    name: str
    nik: str
    phone: str
    relationship: str


@dataclass(frozen=True, slots=True)
class RequestForm:
    """A family's request as submitted; ``teacher`` names the teacher of an education visit."""

    facility_id: str
    inmate_number: str
    kind: VisitKind
    start_ms: int
    visitor: VisitorForm
    teacher: str | None = None
    priority: bool = False
    inmate_name: str | None = None  # the name the family knows the inmate by, if it gave one


def visitor_of(form: RequestForm, today: dt.date) -> Visitor:
    """The family's record from its form, every field checked (BadRequest naming it)."""
    raw = form.visitor
    name = normalize_name(raw.name)
    nik = parse_nik(raw.nik, today)
    phone = normalize_phone(raw.phone)
    relationship = parse_relationship(raw.relationship)
    visitor_id = VisitorId(new_id("vr"))
    return Visitor(visitor_id, name, nik.value, phone, relationship.value, form.priority)


def teacher_of(form: RequestForm) -> str | None:
    """The teacher's name, required for an education visit and refused for any other."""
    if form.kind is VisitKind.EDUCATION:
        return normalize_name(form.teacher or "", "guests")
    if form.teacher:
        raise BadRequest("only an education visit takes a guest", field="guests")
    return None
