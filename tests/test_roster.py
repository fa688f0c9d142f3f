"""The inmate roster's rows, pure: tables read from CSV and XLSX within their limits, columns
guessed and chosen, each row's errors and change, and the digest that ties a preview to its
import."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from services.admin.roster import (
    Change,
    Columns,
    RowError,
    change_of,
    columns_of,
    digest,
    first_error,
    guess_columns,
    parse_rows,
)
from services.admin.sheets import MAX_ROWS, read_table
from services.domain.model import Inmate, InmateStatus
from services.errors import BadRequest, TooLarge
from services.ids import FacilityId, InmateId


def test_a_semicolon_csv_from_windows_excel_is_read() -> None:
    """Excel in Indonesian writes `;` and Windows' Latin; blank lines at the end are dropped."""
    table = read_table("Nomor;Nama;Blok\nB-1;Andr\xe9;A\n\n".encode("cp1252"))
    assert table.header == ("Nomor", "Nama", "Blok")
    assert [(r.line, r.cells) for r in table.rows] == [(2, ("B-1", "André", "A"))]


def test_an_xlsx_sheet_reads_as_its_csv_export_would() -> None:
    """Whole numbers lose their `.0`, dates are ISO, empty cells are empty, short rows padded."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["number", "name", "since"])
    sheet.append([1234.0, "Budi", dt.datetime(2026, 1, 2)])
    sheet.append(["B-2", None])
    out = io.BytesIO()
    book.save(out)
    table = read_table(out.getvalue())
    assert [r.cells for r in table.rows] == [("1234", "Budi", "2026-01-02"), ("B-2", "", "")]


def test_too_many_rows_are_refused() -> None:
    text = "number,name\n" + "".join(f"N-{i},A\n" for i in range(MAX_ROWS + 1))
    with pytest.raises(TooLarge):
        read_table(text.encode())


def test_columns_are_guessed_or_refused_by_name() -> None:
    header = ("No Registrasi", "Nama", "Kamar")
    guessed = guess_columns(header)
    assert guessed == {"number": "No Registrasi", "name": "Nama", "block": "Kamar", "status": ""}
    assert columns_of(header, guessed) == Columns(0, 1, 2, -1)
    with pytest.raises(BadRequest):
        columns_of(header, {"number": "No Registrasi"})
    with pytest.raises(BadRequest):
        columns_of(header, {"number": "No Registrasi", "name": "Alamat"})


def test_each_row_has_its_errors_and_a_repeated_number_marks_both() -> None:
    table = read_table(
        b"number,name,status\nA-1,Ani,\nA-2,,tahanan\nA-1,Ana,kabur\nA-3,Adi,bebas\n"
    )
    rows = parse_rows(table, columns_of(table.header, guess_columns(table.header)))
    assert [(r.line, r.errors) for r in rows] == [
        (2, (RowError.DUPLICATE,)),
        (3, (RowError.NAME_MISSING,)),
        (4, (RowError.STATUS_UNKNOWN, RowError.DUPLICATE)),
        (5, ()),
    ]
    assert rows[3].status is InmateStatus.RELEASED
    refused = first_error(rows)
    assert refused is not None and "line 4" in refused.message and "line 2" in refused.message


def test_a_rows_change_against_the_roster() -> None:
    table = read_table(b"number,name,block,status\nA-1,Ani,B,pindah\nA-2,Budi,A,\nA-3,C,A,\n")
    rows = parse_rows(table, columns_of(table.header, guess_columns(table.header)))
    now = Inmate(InmateId("i_1"), FacilityId("f"), "A-1", "Ani", "B", InmateStatus.CONVICTED)
    same = Inmate(InmateId("i_2"), FacilityId("f"), "A-2", "Budi", "A", InmateStatus.CONVICTED)
    assert change_of(rows[0], now) is Change.TRANSFERRED
    assert change_of(rows[1], same) is Change.UNCHANGED
    assert change_of(rows[2], None) is Change.NEW


def test_the_digest_changes_with_the_file_or_the_columns() -> None:
    base = digest(b"number,name\nA,B\n", Columns(0, 1))
    assert base == digest(b"number,name\nA,B\n", Columns(0, 1))
    assert base != digest(b"number,name\nA,C\n", Columns(0, 1))
    assert base != digest(b"number,name\nA,B\n", Columns(1, 0))
