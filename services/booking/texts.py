"""Texts a family reads, in both of the languages its pages offer: Indonesian first, English.

Booking shows messages and labels in the family's language, which the page chooses; the server
sends both, so one answer serves either and the page switches without asking again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Lang(enum.StrEnum):
    """A page's language, by its BCP 47 tag."""

    ID = "id"
    EN = "en"


@dataclass(frozen=True, slots=True)
class Text:
    """One text in Indonesian (``id``) and English (``en``)."""

    id: str
    en: str

    def in_(self, lang: Lang) -> str:
        """The text in ``lang``."""
        return self.id if lang is Lang.ID else self.en

    def to_json(self) -> dict[str, str]:
        """Both texts keyed by language tag, as the API sends them."""
        return {Lang.ID.value: self.id, Lang.EN.value: self.en}
