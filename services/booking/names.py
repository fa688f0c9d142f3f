"""Whether the name a family types is the inmate's: a check that confirms without revealing.

A family knows the inmate by the name it uses at home, which is often one word of the name in
the records ("Budi" for "Budi Santoso"), typed on a phone without its accents or punctuation.
So both are reduced to words (case folded, accents and punctuation dropped, spaces collapsed),
and the typed name matches when each of its words is a word of the recorded name. One typed
word of at least three letters is required: "Bu" or "A." alone would match too many names.
"""

from __future__ import annotations

import unicodedata

from services.booking.problems import Problem, invalid

MIN_LETTERS = 3  # the longest typed word must have at least this many
MAX_WORDS = 10  # a typed name longer than this cannot be anyone's (names are ≤ 100 characters)
# Dropped inside a word: "Ma'ruf" is "Maruf". Other punctuation separates words ("Abdul-Rahman").
_JOINERS = frozenset("'\u2019\u02bc\u2018`")


def name_words(name: str) -> list[str]:
    """``name`` as the words that are compared: NFKD without combining marks, case folded,
    apostrophes dropped, every other character that is not a letter or digit a space."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = []
    for c in decomposed:
        if unicodedata.combining(c) or c in _JOINERS:
            continue
        kept.append(c.casefold() if c.isalnum() else " ")
    return "".join(kept).split()


def names_match(typed: str, recorded: str) -> bool:
    """Whether every word of ``typed`` is a word of ``recorded``, and one of them has at least
    :data:`MIN_LETTERS` letters."""
    words = name_words(typed)
    if not words or len(words) > MAX_WORDS:
        return False
    if max(sum(c.isalpha() for c in w) for w in words) < MIN_LETTERS:
        return False
    known = set(name_words(recorded))
    return all(w in known for w in words)


def check_inmate_name(typed: str, recorded: str) -> None:
    """BadRequest naming ``inmate_name`` (reason ``inmate_name_mismatch``, both texts) unless
    ``typed`` matches ``recorded``; the error says nothing of the recorded name."""
    if not names_match(typed, recorded):
        raise invalid("inmate_name", Problem.INMATE_NAME_MISMATCH)
