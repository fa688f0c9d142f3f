"""What a family types about itself, checked and normalised: NIK, phone number, name, and an
advocate's registration number.

Pure functions, no I/O: the registration API and pages call them and show the error's text in
the family's language. Every refusal is a ``BadRequest`` whose details name the field, give a
stable ``reason`` (a ``Problem``) and carry the message in Indonesian and English, e.g.::

    {"field": "nik", "reason": "nik_invalid_province",
     "messages": {"id": "Kode provinsi ...", "en": "The province code ..."}}

The relationship a visitor declares is ``services.booking.relationships``.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from datetime import date

import phonenumbers

from services.booking.problems import Problem, invalid
from services.domain.pii import mask

NIK_LENGTH = 16
NAME_MIN, NAME_MAX = 2, 100
ADVOCATE_NUMBER_MIN, ADVOCATE_NUMBER_MAX = 3, 40

# Province codes as digits 1-2 of a NIK: the Ministry of Home Affairs' (Kemendagri) region codes,
# which Dukcapil uses for the NIK (not the BPS statistics codes, which differ for Papua). Source:
# Permendagri No. 72 Tahun 2019 on region codes, with the four Papua provinces formed in 2022
# (Papua Selatan 93, Papua Tengah 94, Papua Pegunungan 95, Papua Barat Daya 96) added by
# Kepmendagri No. 100.1.1-6117 Tahun 2022. A NIK keeps the code it was issued under, so the codes
# of provinces since split (Papua 91, Papua Barat 92) stay valid alongside the new ones.
PROVINCE_CODES = frozenset(
    [*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66), *range(71, 77)]
    + [81, 82, *range(91, 97)]
)
WOMEN_DAY_OFFSET = 40  # a woman's NIK carries her day of birth plus 40

# Full-width digits come from East Asian keyboards and pasted text; they mean the same digits.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_NIK_SEPARATORS = "-."  # and whitespace: as people group the digits when they copy a KTP by hand
_ASCII_DIGITS = frozenset("0123456789")

# An advocate's registration number as the bar associations print it: PERADI's NIA "12.34567",
# "NIA 012-345678", others with a slash. ASCII only: an officer compares it with a card.
_ADVOCATE_NUMBER_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ./-"
)

# Phone keyboards turn ' into a typographic apostrophe; the name is the same.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'"})
_NAME_PUNCTUATION = frozenset(".'-")
_LINE_BREAKS = frozenset("\t\n\r")
# Where the numbering plan cannot tell a mobile from a landline, refusing would turn away phones.
_MOBILE_TYPES = frozenset(
    [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE]
)


class Sex(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True)
class Nik:
    """A checked NIK (Nomor Induk Kependudukan) and what its digits say about its holder."""

    value: str  # 16 ASCII digits
    sex: Sex
    birth_date: date

    @property
    def province(self) -> int:
        """The Kemendagri code of the province that issued it."""
        return int(self.value[:2])

    @property
    def last4(self) -> str:
        """The last four digits: what a family types to check a request's state."""
        return self.value[-4:]

    def __repr__(self) -> str:
        # A Nik in a log line or a traceback must not spill the whole number.
        return f"Nik({mask_nik(self.value)}, {self.sex.value}, {self.birth_date.isoformat()})"


def mask_nik(nik: str) -> str:
    """``3201234567890123`` → ``************0123``: for logs and audit events."""
    return mask(nik)


def mask_phone(phone: str) -> str:
    """``+6281234567890`` → ``**********7890``: for logs and audit events."""
    return mask(phone)


def parse_nik(raw: str, today: date) -> Nik:
    """Check a NIK as typed and read its holder's sex and birth date.

    ``today`` is the date where the facility is; it picks the century of a two-digit birth year.
    """
    nik = raw.translate(_FULL_WIDTH_DIGITS)
    nik = "".join(c for c in nik if not (c.isspace() or c in _NIK_SEPARATORS))
    if not nik:
        raise invalid("nik", Problem.NIK_REQUIRED)
    if not set(nik) <= _ASCII_DIGITS:
        raise invalid("nik", Problem.NIK_NOT_DIGITS)
    if len(nik) != NIK_LENGTH:
        raise invalid("nik", Problem.NIK_WRONG_LENGTH)
    if int(nik[:2]) not in PROVINCE_CODES:
        raise invalid("nik", Problem.NIK_INVALID_PROVINCE)
    sex, born = _birth(nik[6:12], today)
    return Nik(nik, sex, born)


