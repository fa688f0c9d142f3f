"""A family's request as submitted, and its biodata checked into a visitor record.

Every field goes through ``services.booking.identity``: a wrong one is a BadRequest naming the
field, with the reason code and its text in both languages. Each kind asks for its own: an
education visit (KONDUKSI) its teacher, named ``guests[0]`` as in the request body; a legal visit
an advocate, with the registration number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.booking.identity import (
    normalize_name,
    normalize_phone,
    parse_advocate_number,
    parse_nik,
)
from services.booking.problems import Problem, invalid
from services.booking.relationships import Relationship, parse_relationship
from services.booking.scheduling import new_id
from services.domain.model import VisitKind, Visitor
from services.errors import BadRequest
from services.ids import VisitorId

TEACHER = "guests[0]"  # where the request body puts an education visit's teacher


@dataclass(frozen=True, slots=True)
class VisitorForm:
    """The family's biodata as typed; checked by ``services.booking.identity``."""

    name: str
    nik: str
    phone: str
    relationship: str


@dataclass(frozen=True, slots=True)
class GuestForm:
    """An education visit's teacher as typed: name and mobile number."""

    name: str
    contact: str


@dataclass(frozen=True, slots=True)
class Teacher:
    """An education visit's teacher, checked: the name, and the number in E.164."""

    name: str
    contact: str


@dataclass(frozen=True, slots=True)
class RequestForm:
    """A family's request as submitted; ``teacher`` is an education visit's second guest,
    ``advocate_number`` a legal visit's advocate's registration number."""

    facility_id: str
    inmate_number: str
    kind: VisitKind
    start_ms: int
    visitor: VisitorForm
    teacher: GuestForm | None = None
    priority: bool = False
    inmate_name: str | None = None  # the name the family knows the inmate by, if it gave one
    advocate_number: str = ""


def visitor_of(form: RequestForm, today: dt.date) -> Visitor:
    """The family's record from its form, every field checked (BadRequest naming it)."""
    raw = form.visitor
    name = normalize_name(raw.name)
    nik = parse_nik(raw.nik, today)
    phone = normalize_phone(raw.phone)
    relationship = parse_relationship(raw.relationship)
    visitor_id = VisitorId(new_id("vr"))
    return Visitor(visitor_id, name, nik.value, phone, relationship.value, form.priority)


def teacher_of(form: RequestForm) -> Teacher | None:
    """The teacher, name and mobile number both required for an education visit (BadRequest
    naming ``guests`` without one, ``guests[0].name`` or ``guests[0].contact`` for a wrong
    one), and refused for any other kind."""
    if form.kind is not VisitKind.EDUCATION:
        if form.teacher is not None:
            raise BadRequest("only an education visit takes a guest", field="guests")
        return None
    if form.teacher is None:
        raise invalid("guests", Problem.TEACHER_REQUIRED)
    name = normalize_name(form.teacher.name, f"{TEACHER}.name")
    return Teacher(name, normalize_phone(form.teacher.contact, f"{TEACHER}.contact"))


def advocate_number_of(form: RequestForm, visitor: Visitor) -> str | None:
    """A legal visit's advocate's registration number: the visitor must be an advocate
    (BadRequest naming ``relationship``) and give the number (naming ``advocate_number``).
    Any other kind takes none."""
    if form.kind is not VisitKind.LEGAL:
        if form.advocate_number.strip():
            raise BadRequest("only a legal visit takes `advocate_number`", field="advocate_number")
        return None
    if visitor.relationship != Relationship.ADVOCATE.value:
        raise invalid("relationship", Problem.LEGAL_NEEDS_ADVOCATE)
    return parse_advocate_number(form.advocate_number)
