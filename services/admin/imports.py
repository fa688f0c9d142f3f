"""The console's inmate import: an upload previewed row by row, then applied as previewed.

Nothing is kept between the two steps: the confirmation sends the same file and columns again
with the preview's ``digest`` (``services.admin.roster.digest``), and a file or a column choice
that differs is refused. So what is applied is what the officer saw, on whichever node answers,
and no upload waits in memory for a confirmation that never comes.

Rows in error are skipped, never guessed at: the preview lists each with its line and reason,
the rest are applied, and the audit event counts the skipped rows. One typo in an export of
thousands should not hold back the day's transfers; the officer fixes the row and imports again.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.admin.provision import Admin
from services.admin.roster import (
    Change,
    RosterRow,
    change_of,
    columns_of,
    digest,
    guess_columns,
    parse_rows,
)
from services.admin.sheets import read_table
from services.errors import Conflict
from services.store.protocols import FacilityStore, InmatesImported

SHOWN_ROWS = 200  # rows a preview lists besides those in error


@dataclass(frozen=True)
class Preview:
    """An upload as it would be applied: its header and the columns chosen (each field's
    header name), counts by change, every row in error, and the first rows."""

    digest: str
    header: list[str]
    columns: dict[str, str]
    total: int
    counts: dict[str, int]
    errors: list[dict[str, Any]]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Applied:
    rows: int
    skipped: int
    flagged: int
    counts: dict[str, int]


@dataclass(frozen=True)
class Upload:
    """An upload read: its digest, header, the columns chosen (field -> header name), rows."""

    digest: str
    header: list[str]
    columns: dict[str, str]
    rows: list[RosterRow]


def read_upload(data: bytes, chosen: Mapping[str, str]) -> Upload:
    """The upload read (CPU work: run it in a thread). With no column chosen, each is guessed
    from the header."""
    table = read_table(data)
    names = dict(chosen) if any(chosen.values()) else guess_columns(table.header)
    columns = columns_of(table.header, names)
    return Upload(
        digest(data, columns),
        list(table.header),
        columns.names(table.header),
        parse_rows(table, columns),
    )


class InmateImport:
    def __init__(self, store: FacilityStore, admin: Admin) -> None:
        self._store = store
        self._admin = admin

    async def preview(self, facility_id: str, upload: Upload) -> Preview:
        """What applying ``upload`` would do now; nothing is written."""
        rows = upload.rows
        changes = await self._changes(facility_id, rows)
        errors = [
            {"line": r.line, "number": r.number, "errors": [e.value for e in r.errors]}
            for r in rows
            if r.errors
        ]
        shown = [
            {
                "line": r.line,
                "number": r.number,
                "name": r.name,
                "block": r.block,
                "status": r.status.value,
                "change": c.value if c else "",
                "errors": [e.value for e in r.errors],
            }
            for r, c in zip(rows[:SHOWN_ROWS], changes, strict=False)
        ]
        counts = _counts(changes, len(errors))
        return Preview(
            upload.digest, upload.header, upload.columns, len(rows), counts, errors, shown
        )

    async def apply(self, facility_id: str, upload: Upload, expected: str) -> Applied:
        """Apply the rows without errors, if ``expected`` is the digest previewed."""
        rows = upload.rows
        if not hmac.compare_digest(upload.digest, expected):
            raise Conflict("the file or its columns differ from the preview: preview it again")
        changes = await self._changes(facility_id, rows)
        good = [r for r in rows if not r.errors]
        skipped = len(rows) - len(good)
        counts = _counts(changes, skipped)
        done: InmatesImported = await self._admin.apply_roster(
            facility_id, good, {"skipped": skipped, "digest": upload.digest[:16], **counts}
        )
        return Applied(done.rows, skipped, done.flagged, counts)

    async def _changes(self, facility_id: str, rows: Sequence[RosterRow]) -> list[Change | None]:
        """Each row's change (None for a row in error)."""
        now = {i.number: i for i in await self._store.facility_inmates(facility_id)}
        return [None if r.errors else change_of(r, now.get(r.number)) for r in rows]


def _counts(changes: Sequence[Change | None], errors: int) -> dict[str, int]:
    counts = {c.value: 0 for c in Change}
    for change in changes:
        if change is not None:
            counts[change.value] += 1
    return {**counts, "errors": errors}
