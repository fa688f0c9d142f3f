"""Masking of personal data: NIK and phone numbers show their last four digits only."""

from __future__ import annotations


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
