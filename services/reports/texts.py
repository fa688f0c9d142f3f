"""The report's words in Indonesian (first) and English: its titles, sections, figures and
breakdowns. The page, the PDF and the CSV's labels all come from here."""

from __future__ import annotations

LANGS = ("id", "en")

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("Laporan bulanan kunjungan video", "Monthly video visit report"),
    "facility": ("Lapas/Rutan", "Facility"),
    "region": ("Wilayah (gabungan)", "Region (consolidated)"),
    "month": ("Bulan", "Month"),
    "made": ("Dibuat", "Generated"),
    "zone_note": (
        "Setiap Lapas/Rutan dihitung menurut bulan kalender di zona waktunya sendiri.",
        "Each facility is counted by the calendar month in its own time zone.",
    ),
    "read_only": (
        "Laporan ini dihitung dari log audit dan data kunjungan; tidak dapat diubah.",
        "This report is computed from the audit log and the visit records; it cannot be edited.",
    ),
    "col_figure": ("Angka", "Figure"),
    "col_value": ("Nilai", "Value"),
    "col_source": ("Sumber", "Source"),
    "source_link": ("lihat peristiwa", "see events"),
    "chart_per_day": ("Kunjungan per hari", "Visits per day"),
    "chart_end_reasons": ("Alasan berakhir", "End reasons"),
    "chart_ikm": ("IKM 12 bulan terakhir", "IKM over the last 12 months"),
    "sums_ok": ("Semua jumlah sesuai totalnya.", "Every sum matches its total."),
    "sums_bad": ("Jumlah tidak sesuai:", "Sums that do not match:"),
    # sections
    "s_requests": ("Permohonan kunjungan", "Visit requests"),
    "s_visits": ("Kunjungan", "Visits"),
    "s_end_reasons": ("Alasan berakhir", "End reasons"),
    "s_minutes": ("Menit kunjungan", "Visit minutes"),
    "s_lead_time": ("Waktu tunggu", "Lead time"),
    "s_priority": ("Pengunjung prioritas", "Priority visitors"),
    "s_survey": ("Survei kepuasan (IKM)", "Satisfaction survey (IKM)"),
    "survey_missing": (
        "Belum ada data survei untuk bulan ini.",
        "No survey data for this month yet.",
    ),
    # figures
    "requested": ("Diajukan", "Requested"),
    "approved": ("Disetujui", "Approved"),
    "rejected": ("Ditolak", "Rejected"),
    "withdrawn": ("Dibatalkan pemohon", "Withdrawn"),
    "held": ("Tertunda di akhir bulan", "Held (pending at month end)"),
    "booked": ("Terjadwal di bulan ini", "Booked in the month"),
    "walk_ins": ("Kunjungan langsung (walk-in)", "Walk-ins"),
    "due": ("Jatuh tempo (tidak dibatalkan)", "Came due (not cancelled)"),
    "no_show_rate": ("Tingkat tidak hadir", "No-show rate"),
    "scheduled": ("Menit terjadwal", "Minutes scheduled"),
    "connected": ("Menit tersambung", "Minutes connected"),
    "lost": ("Menit hilang", "Minutes lost"),
    "unused": ("Menit tak terpakai (bukan gangguan)", "Minutes unused (no fault)"),
    "responses": ("Jumlah responden", "Responses"),
    "ikm": ("Indeks Kepuasan Masyarakat (IKM)", "Satisfaction index (IKM)"),
    "ikm_grade": ("Mutu pelayanan", "Service grade"),
    "overall_mean": ("Kepuasan keseluruhan (1-4)", "Overall satisfaction (1-4)"),
    "registration_mean": ("Kemudahan pendaftaran (1-4)", "Ease of registering (1-4)"),
    "on_time_mean": ("Ketepatan waktu (1-4)", "Started on time (1-4)"),
    "officers_mean": ("Keramahan petugas (1-4)", "Officers' helpfulness (1-4)"),
    "sound_mean": ("Kualitas suara (1-5)", "Sound quality (1-5)"),
    "picture_mean": ("Kualitas gambar (1-5)", "Picture quality (1-5)"),
    "asked_to_pay": ("Laporan diminta membayar", "Reports of being asked to pay"),
    "comments": ("Komentar", "Comments"),
    "median_days": ("Median hari dari permohonan ke kunjungan", "Median days, request to visit"),
    "requests_counted": ("Kunjungan dari permohonan", "Visits from requests counted"),
    "served": ("Pengunjung prioritas terlayani", "Priority visitors served"),
    # breakdowns
    "all": ("Semua", "All"),
    "regular": ("Reguler", "Regular"),
    "education": ("Pendidikan", "Education"),
    "legal": ("Hukum", "Legal"),
    "completed": ("Selesai tepat waktu", "Completed"),
    "hangup": ("Ditutup peserta", "Hung up"),
    "terminated": ("Dihentikan petugas", "Terminated by an officer"),
    "no_show": ("Tidak hadir", "No-show"),
    "failed": ("Media gagal", "Media failed"),
    "cancelled": ("Dibatalkan", "Cancelled"),
    "open": ("Belum berakhir", "Not ended"),
    "system": ("Sistem", "System"),
    "family": ("Sisi keluarga", "Family side"),
    "officer": ("Petugas", "Officer"),
    # units
    "u_percent": ("%", "%"),
    "u_minutes": ("menit", "min"),
    "u_days": ("hari", "days"),
    "u_count": ("", ""),
    "u_index": ("", ""),
    "u_score": ("", ""),
}


def t(key: str, lang: str) -> str:
    """``key``'s text in ``lang`` (the key itself if there is none: a figure named by code)."""
    pair = TEXTS.get(key)
    if pair is None:
        return key
    return pair[LANGS.index(lang)] if lang in LANGS else pair[0]
