"""Why an officer turns a family's request down: a canned reason, its text in both languages,
and a note (required for ``other``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from services.booking.texts import Text


class RejectReason(enum.StrEnum):
    """The canned reasons an officer turns a request down for."""

    INCOMPLETE_DATA = "incomplete_data"
    NOT_RELATIVE = "not_relative"
    INMATE_UNAVAILABLE = "inmate_unavailable"
    FACILITY_CLOSED = "facility_closed"
    OTHER = "other"  # the note says why

    @property
    def text(self) -> Text:
        """What the family reads, in Indonesian and English."""
        return REASON_TEXTS[self]


REASON_TEXTS: dict[RejectReason, Text] = {
    RejectReason.INCOMPLETE_DATA: Text("Data tidak lengkap.", "The details are incomplete."),
    RejectReason.NOT_RELATIVE: Text(
        "Pengunjung bukan keluarga yang terdaftar.", "The visitor is not a listed relative."
    ),
    RejectReason.INMATE_UNAVAILABLE: Text(
        "Warga binaan tidak dapat dikunjungi saat itu.", "The inmate cannot be visited then."
    ),
    RejectReason.FACILITY_CLOSED: Text(
        "Layanan kunjungan tutup pada waktu itu.", "Visits are closed at that time."
    ),
    RejectReason.OTHER: Text("Alasan lain.", "Another reason."),
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an officer turned a request down: a canned reason, and a note for ``other``."""

    reason: str
    note: str = ""
