"""Masking of personal data: NIK and phone numbers show their last four digits only; names
are shown in full only to the roles that work with the people themselves."""

from __future__ import annotations

from services.domain.model import Role

# Who reads people's names in full: the facility's own staff, its auditor, an investigator.
# A regional auditor reads a region's logs for the patterns in them: names come masked, and the
# facility's own auditor is the one to ask who a visitor was.
NAMES_SHOWN = frozenset({Role.OFFICER, Role.ADMIN, Role.AUDITOR, Role.INVESTIGATOR})


def mask(value: str | None, keep: int = 4) -> str:
    """``3201234567890123`` → ``************0123``; short or empty values are masked whole."""
    if not value:
        return ""
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def valid_nik(nik: str) -> bool:
    """A NIK (Indonesian national identity number) is 16 digits."""
    return len(nik) == 16 and nik.isdigit()


def name_for(role: Role, name: str) -> str:
    """``name`` as ``role`` may read it: in full, or its first letter and the rest masked."""
    if role in NAMES_SHOWN or not name:
        return name
    return name[0] + "*" * (len(name) - 1)
