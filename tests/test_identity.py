"""A family's identity fields: NIK, phone, name and relationship are checked and normalised, and
every refusal names the field, gives a stable reason and says why in Indonesian and English."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from services.booking.forms import (
    GuestForm,
    RequestForm,
    VisitorForm,
    advocate_number_of,
    teacher_of,
)
from services.booking.identity import (
    PROVINCE_CODES,
    Sex,
    mask_nik,
    mask_phone,
    normalize_name,
    normalize_phone,
    parse_advocate_number,
    parse_nik,
)
from services.booking.names import check_inmate_name
from services.booking.policy import BookingPolicy
from services.booking.problems import MESSAGES, Problem
from services.booking.relationships import LABELS, Relationship, parse_relationship
from services.booking.texts import Lang, Text
from services.domain.model import VisitKind, Visitor
from services.domain.pii import mask
from services.errors import BadRequest
from services.ids import VisitorId

TODAY = date(2026, 12, 1)


def nik(born: str = "150890", province: str = "32") -> str:
    """A NIK from Bandung (32 01 01) with the birth digits ``born`` (DDMMYY) and serial 0001."""
    return f"{province}0101{born}0001"


def refusal(check: Callable[[], object]) -> BadRequest:
    with pytest.raises(BadRequest) as raised:
        check()
    return raised.value


def reason(check: Callable[[], object]) -> str:
    return str(refusal(check).details["reason"])


# --- NIK ---------------------------------------------------------------------------------------


def test_a_nik_gives_its_holders_sex_birth_date_and_province() -> None:
    """A man's NIK: the day as it is, the century that is not in the future."""
    checked = parse_nik(nik("150890"), TODAY)
    assert checked.value == "3201011508900001"
    assert checked.sex is Sex.MALE
    assert checked.birth_date == date(1990, 8, 15)
    assert checked.province == 32
    assert checked.last4 == "0001"


@pytest.mark.parametrize(
    ("born", "day"), [("410190", date(1990, 1, 1)), ("710190", date(1990, 1, 31))]
)
def test_a_womans_day_is_the_day_plus_40(born: str, day: date) -> None:
    """Days 41 to 71 are a woman's 1st to 31st."""
    checked = parse_nik(nik(born), TODAY)
    assert (checked.sex, checked.birth_date) == (Sex.FEMALE, day)


@pytest.mark.parametrize("day", ["00", "32", "36", "40", "72", "99"])
def test_a_day_that_is_neither_a_mans_nor_a_womans_is_refused(day: str) -> None:
    """00, 32 to 40 and past 71 are no day of any month."""
    assert reason(lambda: parse_nik(nik(f"{day}0190"), TODAY)) == "nik_invalid_birth_date"


@pytest.mark.parametrize("month", ["00", "13"])
def test_a_month_outside_1_to_12_is_refused(month: str) -> None:
    """Month 00 or 13 is no month."""
    assert reason(lambda: parse_nik(nik(f"15{month}90"), TODAY)) == "nik_invalid_birth_date"


@pytest.mark.parametrize("born", ["310490", "300290", "710490"])
def test_a_day_past_the_end_of_its_month_is_refused(born: str) -> None:
    """31 April, 30 February and a woman's 31 April are not dates."""
    assert reason(lambda: parse_nik(nik(born), TODAY)) == "nik_invalid_birth_date"


@pytest.mark.parametrize(
    ("born", "day"),
    [("290296", date(1996, 2, 29)), ("290200", date(2000, 2, 29)), ("690204", date(2004, 2, 29))],
)
def test_29_february_is_a_birthday_in_leap_years(born: str, day: date) -> None:
    """1996, 2000 (divisible by 400) and a woman's 2004: real leap days."""
    assert parse_nik(nik(born), TODAY).birth_date == day


@pytest.mark.parametrize("born", ["290297", "290223", "690225"])
def test_29_february_off_a_leap_year_is_refused(born: str) -> None:
    """1997, 2023 and 2025 had no 29 February."""
    assert reason(lambda: parse_nik(nik(born), TODAY)) == "nik_invalid_birth_date"


@pytest.mark.parametrize(
    ("born", "year"),
    [("010126", 2026), ("011226", 2026), ("021226", 1926), ("010127", 1927), ("010100", 2000)],
)
def test_the_century_is_the_one_not_in_the_future(born: str, year: int) -> None:
    """Born by today reads as this century; a day after today reads as the last one."""
    assert parse_nik(nik(born), TODAY).birth_date.year == year


