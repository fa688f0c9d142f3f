"""Every text a notification carries, in one place: Indonesian first, then a short English line.

A message names the facility, the visit's date and time in the facility's time zone (WIB, WITA,
WIT), and the visit code; a rejection gives its reason, a cancellation by an emergency closure
says so. The family link, when the message carries one, is added last when the message is sent
or shown (``with_link``), since it is never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from services.booking.rejections import RejectReason
from services.booking.slots import zone
from services.notify.records import MessageKind

MAX_NOTE = 200  # an officer's note, or a closure's reason, as quoted in a message

HARI = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
BULAN = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


@dataclass(frozen=True, slots=True)
class Facts:
    """What a message says about its visit."""

    facility: str  # the facility's name
    timezone: str
    code: str
    start_ms: int
    details: Mapping[str, object]  # the audit event's details (a rejection's reason, ...)


def compose(kind: MessageKind, facts: Facts) -> str:
    """The message of ``kind`` about a visit, without its link."""
    when_id, when_en = _when(facts.start_ms, facts.timezone)
    head = f"{facts.facility}: kunjungan {when_id}, kode {facts.code}."
    en = f"{facts.facility}: visit {when_en}, code {facts.code}."
    match kind:
        case MessageKind.REQUESTED:
            body = "Permintaan Anda sudah diterima dan menunggu persetujuan petugas."
            en += " Your request is received and waits for an officer's approval."
        case MessageKind.APPROVED:
            body = "Kunjungan Anda disetujui. Buka tautan di bawah pada waktunya."
            en += " Approved: open the link below at the time."
        case MessageKind.REJECTED:
            reason = _reason(facts.details)
            body = f"Maaf, permintaan Anda ditolak. {reason.id}"
            en += f" Sorry, your request was turned down. {reason.en}"
            note = _clip(facts.details.get("note"))
            if note:
                body += f" Catatan: {note}"
        case MessageKind.CANCELLED:
            body, en_why = _cancelled(facts.details)
            en += " " + en_why
        case MessageKind.REMINDER:
            body = "Pengingat kunjungan Anda. Buka tautan di bawah pada waktunya."
            en += " A reminder of your visit: open the link below at the time."
    return f"{head} {body}\n{en}"


def with_link(text: str, link: str | None) -> str:
    """The message as the family gets it: its text, then its link on a line of its own."""
    return f"{text}\n{link}" if link else text


def wa_me(phone: str, text: str) -> str:
    """A WhatsApp click-to-chat link to ``phone`` (E.164) with ``text`` prefilled."""
    digits = "".join(c for c in phone if c.isdigit())
    return f"https://wa.me/{digits}?text={quote(text, safe='')}"


def _when(start_ms: int, timezone: str) -> tuple[str, str]:
    at = dt.datetime.fromtimestamp(start_ms / 1000, zone(timezone))
    tz = at.strftime("%Z")
    day_id = f"{HARI[at.weekday()]}, {at.day} {BULAN[at.month - 1]} {at.year}"
    return (
        f"{day_id} pukul {at:%H.%M} {tz}",
        f"{at:%a} {at.day} {at:%b %Y %H:%M} {tz}",
    )


@dataclass(frozen=True, slots=True)
class _Both:
    id: str
    en: str


def _reason(details: Mapping[str, object]) -> _Both:
    try:
        reason = RejectReason(str(details.get("reason", "")))
    except ValueError:
        reason = RejectReason.OTHER
    return _Both(f"Alasan: {reason.text.id}", f"Reason: {reason.text.en}")


def _cancelled(details: Mapping[str, object]) -> tuple[str, str]:
    """The Indonesian sentence and the English one of a cancellation, by who cancelled."""
    if details.get("by") == "closure":
        why = _clip(details.get("reason"))
        return (
            f"Kunjungan dibatalkan karena penutupan darurat{': ' + why if why else ''}."
            " Silakan daftar ulang untuk waktu lain.",
            "Cancelled: the facility closed for an emergency; please book another time.",
        )
    if details.get("by") == "family":
        return "Kunjungan telah Anda batalkan.", "You cancelled this visit."
    return (
        "Kunjungan dibatalkan oleh petugas. Silakan daftar ulang untuk waktu lain.",
        "Cancelled by the facility; please book another time.",
    )


def _clip(value: object) -> str:
    """An officer's free text, on one line and cut to ``MAX_NOTE``."""
    text = " ".join(str(value or "").split())
    return text[:MAX_NOTE]
