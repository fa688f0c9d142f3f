"""How a visitor is related to the inmate, with its label in both languages.

Which of these a facility accepts (close family by default, an advocate for a legal visit, a
teacher for an education visit) is a facility rule; this module only names them.
"""

from __future__ import annotations

import enum

from services.booking.problems import Problem, invalid
from services.booking.texts import Text


class Relationship(enum.StrEnum):
    """A visitor's relationship to the inmate, as the API names it."""

    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    OTHER_FAMILY = "other_family"
    ADVOCATE = "advocate"
    TEACHER = "teacher"

    @property
    def label(self) -> Text:
        """The name a family reads on the form, in Indonesian and English."""
        return LABELS[self]


LABELS: dict[Relationship, Text] = {
    Relationship.SPOUSE: Text("Suami/istri", "Spouse"),
    Relationship.PARENT: Text("Orang tua", "Parent"),
    Relationship.CHILD: Text("Anak", "Child"),
    Relationship.SIBLING: Text("Saudara kandung", "Sibling"),
    Relationship.GRANDPARENT: Text("Kakek/nenek", "Grandparent"),
    Relationship.GRANDCHILD: Text("Cucu", "Grandchild"),
    Relationship.OTHER_FAMILY: Text("Keluarga lain", "Other family"),
    Relationship.ADVOCATE: Text("Advokat", "Advocate"),
    Relationship.TEACHER: Text("Guru", "Teacher"),
}


def parse_relationship(raw: str, field: str = "relationship") -> Relationship:
    """The relationship named by ``raw`` (its API value, e.g. ``spouse``)."""
    try:
        return Relationship(raw.strip())
    except ValueError as exc:
        raise invalid(field, Problem.RELATIONSHIP_UNKNOWN) from exc