@pytest.mark.parametrize("code", sorted(PROVINCE_CODES))
def test_every_province_code_is_accepted(code: int) -> None:
    """Each of the 38 provinces' codes opens a valid NIK."""
    assert parse_nik(nik(province=str(code)), TODAY).province == code


def test_the_province_codes_are_the_38_provinces() -> None:
    """11-19, 21, 31-36, 51-53, 61-65, 71-76, 81-82, 91-96: no more, no fewer."""
    expected = {*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66)}
    expected |= {*range(71, 77), 81, 82, *range(91, 97)}
    assert PROVINCE_CODES == expected
    assert len(PROVINCE_CODES) == 38


@pytest.mark.parametrize("code", ["00", "10", "20", "22", "37", "54", "66", "83", "90", "97", "99"])
def test_a_code_of_no_province_is_refused(code: str) -> None:
    """Two digits that name no province: the NIK is mistyped."""
    assert reason(lambda: parse_nik(nik(province=code), TODAY)) == "nik_invalid_province"


@pytest.mark.parametrize("raw", ["320101150890001", "32010115089000012", "3201"])
def test_a_nik_of_other_than_16_digits_is_refused(raw: str) -> None:
    """15, 17 or 4 digits: not a NIK."""
    assert reason(lambda: parse_nik(raw, TODAY)) == "nik_wrong_length"


@pytest.mark.parametrize(
    "raw", ["320101150890000A", "3201011508900O01", "3201011508900001+", "３２０１٠١١٥٠٨٩٠٠٠٠١"]
)
def test_a_nik_with_anything_but_digits_is_refused(raw: str) -> None:
    """Letters, signs and digits of other scripts (Arabic-Indic here) are refused."""
    assert reason(lambda: parse_nik(raw, TODAY)) == "nik_not_digits"


def test_full_width_digits_are_read_as_digits() -> None:
    """Digits from an East Asian keyboard are the same digits, stored as ASCII."""
    assert parse_nik("３２０１０１１５０８９００００１", TODAY).value == "3201011508900001"


@pytest.mark.parametrize(
    "raw",
    [
        " 3201011508900001 ",
        "3201 0115 0890 0001",
        "3201-0115-0890-0001",
        "3201\u00a00115.0890.0001",
    ],
)
def test_spaces_and_dashes_between_digits_are_dropped(raw: str) -> None:
    """A NIK copied in groups is the same NIK."""
    assert parse_nik(raw, TODAY).value == "3201011508900001"


@pytest.mark.parametrize("raw", ["", "   ", " - "])
def test_an_empty_nik_is_asked_for(raw: str) -> None:
    """Nothing typed: the NIK is required."""
    assert reason(lambda: parse_nik(raw, TODAY)) == "nik_required"


def test_a_nik_shows_only_its_last_four_digits_in_logs() -> None:
    """mask_nik and a Nik's repr keep the last four digits, as services.domain.pii does."""
    assert mask_nik("3201011508900001") == "************0001" == mask("3201011508900001")
    shown = repr(parse_nik(nik(), TODAY))
    assert "3201011508900001" not in shown
    assert "************0001" in shown


# --- phone -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0812-3456-7890",
        "+62 812 3456 7890",
        "6281234567890",
        "81234567890",
        "(0812) 3456 7890",
        "+62 0812 3456 7890",
        "０８１２３４５６７８９０",
    ],
)
def test_a_mobile_number_is_normalised_to_e164(raw: str) -> None:
    """However the family writes it, the number is stored as +62..."""
    assert normalize_phone(raw) == "+6281234567890"


@pytest.mark.parametrize("raw", ["021 1234 5678", "+62 21 1234 5678", "0800 1234 567"])
def test_a_landline_or_toll_free_number_is_refused(raw: str) -> None:
    """Jakarta's 021 and 0800 cannot receive WhatsApp or SMS."""
    assert reason(lambda: normalize_phone(raw)) == "phone_not_mobile"


@pytest.mark.parametrize("raw", ["+1 650 253 0000", "+60 12-345 6789"])
def test_a_foreign_number_is_refused(raw: str) -> None:
    """A valid number outside Indonesia is refused with its own reason."""
    assert reason(lambda: normalize_phone(raw)) == "phone_not_indonesian"