def _birth(ddmmyy: str, today: date) -> tuple[Sex, date]:
    """Digits 7-12 of a NIK: DDMMYY, with 40 added to the day for a woman.

    The century is the one that does not put the birth in the future: ``25`` read in 2026 is
    2025, ``30`` is 1930. Nobody is born after ``today``, and few who book visits are over 100.
    """
    day, month, yy = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:])
    sex = Sex.FEMALE if day > WOMEN_DAY_OFFSET else Sex.MALE
    if sex is Sex.FEMALE:
        day -= WOMEN_DAY_OFFSET
    year = 2000 + yy
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    try:
        return sex, date(year, month, day)
    except ValueError as exc:  # day 0 or 32-40, month 0 or 13+, 30 Feb, 29 Feb off leap years
        raise invalid("nik", Problem.NIK_INVALID_BIRTH_DATE) from exc


def normalize_phone(raw: str, field: str = "phone") -> str:
    """An Indonesian mobile number in E.164 (``+6281234567890``).

    Takes it as people write it: ``0812-3456-7890``, ``+62 812 3456 7890``, ``62812...``,
    ``812...``. Landlines are refused: the number is for WhatsApp and SMS. ``field`` names the
    input in the error (a teacher's contact is checked by the same rule).
    """
    if not raw.strip():
        raise invalid(field, Problem.PHONE_REQUIRED)
    # phonenumbers reads letters as a keypad's digits (0812-FLOWERS); nobody means that here.
    if any(c.isalpha() for c in raw):
        raise invalid(field, Problem.PHONE_INVALID)
    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException as exc:
        raise invalid(field, Problem.PHONE_INVALID) from exc
    if not phonenumbers.is_valid_number(number):
        raise invalid(field, Problem.PHONE_INVALID)
    if phonenumbers.region_code_for_number(number) != "ID":
        raise invalid(field, Problem.PHONE_NOT_INDONESIAN)
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise invalid(field, Problem.PHONE_NOT_MOBILE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_name(raw: str, field: str = "name") -> str:
    """A person's name: NFC, trimmed, inner whitespace one space, 2 to 100 characters.

    Letters of any script (with their combining marks, for letters NFC cannot compose), spaces
    and ``.'-``; one word is a whole name in Indonesia. ``field`` names the input in the error
    (a teacher's name is checked by the same rule).
    """
    name = unicodedata.normalize("NFC", raw).translate(_APOSTROPHES)
    # Format characters too: a right-to-left override would show a name other than the stored one.
    if any(_is_control(c) for c in name):
        raise invalid(field, Problem.NAME_CONTROL_CHARACTERS)
    name = " ".join("".join(" " if _is_space(c) else c for c in name).split())
    if not name:
        raise invalid(field, Problem.NAME_REQUIRED)
    if not all(_is_name_character(c) for c in name):
        raise invalid(field, Problem.NAME_INVALID_CHARACTERS)
    if not any(c.isalpha() for c in name):
        raise invalid(field, Problem.NAME_NO_LETTERS)
    if len(name) < NAME_MIN:
        raise invalid(field, Problem.NAME_TOO_SHORT)
    if len(name) > NAME_MAX:
        raise invalid(field, Problem.NAME_TOO_LONG)
    return name


def parse_advocate_number(raw: str) -> str:
    """An advocate's registration number (``12.34567``, ``NIA 012-345678``): trimmed, inner
    whitespace one space, 3 to 40 characters of ASCII letters, digits, spaces and ``. / -``.

    A professional number, not personal data: it is kept and logged as typed.
    """
    number = " ".join(raw.translate(_FULL_WIDTH_DIGITS).split())
    if not number:
        raise invalid("advocate_number", Problem.ADVOCATE_NUMBER_REQUIRED)
    if not (
        ADVOCATE_NUMBER_MIN <= len(number) <= ADVOCATE_NUMBER_MAX
        and set(number) <= _ADVOCATE_NUMBER_CHARACTERS
        and any(c.isdigit() for c in number)
    ):
        raise invalid("advocate_number", Problem.ADVOCATE_NUMBER_INVALID)
    return number


def _is_space(c: str) -> bool:
    return c in _LINE_BREAKS or unicodedata.category(c).startswith("Z")


def _is_control(c: str) -> bool:
    return unicodedata.category(c) in ("Cc", "Cf") and c not in _LINE_BREAKS


def _is_name_character(c: str) -> bool:
    return c == " " or c in _NAME_PUNCTUATION or unicodedata.category(c)[0] in "LM"
