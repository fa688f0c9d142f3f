"""Audit events as export rows: CSV for spreadsheets (guarded against formula injection) and
JSON lines for programs. The columns are the chain's own, plus a readable UTC time."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterable, AsyncIterator
from typing import TextIO

import orjson

from services.audit.chain import AuditRecord

CSV_COLUMNS = (
    "seq",
    "ts_ms",
    "facility_id",
    "visit_id",
    "actor_role",
    "actor_id",
    "action",
    "details",
    "prev_hash",
    "hash",
    "time_utc",
)
# A spreadsheet reads a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading formula character gets a ``'`` before
    it, as OWASP advises (the csv module quotes the cell when needed)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def iso_utc(ms: int) -> str:
    """Epoch milliseconds as an ISO-8601 UTC time to the second."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")


def csv_row(record: AuditRecord) -> list[object]:
    """One event as the cells of ``CSV_COLUMNS``; every text cell guarded by ``csv_cell``."""
    texts = (
        record.facility_id,
        record.visit_id,
        record.actor_role,
        record.actor_id,
        record.action,
        record.details,
        record.prev_hash,
        record.hash,
    )
    return [record.seq, record.ts_ms, *map(csv_cell, texts), iso_utc(record.ts_ms)]


def jsonl_line(record: AuditRecord) -> str:
    """One event as a line of JSON, as the REST API shows it."""
    return orjson.dumps(record.to_json()).decode() + "\n"


FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson"}  # and their media types
CHUNK = 64 * 1024  # characters gathered before a chunk is handed on


async def export_chunks(records: AsyncIterable[AuditRecord], fmt: str) -> AsyncIterator[str]:
    """``records`` as ``fmt`` ("csv", with a header row, or "jsonl"), in chunks of about
    ``CHUNK`` characters: the same text for a file (the CLI) and an HTTP download (the console)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if fmt == "csv":
        writer.writerow(CSV_COLUMNS)
    async for record in records:
        if fmt == "jsonl":
            buffer.write(jsonl_line(record))
        else:
            writer.writerow(csv_row(record))
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


async def write_export(records: AsyncIterable[AuditRecord], fmt: str, out: TextIO) -> None:
    """Write ``records`` to ``out`` as ``fmt`` ("csv", with a header row, or "jsonl")."""
    async for chunk in export_chunks(records, fmt):
        out.write(chunk)