@pytest.mark.parametrize(
    "raw", ["08123", "0812-FLOWERS", "phone", "+", "0812345678901234567890", "0812 3456 7890 ext 1"]
)
def test_an_invalid_number_is_refused(raw: str) -> None:
    """Too short, too long, letters (read as keypad digits by the library) or no number at all."""
    assert reason(lambda: normalize_phone(raw)) == "phone_invalid"


@pytest.mark.parametrize("raw", ["", "  "])
def test_an_empty_phone_is_asked_for(raw: str) -> None:
    """Nothing typed: the phone is required."""
    assert reason(lambda: normalize_phone(raw)) == "phone_required"


def test_a_phone_shows_only_its_last_four_digits_in_logs() -> None:
    """mask_phone keeps the last four digits."""
    assert mask_phone("+6281234567890") == "**********7890"


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("  Siti   Nurhaliza  ", "Siti Nurhaliza"),
        ("Siti\tNur\nHaliza\r", "Siti Nur Haliza"),
        ("Siti\u00a0Nurhaliza\u2003", "Siti Nurhaliza"),
        ("Sukarno", "Sukarno"),
        ("Abd. Rahman", "Abd. Rahman"),
        ("Ma'ruf Amin", "Ma'ruf Amin"),
        ("Ma\u2019ruf Amin", "Ma'ruf Amin"),
        ("Siti-Aisyah", "Siti-Aisyah"),
        ("Ng", "Ng"),
    ],
)
def test_a_name_is_trimmed_and_its_inner_whitespace_collapsed(raw: str, name: str) -> None:
    """Any run of whitespace is one space; one word is a whole name; a typographic apostrophe is
    an apostrophe."""
    assert normalize_name(raw) == name


def test_a_name_is_stored_in_nfc() -> None:
    """An e followed by a combining acute is stored as the one letter é."""
    assert normalize_name("Jose\u0301 Rizal") == "Jos\u00e9 Rizal"


@pytest.mark.parametrize("raw", ["Дмитрий", "محمد", "ꦱꦸꦏꦂꦤ"])
def test_letters_of_any_script_make_a_name(raw: str) -> None:
    """Cyrillic, Arabic and Javanese script (with its vowel signs) are letters too."""
    assert normalize_name(raw) == raw


def test_a_name_is_2_to_100_characters_long() -> None:
    """One letter is too short; 100 is the most, counted after NFC."""
    assert normalize_name("A" * 100) == "A" * 100
    assert normalize_name("e\u0301" * 100) == "\u00e9" * 100
    assert reason(lambda: normalize_name("A")) == "name_too_short"
    assert reason(lambda: normalize_name(" A ")) == "name_too_short"
    assert reason(lambda: normalize_name("A" * 101)) == "name_too_long"


@pytest.mark.parametrize("raw", ["Budi 😀", "Budi2", "Budi_Santoso", "<b>Budi</b>", "Budi, S.H."])
def test_emoji_digits_and_other_signs_are_refused(raw: str) -> None:
    """Only letters, spaces and . ' - make a name."""
    assert reason(lambda: normalize_name(raw)) == "name_invalid_characters"


@pytest.mark.parametrize(
    "raw",
    ["\u202eisruB", "Bu\u200bdi", "\u2067Budi\u2069", "\ufeffBudi", "Bu\x00di", "Budi\x1b[31m"],
)
def test_control_and_format_characters_are_refused(raw: str) -> None:
    """A right-to-left override or isolate, a zero-width space, a byte-order mark, NUL or ESC:
    each could show a name other than the one stored, so the name is typed again."""
    assert reason(lambda: normalize_name(raw)) == "name_control_characters"


@pytest.mark.parametrize("raw", ["...", "- -", "''"])
def test_a_name_without_letters_is_refused(raw: str) -> None:
    """Punctuation alone is no name."""
    assert reason(lambda: normalize_name(raw)) == "name_no_letters"


@pytest.mark.parametrize("raw", ["", "   \t "])
def test_an_empty_name_is_asked_for(raw: str) -> None:
    """Nothing but whitespace: the name is required."""
    assert reason(lambda: normalize_name(raw)) == "name_required"


def test_the_refusal_names_the_field_it_was_given() -> None:
    """A teacher's name is checked by the same rule under its own field."""
    assert refusal(lambda: normalize_name("", "teacher_name")).details["field"] == "teacher_name"


# --- an education visit's teacher, a legal visit's advocate ------------------------------------

