"""The inmate roster's rows: a table's columns mapped to number, name, block and status, each
row checked on its own, and each compared with the inmate the facility has now.

One parser for every door: the CLI's CSV (``Admin.import_inmates``, all or nothing) and the
console's CSV or XLSX upload (preview, then apply the rows without errors). An error is a code the
console says in its language, with an English message for the CLI.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from services.admin.sheets import Table
from services.domain.model import Inmate, InmateStatus
from services.errors import BadRequest

FIELDS = ("number", "name", "block", "status")
REQUIRED = ("number", "name")
MAX_NUMBER = 40
MAX_NAME = 120
MAX_BLOCK = 40
# A header's words for each field, as SDP exports and hand-made sheets name them.
HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "number": ("number", "nomor", "no registrasi", "nomor registrasi", "no_reg", "no reg", "noreg"),
    "name": ("name", "nama", "nama lengkap"),
    "block": ("block", "blok", "kamar", "blok/kamar"),
    "status": ("status", "status hukum"),
}
# The SDP export's words for an inmate's status, in English or Indonesian.
STATUS_WORDS: dict[str, InmateStatus] = {
    **{s.value: s for s in InmateStatus},
    "narapidana": InmateStatus.CONVICTED,
    "tahanan": InmateStatus.REMAND,
    "bebas": InmateStatus.RELEASED,
    "pindah": InmateStatus.TRANSFERRED,
}


class RowError(enum.StrEnum):
    NUMBER_MISSING = "number_missing"
    NAME_MISSING = "name_missing"
    TOO_LONG = "too_long"
    STATUS_UNKNOWN = "status_unknown"
    DUPLICATE = "duplicate_number"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    RowError.NUMBER_MISSING: "number and name are required",
    RowError.NAME_MISSING: "number and name are required",
    RowError.TOO_LONG: f"number, name or block too long ({MAX_NUMBER}, {MAX_NAME}, {MAX_BLOCK})",
    RowError.STATUS_UNKNOWN: f"status is one of {', '.join(STATUS_WORDS)}",
    RowError.DUPLICATE: "the number is on another row too",
}


class Change(enum.StrEnum):
    """What applying a row does to the facility's roster."""

    NEW = "new"
    UPDATED = "updated"
    RELEASED = "released"
    TRANSFERRED = "transferred"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Columns:
    """Which column (by index; -1: none) holds each field."""

    number: int
    name: int
    block: int = -1
    status: int = -1

    def names(self, header: Sequence[str]) -> dict[str, str]:
        indexes = (self.number, self.name, self.block, self.status)
        return {f: header[i] if i >= 0 else "" for f, i in zip(FIELDS, indexes, strict=True)}


@dataclass(frozen=True, slots=True)
class RosterRow:
    line: int
    number: str
    name: str
    block: str
    status: InmateStatus
    errors: tuple[RowError, ...] = ()


def guess_columns(header: Sequence[str]) -> dict[str, str]:
    """Each field's column by its header's words ("" where none fits)."""
    lowered = [h.strip().lower() for h in header]
    return {
        field: next((header[i] for i, h in enumerate(lowered) if h in words), "")
        for field, words in HEADER_WORDS.items()
    }


def columns_of(header: Sequence[str], chosen: Mapping[str, str]) -> Columns:
    """The columns named in ``chosen`` (field -> header name); BadRequest if number or name has
    none, or a name is not in the header."""
    index: dict[str, int] = {}
    for field in FIELDS:
        name = chosen.get(field, "")
        if not name:
            if field in REQUIRED:
                raise BadRequest(
                    "the file needs a header with at least: number,name[,block][,status]",
                    field=field,
                )
            index[field] = -1
        elif name not in header:
            raise BadRequest(f"no column named {name[:60]!r}", field=field)
        else:
            index[field] = header.index(name)
    return Columns(**index)


def parse_rows(table: Table, columns: Columns) -> list[RosterRow]:
    """Every row, with its errors; both rows of a number that appears twice are in error (which
    of them is right, the export does not say)."""
    out: list[RosterRow] = []
    for row in table.rows:
        cell = row.cells.__getitem__
        number = cell(columns.number)
        name = cell(columns.name)
        block = cell(columns.block) if columns.block >= 0 else ""
        word = cell(columns.status).lower() if columns.status >= 0 else ""
        errors = []
        if not number:
            errors.append(RowError.NUMBER_MISSING)
        elif not name:
            errors.append(RowError.NAME_MISSING)
        if len(number) > MAX_NUMBER or len(name) > MAX_NAME or len(block) > MAX_BLOCK:
            errors.append(RowError.TOO_LONG)
        status = STATUS_WORDS.get(word, InmateStatus.CONVICTED) if word else InmateStatus.CONVICTED
        if word and word not in STATUS_WORDS:
            errors.append(RowError.STATUS_UNKNOWN)
        out.append(RosterRow(row.line, number, name, block, status, tuple(errors)))
    counts: dict[str, int] = {}
    for r in out:
        if r.number:
            counts[r.number] = counts.get(r.number, 0) + 1
    return [
        RosterRow(r.line, r.number, r.name, r.block, r.status, (*r.errors, RowError.DUPLICATE))
        if counts.get(r.number, 0) > 1
        else r
        for r in out
    ]


def change_of(row: RosterRow, now: Inmate | None) -> Change:
    """What applying ``row`` does, given the inmate with its number now (None: no such one)."""
    if now is None:
        return Change.NEW
    if row.status != now.status and row.status in (InmateStatus.RELEASED, InmateStatus.TRANSFERRED):
        return Change(row.status.value)
    if (row.name, row.block, row.status) != (now.name, now.block, now.status):
        return Change.UPDATED
    return Change.UNCHANGED


def first_error(rows: Sequence[RosterRow]) -> BadRequest | None:
    """The CLI's refusal: the first row in error, by its line."""
    for row in rows:
        if row.errors:
            error = row.errors[0]
            if error is RowError.DUPLICATE:
                other = next(r.line for r in rows if r.number == row.number and r is not row)
                return BadRequest(f"line {other}: number {row.number} is also on line {row.line}")
            return BadRequest(f"line {row.line}: {error.message}")
    return None


def digest(data: bytes, columns: Columns) -> str:
    """What ties a preview to its confirmation: the file's bytes and the chosen columns."""
    hashed = hashlib.sha256(data)
    hashed.update(orjson.dumps([columns.number, columns.name, columns.block, columns.status]))
    return hashed.hexdigest()
