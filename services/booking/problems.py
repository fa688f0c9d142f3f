"""Why a family's input was refused: a stable code per problem and its text in both languages.

The code is the contract (pages and tests key on it); the texts may be reworded freely. Every
refusal is a ``BadRequest`` (400), so the API answers as it does for any malformed field, and its
details say which field, which problem and what to tell the family.
"""

from __future__ import annotations

import enum

from services.booking.texts import Text
from services.errors import BadRequest


class Problem(enum.StrEnum):
    """A stable reason code for one way an input can be wrong."""

    NIK_REQUIRED = "nik_required"
    NIK_NOT_DIGITS = "nik_not_digits"
    NIK_WRONG_LENGTH = "nik_wrong_length"
    NIK_INVALID_PROVINCE = "nik_invalid_province"
    NIK_INVALID_BIRTH_DATE = "nik_invalid_birth_date"
    PHONE_REQUIRED = "phone_required"
    PHONE_INVALID = "phone_invalid"
    PHONE_NOT_INDONESIAN = "phone_not_indonesian"
    PHONE_NOT_MOBILE = "phone_not_mobile"
    NAME_REQUIRED = "name_required"
    NAME_CONTROL_CHARACTERS = "name_control_characters"
    NAME_INVALID_CHARACTERS = "name_invalid_characters"
    NAME_NO_LETTERS = "name_no_letters"
    NAME_TOO_SHORT = "name_too_short"
    NAME_TOO_LONG = "name_too_long"
    RELATIONSHIP_UNKNOWN = "relationship_unknown"
    RELATIONSHIP_NOT_ALLOWED = "relationship_not_allowed"
    INMATE_NAME_MISMATCH = "inmate_name_mismatch"
    TEACHER_REQUIRED = "teacher_required"
    LEGAL_NEEDS_ADVOCATE = "legal_needs_advocate"
    ADVOCATE_NUMBER_REQUIRED = "advocate_number_required"
    ADVOCATE_NUMBER_INVALID = "advocate_number_invalid"

    @property
    def text(self) -> Text:
        """What to tell the family, in Indonesian and English."""
        return MESSAGES[self]


MESSAGES: dict[Problem, Text] = {
    Problem.NIK_REQUIRED: Text("NIK wajib diisi.", "Please enter the NIK."),
    Problem.NIK_NOT_DIGITS: Text(
        "NIK hanya boleh berisi angka.",
        "A NIK contains digits only.",
    ),
    Problem.NIK_WRONG_LENGTH: Text(
        "NIK harus 16 digit. Periksa kembali KTP atau Kartu Keluarga.",
        "A NIK is exactly 16 digits. Please check the KTP or family card (KK).",
    ),
    Problem.NIK_INVALID_PROVINCE: Text(
        "Dua digit pertama NIK bukan kode provinsi yang dikenal. Periksa kembali NIK.",
        "The first two digits of the NIK are not a known province code. Please check the NIK.",
    ),
    Problem.NIK_INVALID_BIRTH_DATE: Text(
        "Digit ke-7 sampai ke-12 NIK bukan tanggal lahir yang benar. Periksa kembali NIK.",
        "Digits 7 to 12 of the NIK are not a valid date of birth. Please check the NIK.",
    ),
    Problem.PHONE_REQUIRED: Text("Nomor HP wajib diisi.", "Please enter a mobile number."),
    Problem.PHONE_INVALID: Text(
        "Nomor HP tidak valid. Contoh: 0812-3456-7890.",
        "This is not a valid phone number. Example: 0812-3456-7890.",
    ),
    Problem.PHONE_NOT_INDONESIAN: Text(
        "Gunakan nomor HP Indonesia (+62).",
        "Please use an Indonesian mobile number (+62).",
    ),
    Problem.PHONE_NOT_MOBILE: Text(
        "Gunakan nomor HP, bukan telepon rumah atau kantor: kabar dikirim lewat WhatsApp atau SMS.",
        "Please give a mobile number, not a landline: updates come by WhatsApp or SMS.",
    ),
    Problem.NAME_REQUIRED: Text("Nama wajib diisi.", "Please enter the name."),
    Problem.NAME_CONTROL_CHARACTERS: Text(
        "Nama berisi karakter tersembunyi yang tidak diizinkan. Ketik ulang namanya.",
        "The name contains hidden characters that are not allowed. Please type it again.",
    ),
    Problem.NAME_INVALID_CHARACTERS: Text(
        "Nama hanya boleh berisi huruf, spasi, dan tanda . ' -",
        "A name may contain only letters, spaces and . ' -",
    ),
    Problem.NAME_NO_LETTERS: Text("Nama harus berisi huruf.", "A name must contain letters."),
    Problem.NAME_TOO_SHORT: Text(
        "Nama paling sedikit 2 karakter.",
        "A name must be at least 2 characters long.",
    ),
    Problem.NAME_TOO_LONG: Text(
        "Nama paling banyak 100 karakter.",
        "A name must be at most 100 characters long.",
    ),
    Problem.RELATIONSHIP_UNKNOWN: Text(
        "Pilih hubungan dengan warga binaan dari daftar.",
        "Please choose the relationship to the inmate from the list.",
    ),
    Problem.RELATIONSHIP_NOT_ALLOWED: Text(
        "Lapas/rutan ini tidak menerima kunjungan dengan hubungan tersebut.",
        "This facility does not take visits from someone with that relationship.",
    ),
    Problem.INMATE_NAME_MISMATCH: Text(
        "Nama tidak cocok dengan nomor warga binaan. Periksa nomor dan ejaan nama.",
        "The name does not match the inmate number. Please check the number and the spelling.",
    ),
    Problem.TEACHER_REQUIRED: Text(
        "Kunjungan pendidikan disertai guru: isi nama dan nomor HP gurunya.",
        "An education visit comes with the teacher: please give the teacher's name and mobile"
        " number.",
    ),
    Problem.LEGAL_NEEDS_ADVOCATE: Text(
        "Kunjungan penasihat hukum hanya untuk advokat. Pilih hubungan Advokat, atau jenis"
        " kunjungan lain.",
        "A legal visit is for an advocate only. Choose Advocate as the relationship, or another"
        " kind of visit.",
    ),
    Problem.ADVOCATE_NUMBER_REQUIRED: Text(
        "Nomor induk advokat wajib diisi.",
        "Please enter the advocate's registration number.",
    ),
    Problem.ADVOCATE_NUMBER_INVALID: Text(
        "Nomor induk advokat 3 sampai 40 karakter: huruf, angka, spasi, dan tanda . / - saja."
        " Contoh: 12.34567.",
        "An advocate's registration number is 3 to 40 characters: letters, digits, spaces and"
        " . / - only. Example: 12.34567.",
    ),
}


def invalid(field: str, problem: Problem) -> BadRequest:
    """The error refusing ``field`` for ``problem``: English message, both texts in details."""
    text = problem.text
    return BadRequest(text.en, field=field, reason=problem.value, messages=text.to_json())