SPOUSE = Visitor(VisitorId("vr_1"), "Siti", nik(), "+6281234567890", "spouse")


def request(kind: VisitKind, teacher: GuestForm | None = None, number: str = "") -> RequestForm:
    """A request of ``kind``; only the kind's own fields matter here."""
    person = VisitorForm("Siti", nik(), "0812-3456-7890", "spouse")
    return RequestForm("f_1", "B-1", kind, 1, person, teacher, advocate_number=number)


def test_a_teachers_contact_is_normalised_like_a_visitors_phone() -> None:
    """The teacher's mobile number comes back in E.164; a landline is refused under the guest's
    own field."""
    teacher = teacher_of(request(VisitKind.EDUCATION, GuestForm(" Bu Sari ", "0813-1111-2222")))
    assert teacher is not None and (teacher.name, teacher.contact) == ("Bu Sari", "+6281311112222")
    landline = request(VisitKind.EDUCATION, GuestForm("Bu Sari", "021 1234 5678"))
    error = refusal(lambda: teacher_of(landline))
    assert (error.details["field"], error.details["reason"]) == (
        "guests[0].contact",
        "phone_not_mobile",
    )


def test_only_an_education_visit_takes_a_guest() -> None:
    """A guest on a family visit is refused naming ``guests``; none on one is none."""
    assert teacher_of(request(VisitKind.REGULAR)) is None
    guest = GuestForm("Bu Sari", "0813-1111-2222")
    assert refusal(lambda: teacher_of(request(VisitKind.REGULAR, guest))).details["field"] == (
        "guests"
    )


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("12.34567", "12.34567"),
        ("  NIA  012-345678 ", "NIA 012-345678"),
        ("B/12/2020", "B/12/2020"),
    ],
)
def test_an_advocate_number_is_trimmed(raw: str, kept: str) -> None:
    """PERADI's NIA as printed, other associations' with a slash; spaces trimmed and single."""
    assert parse_advocate_number(raw) == kept


@pytest.mark.parametrize("raw", ["12", "1" * 41, "12.345;67", "NIA 12345٦", "abc", "<b>12</b>"])
def test_an_advocate_number_out_of_shape_is_refused(raw: str) -> None:
    """Too short, too long, a character outside letters, digits, space and . / -, no digit."""
    assert reason(lambda: parse_advocate_number(raw)) == "advocate_number_invalid"


def test_only_a_legal_visit_takes_an_advocate_number() -> None:
    """A family visit with a number is refused naming it; without, it has none."""
    assert advocate_number_of(request(VisitKind.REGULAR), SPOUSE) is None
    with_number = request(VisitKind.REGULAR, number="12.34567")
    assert refusal(lambda: advocate_number_of(with_number, SPOUSE)).details["field"] == (
        "advocate_number"
    )


# --- relationship ------------------------------------------------------------------------------


def test_the_relationships_are_the_nine_of_the_api() -> None:
    """The API's values, in the order a form lists them."""
    assert [r.value for r in Relationship] == [
        "spouse",
        "parent",
        "child",
        "sibling",
        "grandparent",
        "grandchild",
        "other_family",
        "advocate",
        "teacher",
    ]


def test_each_relationship_has_an_indonesian_and_an_english_label() -> None:
    """A form shows each in the family's language."""
    assert Relationship.SPOUSE.label == Text("Suami/istri", "Spouse")
    assert Relationship.SIBLING.label.in_(Lang.ID) == "Saudara kandung"
    assert Relationship.OTHER_FAMILY.label.in_(Lang.EN) == "Other family"
    assert set(LABELS) == set(Relationship)
    for relationship in Relationship:
        assert relationship.label.id and relationship.label.en


def test_a_relationship_is_parsed_from_its_api_value() -> None:
    """``spouse`` is the spouse; the value is taken as the API spells it, trimmed."""
    assert parse_relationship(" spouse ") is Relationship.SPOUSE
    assert parse_relationship("other_family") is Relationship.OTHER_FAMILY


@pytest.mark.parametrize("raw", ["friend", "Spouse", "", "suami"])
def test_an_unknown_relationship_is_refused(raw: str) -> None:
    """Anything but one of the nine values is refused, naming the field."""
    error = refusal(lambda: parse_relationship(raw))
    assert error.details["reason"] == "relationship_unknown"
    assert error.details["field"] == "relationship"


# --- messages ----------------------------------------------------------------------------------

