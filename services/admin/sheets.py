"""An uploaded table, CSV or XLSX, read into a header and rows of text, within limits.

The SDP export comes as either; both end as the same ``Table``, so the inmate import has one
parser for its rows (``services.admin.roster``). An upload is at most ``MAX_UPLOAD`` bytes and
``MAX_ROWS`` rows. An XLSX file is a zip: its members are counted and their uncompressed sizes and
ratios checked from the zip's directory before openpyxl opens it (read-only, values only), so a
zip bomb is refused before anything is inflated. Parsing is CPU work of seconds at most: callers
on the event loop run ``read_table`` in a thread.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from services.errors import BadRequest, TooLarge

MAX_UPLOAD = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 50
MAX_CELL = 500  # characters kept of a cell; the roster checks its own, shorter limits
# An XLSX of 5 MB inflates to a few tens of MB; far more is a zip bomb.
MAX_UNZIPPED = 200 * 1024 * 1024
MAX_RATIO = 200
MAX_MEMBERS = 500
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class Row:
    """A row's cells as text (as many as the header has), and where the officer finds it: the
    line of a CSV file, the row number of a sheet."""

    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[Row, ...]


def read_table(data: bytes) -> Table:
    """An upload as a table: XLSX if it is a zip, CSV otherwise; BadRequest (TooLarge past
    the limits) saying what is wrong with it."""
    if len(data) > MAX_UPLOAD:
        raise TooLarge(f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    if not data.strip():
        raise BadRequest("the file is empty: it needs a header and rows")
    if data.startswith(ZIP_MAGIC):
        return _xlsx(data)
    return read_csv(_decode(data))


def read_csv(text: str) -> Table:
    """CSV text as a table: comma or semicolon separated (Excel in Indonesian writes ``;``)."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise BadRequest("the file is empty: it needs a header and rows")
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # a blank line, as spreadsheets leave at the end
            rows.append(Row(reader.line_num, tuple(cells)))
            if len(rows) > MAX_ROWS:
                raise TooLarge(f"the file has more than {MAX_ROWS} rows")
    except csv.Error as exc:
        raise BadRequest(f"not valid CSV: {exc}") from exc
    return _table(header, rows)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without its mark), else Windows' Latin: what Excel saves CSV as here."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _xlsx(data: bytes) -> Table:
    _check_zip(data)
    import openpyxl  # noqa: PLC0415 (a second or so to import; only an XLSX upload needs it)
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BadRequest("not a readable XLSX file") from exc
    try:
        if not book.worksheets:
            raise BadRequest("the workbook has no sheet")
        sheet = book.worksheets[0]
        header: list[str] | None = None
        rows: list[Row] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell(v) for v in values[:MAX_COLUMNS]]
            if not any(cells):
                continue
            if header is None:
                header = cells
                continue
            rows.append(Row(number, tuple(cells)))
            if len(rows) > MAX_ROWS:
                raise TooLarge(f"the file has more than {MAX_ROWS} rows")
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
        raise BadRequest("not a readable XLSX file") from exc
    finally:
        book.close()
    if header is None:
        raise BadRequest("the sheet is empty")
    return _table(header, rows)


def _check_zip(data: bytes) -> None:
    """Refuse a zip whose directory promises too much once inflated."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise BadRequest("not a readable XLSX file") from exc
    if len(members) > MAX_MEMBERS:
        raise BadRequest("the XLSX file has too many parts")
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if total > MAX_UNZIPPED or (member.file_size > 1024 * 1024 and ratio > MAX_RATIO):
            raise TooLarge("the XLSX file inflates too far to be read")


def _cell(value: object) -> str:
    """A sheet's cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number typed as 1234 is stored as 1234.0
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()[:MAX_CELL]


def _table(header: list[str], rows: list[Row]) -> Table:
    names = tuple(h.strip()[:MAX_CELL] for h in header[:MAX_COLUMNS])
    width = len(names)
    padded = tuple(
        Row(r.line, tuple(c.strip()[:MAX_CELL] for c in (*r.cells, *[""] * width)[:width]))
        for r in rows
    )
    return Table(names, padded)