TRIGGERS: list[tuple[Problem, str, Callable[[], object]]] = [
    (Problem.NIK_REQUIRED, "nik", lambda: parse_nik("", TODAY)),
    (Problem.NIK_NOT_DIGITS, "nik", lambda: parse_nik("32010115089O0001", TODAY)),
    (Problem.NIK_WRONG_LENGTH, "nik", lambda: parse_nik("320101150890001", TODAY)),
    (Problem.NIK_INVALID_PROVINCE, "nik", lambda: parse_nik(nik(province="99"), TODAY)),
    (Problem.NIK_INVALID_BIRTH_DATE, "nik", lambda: parse_nik(nik("150090"), TODAY)),
    (Problem.PHONE_REQUIRED, "phone", lambda: normalize_phone("")),
    (Problem.PHONE_INVALID, "phone", lambda: normalize_phone("08123")),
    (Problem.PHONE_NOT_INDONESIAN, "phone", lambda: normalize_phone("+1 650 253 0000")),
    (Problem.PHONE_NOT_MOBILE, "phone", lambda: normalize_phone("021 1234 5678")),
    (Problem.NAME_REQUIRED, "name", lambda: normalize_name(" ")),
    (Problem.NAME_CONTROL_CHARACTERS, "name", lambda: normalize_name("\u202eBudi")),
    (Problem.NAME_INVALID_CHARACTERS, "name", lambda: normalize_name("Budi 😀")),
    (Problem.NAME_NO_LETTERS, "name", lambda: normalize_name("...")),
    (Problem.NAME_TOO_SHORT, "name", lambda: normalize_name("B")),
    (Problem.NAME_TOO_LONG, "name", lambda: normalize_name("B" * 101)),
    (Problem.RELATIONSHIP_UNKNOWN, "relationship", lambda: parse_relationship("friend")),
    (
        Problem.RELATIONSHIP_NOT_ALLOWED,
        "relationship",
        lambda: BookingPolicy(frozenset({Relationship.SPOUSE})).check("parent"),
    ),
    (Problem.INMATE_NAME_MISMATCH, "inmate_name", lambda: check_inmate_name("Andi", "Budi")),
    (Problem.TEACHER_REQUIRED, "guests", lambda: teacher_of(request(VisitKind.EDUCATION))),
    (
        Problem.LEGAL_NEEDS_ADVOCATE,
        "relationship",
        lambda: advocate_number_of(request(VisitKind.LEGAL, number="12.34567"), SPOUSE),
    ),
    (Problem.ADVOCATE_NUMBER_REQUIRED, "advocate_number", lambda: parse_advocate_number("  ")),
    (Problem.ADVOCATE_NUMBER_INVALID, "advocate_number", lambda: parse_advocate_number("1")),
]

# The texts a family reads, pinned: a reworded message is a deliberate change to this table.
TEXTS: dict[Problem, tuple[str, str]] = {
    Problem.NIK_REQUIRED: ("NIK wajib diisi.", "Please enter the NIK."),
    Problem.NIK_NOT_DIGITS: ("NIK hanya boleh berisi angka.", "A NIK contains digits only."),
    Problem.NIK_WRONG_LENGTH: (
        "NIK harus 16 digit. Periksa kembali KTP atau Kartu Keluarga.",
        "A NIK is exactly 16 digits. Please check the KTP or family card (KK).",
    ),
    Problem.NIK_INVALID_PROVINCE: (
        "Dua digit pertama NIK bukan kode provinsi yang dikenal. Periksa kembali NIK.",
        "The first two digits of the NIK are not a known province code. Please check the NIK.",
    ),
    Problem.NIK_INVALID_BIRTH_DATE: (
        "Digit ke-7 sampai ke-12 NIK bukan tanggal lahir yang benar. Periksa kembali NIK.",
        "Digits 7 to 12 of the NIK are not a valid date of birth. Please check the NIK.",
    ),
    Problem.PHONE_REQUIRED: ("Nomor HP wajib diisi.", "Please enter a mobile number."),
    Problem.PHONE_INVALID: (
        "Nomor HP tidak valid. Contoh: 0812-3456-7890.",
        "This is not a valid phone number. Example: 0812-3456-7890.",
    ),
    Problem.PHONE_NOT_INDONESIAN: (
        "Gunakan nomor HP Indonesia (+62).",
        "Please use an Indonesian mobile number (+62).",
    ),
    Problem.PHONE_NOT_MOBILE: (
        "Gunakan nomor HP, bukan telepon rumah atau kantor: kabar dikirim lewat WhatsApp atau SMS.",
        "Please give a mobile number, not a landline: updates come by WhatsApp or SMS.",
    ),
    Problem.NAME_REQUIRED: ("Nama wajib diisi.", "Please enter the name."),
    Problem.NAME_CONTROL_CHARACTERS: (
        "Nama berisi karakter tersembunyi yang tidak diizinkan. Ketik ulang namanya.",
        "The name contains hidden characters that are not allowed. Please type it again.",
    ),
    Problem.NAME_INVALID_CHARACTERS: (
        "Nama hanya boleh berisi huruf, spasi, dan tanda . ' -",
        "A name may contain only letters, spaces and . ' -",
    ),
    Problem.NAME_NO_LETTERS: ("Nama harus berisi huruf.", "A name must contain letters."),
    Problem.NAME_TOO_SHORT: (
        "Nama paling sedikit 2 karakter.",
        "A name must be at least 2 characters long.",
    ),
    Problem.NAME_TOO_LONG: (
        "Nama paling banyak 100 karakter.",
        "A name must be at most 100 characters long.",
    ),
    Problem.RELATIONSHIP_UNKNOWN: (
        "Pilih hubungan dengan warga binaan dari daftar.",
        "Please choose the relationship to the inmate from the list.",
    ),
    Problem.RELATIONSHIP_NOT_ALLOWED: (
        "Lapas/rutan ini tidak menerima kunjungan dengan hubungan tersebut.",
        "This facility does not take visits from someone with that relationship.",
    ),
    Problem.INMATE_NAME_MISMATCH: (
        "Nama tidak cocok dengan nomor warga binaan. Periksa nomor dan ejaan nama.",
        "The name does not match the inmate number. Please check the number and the spelling.",
    ),
    Problem.TEACHER_REQUIRED: (
        "Kunjungan pendidikan disertai guru: isi nama dan nomor HP gurunya.",
        "An education visit comes with the teacher: please give the teacher's name and mobile"
        " number.",
    ),
    Problem.LEGAL_NEEDS_ADVOCATE: (
        "Kunjungan penasihat hukum hanya untuk advokat. Pilih hubungan Advokat, atau jenis"
        " kunjungan lain.",
        "A legal visit is for an advocate only. Choose Advocate as the relationship, or another"
        " kind of visit.",
    ),
    Problem.ADVOCATE_NUMBER_REQUIRED: (
        "Nomor induk advokat wajib diisi.",
        "Please enter the advocate's registration number.",
    ),
    Problem.ADVOCATE_NUMBER_INVALID: (
        "Nomor induk advokat 3 sampai 40 karakter: huruf, angka, spasi, dan tanda . / - saja."
        " Contoh: 12.34567.",
        "An advocate's registration number is 3 to 40 characters: letters, digits, spaces and"
        " . / - only. Example: 12.34567.",
    ),
}


def test_every_problem_is_triggered_and_has_a_pinned_text() -> None:
    """No reason code goes untested or without its two texts."""
    assert [problem for problem, _, _ in TRIGGERS] == list(Problem)
    assert set(TEXTS) == set(MESSAGES) == set(Problem)


@pytest.mark.parametrize(("problem", "field", "check"), TRIGGERS, ids=[p for p, _, _ in TRIGGERS])
def test_each_refusal_names_field_and_reason_in_both_languages(
    problem: Problem, field: str, check: Callable[[], object]
) -> None:
    """A 400 whose details carry the field, the stable code and the Indonesian and English text;
    its message is the English one."""
    error = refusal(check)
    indonesian, english = TEXTS[problem]
    assert error.status == 400
    assert error.message == english
    assert error.details == {
        "field": field,
        "reason": problem.value,
        "messages": {"id": indonesian, "en": english},
    }
    assert error.to_json()["error"] == {
        "code": "bad_request",
        "message": english,
        "details": error.details,
    }


def test_a_text_is_chosen_by_language() -> None:
    """Indonesian first, English second; a page asks for its language."""
    text = Problem.NIK_REQUIRED.text
    assert text.in_(Lang.ID) == "NIK wajib diisi."
    assert text.in_(Lang.EN) == "Please enter the NIK."
    assert text.to_json() == {"id": "NIK wajib diisi.", "en": "Please enter the NIK."}
