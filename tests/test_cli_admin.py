"""``tatap admin …`` and ``tatap visit create``, run as real processes on a real SQLite file."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.access.staff import check_password
from services.access.tokens import TokenService, hash_secret
from services.admin.provision import Admin
from services.settings import Settings
from tests.helpers.audit import cli_json, open_store, rows, run_cli

PASSWORD = "a long enough secret"


@dataclass
class Site:
    """A facility with a room, a terminal and two inmates, made in-process before each test."""

    data_dir: Path
    db: Path
    facility: str
    room: str
    terminal: str
    inmate: str  # inmate id of number B-1234


async def _site(data_dir: Path) -> Site:
    store = open_store(data_dir)
    try:
        admin = Admin(store)
        await admin.facility("Lapas Cilegon", facility_id="f_c")
        room = await admin.room("f_c", "Ruang 1", "r_1")
        await admin.terminal(room.id, "PC 1", "http://test", "t_1")
        await admin.import_inmates("f_c", "number,name\nB-1234,Budi\nB-5678,Joko\n")
        inmate = await store.find_inmate("f_c", "B-1234")
        assert inmate is not None
    finally:
        await store.aclose()
    return Site(data_dir, data_dir / "tatap.db", "f_c", "r_1", "t_1", inmate.id)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return asyncio.run(_site(tmp_path))


def _error(proc: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The command failed with this exit code and a one-line message, not a stack trace."""
    assert proc.returncode == code, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


def _count(db: Path, table: str) -> int:
    return int(rows(db, f"SELECT count(*) FROM {table}")[0][0])


# ---- facilities, rooms, terminals -------------------------------------------------------------


def test_facility_is_created_with_its_rules(tmp_path: Path) -> None:
    """`admin facility` stores the facility with the rules given on the command line."""
    out = cli_json(
        tmp_path,
        "admin",
        "facility",
        "--name",
        "Lapas Dua",
        "--id",
        "f_2",
        "--length-regular",
        "600",
        "--warnings",
        "60",
        "300",
    )
    assert out["id"] == "f_2" and out["rules"]["length_s"]["regular"] == 600
    assert out["rules"]["warnings_s"] == [300, 60]
    (stored,) = rows(tmp_path / "tatap.db", "SELECT name, rules FROM facilities WHERE id = 'f_2'")
    assert stored[0] == "Lapas Dua" and json.loads(stored[1])["length_s"]["regular"] == 600
    assert rows(tmp_path / "tatap.db", "SELECT action FROM audit_events") == [("facility-created",)]


def test_duplicate_facility_id_is_refused(site: Site) -> None:
    """Creating a facility with an id in use fails cleanly."""
    _error(run_cli(site.data_dir, "admin", "facility", "--name", "Again", "--id", site.facility))
    assert _count(site.db, "facilities") == 1


def test_room_is_created_in_its_facility(site: Site) -> None:
    """`admin room` adds a room to an existing facility."""
    out = cli_json(site.data_dir, "admin", "room", "--facility", site.facility, "--name", "R2")
    assert rows(site.db, "SELECT facility_id, name FROM rooms WHERE id = ?", (out["id"],)) == [
        (site.facility, "R2")
    ]


def test_room_in_an_unknown_facility_is_refused(site: Site) -> None:
    """A room needs an existing facility; the error says which is missing."""
    err = _error(run_cli(site.data_dir, "admin", "room", "--facility", "f_nope", "--name", "R"))
    assert "no such facility" in err and _count(site.db, "rooms") == 1


def test_terminal_credentials_file_is_written_mode_600(site: Site) -> None:
    """`admin terminal` writes server, id and secret to a file only its owner can read, and the
    secret matches what the server stores."""
    creds = site.data_dir / "creds" / "t2.json"
    out = cli_json(
        site.data_dir,
        "admin",
        "terminal",
        "--room",
        site.room,
        "--name",
        "PC 2",
        "--credentials",
        str(creds),
        "--server",
        "https://visit.example",
    )
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    data = json.loads(creds.read_text())
    assert data["server"] == "https://visit.example" and data["terminal_id"] == out["id"]
    assert len(data["secret"]) >= 32
    (stored,) = rows(
        site.db, "SELECT secret_hash, facility_id FROM terminals WHERE id = ?", (out["id"],)
    )
    assert stored == (hash_secret(data["secret"]), site.facility)
    assert data["secret"] not in out.__repr__()


def test_terminal_credentials_never_overwrite_a_file(site: Site) -> None:
    """An existing file at the credentials path (say, another terminal's) is left alone, and no
    terminal is created without its credentials."""
    creds = site.data_dir / "t1.json"
    creds.write_text("the first terminal's secret")
    proc = run_cli(
        site.data_dir,
        "admin",
        "terminal",
        "--room",
        site.room,
        "--name",
        "PC 3",
        "--credentials",
        str(creds),
    )
    assert "exists already" in _error(proc)
    assert creds.read_text() == "the first terminal's secret"
    assert _count(site.db, "terminals") == 1


def test_unwritable_credentials_path_creates_no_terminal(site: Site) -> None:
    """If the credentials file cannot be written, the terminal is not created either."""
    creds = site.db / "inside-a-file.json"  # the parent is a file: nothing can be written there
    proc = run_cli(
        site.data_dir,
        "admin",
        "terminal",
        "--room",
        site.room,
        "--name",
        "PC 4",
        "--credentials",
        str(creds),
    )
    _error(proc)
    assert _count(site.db, "terminals") == 1


def test_refused_terminal_leaves_no_credentials_file(site: Site) -> None:
    """A terminal refused by the store (its id is taken) leaves no credentials file behind."""
    creds = site.data_dir / "dup.json"
    proc = run_cli(
        site.data_dir,
        "admin",
        "terminal",
        "--room",
        site.room,
        "--name",
        "PC 5",
        "--id",
        site.terminal,
        "--credentials",
        str(creds),
    )
    _error(proc)
    assert not creds.exists() and _count(site.db, "terminals") == 1


def test_terminal_in_an_unknown_room_writes_nothing(site: Site) -> None:
    """No room, no terminal, and no credentials file."""
    creds = site.data_dir / "nope.json"
    err = _error(
        run_cli(
            site.data_dir,
            "admin",
            "terminal",
            "--room",
            "r_nope",
            "--name",
            "PC",
            "--credentials",
            str(creds),
        )
    )
    assert "no such room" in err and not creds.exists() and _count(site.db, "terminals") == 1


# ---- staff ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["officer", "auditor", "admin"])
def test_staff_user_is_created_with_role_and_password(site: Site, role: str) -> None:
    """`admin staff` stores the user with its role and an argon2 hash of the password."""
    out = _staff(site, f"{role}1", role)
    assert out["role"] == role
    (stored,) = rows(
        site.db, "SELECT role, password_hash FROM staff WHERE username = ?", (f"{role}1",)
    )
    assert stored[0] == role and PASSWORD not in stored[1]
    assert check_password(stored[1], PASSWORD) and not check_password(stored[1], "guess")


def _staff(site: Site, username: str, role: str) -> dict[str, object]:
    proc = run_cli(
        site.data_dir,
        "admin",
        "staff",
        "--username",
        username,
        "--role",
        role,
        "--facility",
        site.facility,
        "--password-env",
        "PW",
        env={"PW": PASSWORD},
    )
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    out: dict[str, object] = json.loads(proc.stdout)
    return out


def test_staff_password_from_standard_input(site: Site) -> None:
    """Without a terminal, the password is read from standard input (for scripts)."""
    proc = run_cli(
        site.data_dir,
        "admin",
        "staff",
        "--username",
        "piped",
        "--role",
        "officer",
        stdin=PASSWORD + "\n",
    )
    assert proc.returncode == 0, proc.stderr
    (stored,) = rows(site.db, "SELECT password_hash FROM staff WHERE username = 'piped'")
    assert check_password(stored[0], PASSWORD)


def test_staff_without_any_password_is_a_clear_error(site: Site) -> None:
    """No password variable and nothing on standard input: an error, no user."""
    _error(run_cli(site.data_dir, "admin", "staff", "--username", "nopw", "--role", "officer"))
    assert _count(site.db, "staff") == 0


@pytest.mark.parametrize("role", ["family", "terminal", "root"])
def test_staff_role_must_be_a_staff_role(site: Site, role: str) -> None:
    """Only officer, auditor and admin are staff roles."""
    proc = run_cli(
        site.data_dir,
        "admin",
        "staff",
        "--username",
        "x",
        "--role",
        role,
        "--password-env",
        "PW",
        env={"PW": PASSWORD},
    )
    _error(proc, 2)
    assert _count(site.db, "staff") == 0


def test_staff_short_password_is_refused(site: Site) -> None:
    """A password under 8 characters is refused with a message."""
    proc = run_cli(
        site.data_dir,
        "admin",
        "staff",
        "--username",
        "x",
        "--role",
        "officer",
        "--password-env",
        "PW",
        env={"PW": "short"},
    )
    assert "8 characters" in _error(proc) and _count(site.db, "staff") == 0


def test_duplicate_username_is_refused(site: Site) -> None:
    """A username is unique; the second user is refused and the first kept."""
    _staff(site, "budi", "officer")
    proc = run_cli(
        site.data_dir,
        "admin",
        "staff",
        "--username",
        "budi",
        "--role",
        "admin",
        "--password-env",
        "PW",
        env={"PW": PASSWORD},
    )
    _error(proc)
    assert rows(site.db, "SELECT role FROM staff WHERE username = 'budi'") == [("officer",)]


# ---- inmates and visitors ---------------------------------------------------------------------


def _import(site: Site, text: str | bytes) -> subprocess.CompletedProcess[str]:
    path = site.data_dir / "inmates.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return run_cli(site.data_dir, "admin", "import-inmates", "--facility", site.facility, str(path))


def _inmates(site: Site) -> list[tuple[str, str, str]]:
    return rows(site.db, "SELECT number, name, block FROM inmates ORDER BY number")


def test_import_inmates_from_an_sdp_csv(site: Site) -> None:
    """A CSV with a BOM, odd header case and spacing, and a block column imports every row."""
    proc = _import(site, "\ufeffNumber , NAME,Block\nC-1, Andi ,B2\nC-2,Slamet,\n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"imported": 2}
    assert ("C-1", "Andi", "B2") in _inmates(site) and ("C-2", "Slamet", "") in _inmates(site)


def test_reimport_updates_names(site: Site) -> None:
    """Importing a number again updates the inmate instead of duplicating it."""
    _import(site, "number,name,block\nB-1234,Budi Santoso,C\n")
    assert ("B-1234", "Budi Santoso", "C") in _inmates(site) and len(_inmates(site)) == 2


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("no,nama_ibu\nX-1,Budi\n", "header"),
        ("", "header"),
        ("number,name\nX-1,Budi\nX-2,\nX-3,Joko\n", "line 3"),
        ("number,name\nX-1,Budi\n,Joko\n", "line 3"),
        ("number,name\nX-1,Budi\nX-1,Joko\n", "X-1"),
        (b"number,name\nX-1,B\xe9di\n", "UTF-8"),
        ("number,name\nX-1," + "x" * 200_000 + "\n", "not valid CSV"),
    ],
)
def test_bad_csv_is_refused_whole(site: Site, text: str | bytes, says: str) -> None:
    """A bad CSV fails with a message naming the problem and imports nothing at all."""
    before = _inmates(site)
    events = _count(site.db, "audit_events")
    err = _error(_import(site, text))
    assert says in err
    assert _inmates(site) == before and _count(site.db, "audit_events") == events


def test_missing_csv_file_is_a_clear_error(site: Site) -> None:
    """A CSV path that does not exist is reported, not a stack trace."""
    proc = run_cli(
        site.data_dir,
        "admin",
        "import-inmates",
        "--facility",
        site.facility,
        str(site.data_dir / "missing.csv"),
    )
    assert "missing.csv" in _error(proc)


def test_import_into_an_unknown_facility_is_refused(site: Site) -> None:
    """Inmates belong to an existing facility."""
    path = site.data_dir / "i.csv"
    path.write_text("number,name\nZ-1,Zed\n")
    proc = run_cli(site.data_dir, "admin", "import-inmates", "--facility", "f_x", str(path))
    assert "no such facility" in _error(proc) and len(_inmates(site)) == 2


def test_visitor_is_registered_and_shown_masked(site: Site) -> None:
    """`admin visitor` stores the NIK whole but prints only its last four digits."""
    proc = run_cli(
        site.data_dir,
        "admin",
        "visitor",
        "--name",
        "Siti",
        "--nik",
        "3201234567890123",
        "--phone",
        "081234567890",
        "--priority",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["nik"] == "************0123" and out["phone"].endswith("7890")
    assert "3201234567890123" not in proc.stdout + proc.stderr
    assert rows(site.db, "SELECT nik, priority FROM visitors WHERE id = ?", (out["id"],)) == [
        ("3201234567890123", 1)
    ]


@pytest.mark.parametrize("nik", ["123", "32012345678901234", "320123456789012X"])
def test_visitor_with_a_bad_nik_is_refused(site: Site, nik: str) -> None:
    """A NIK is exactly 16 digits."""
    proc = run_cli(site.data_dir, "admin", "visitor", "--name", "Siti", "--nik", nik)
    assert "16 digits" in _error(proc) and _count(site.db, "visitors") == 0


# ---- visits -----------------------------------------------------------------------------------


def _visit(site: Site, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        site.data_dir,
        "visit",
        "create",
        "--terminal",
        site.terminal,
        "--inmate-number",
        "B-1234",
        "--family",
        "Siti",
        "--json",
        "--public-url",
        "https://visit.example",
        *extra,
    )


def _ok(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout)
    return out


def test_visit_create_prints_the_visit_as_json(site: Site) -> None:
    """`visit create --json` prints id, code, start and end, and a working family link."""
    out = _ok(_visit(site, "--start", "2030-01-02T03:00:00"))
    start = int(dt.datetime(2030, 1, 2, 3, tzinfo=dt.UTC).timestamp() * 1000)
    assert out["start_ms"] == start and out["end_ms"] == start + 900_000
    assert out["kind"] == "regular" and out["status"] == "scheduled"
    assert isinstance(out["code"], str) and len(out["code"]) == 8
    links = out["links"]
    assert isinstance(links, dict) and set(links) == {"family"}
    prefix = "https://visit.example/v/"
    assert links["family"].startswith(prefix)
    secret = links["family"].removeprefix(prefix)
    assert rows(
        site.db,
        "SELECT p.role FROM participants p WHERE p.link_hash = ? AND p.visit_id = ?",
        (hash_secret(secret), out["id"]),
    ) == [("family",)]
    assert rows(
        site.db, "SELECT action, actor_role FROM audit_events WHERE visit_id = ?", (out["id"],)
    ) == [("scheduled", "admin")]


def test_education_visit_has_a_teacher_link(site: Site) -> None:
    """An education visit prints a link for the family and one for the teacher."""
    out = _ok(_visit(site, "--kind", "education", "--teacher", "Bu Guru", "--start", "+1h"))
    links = out["links"]
    assert isinstance(links, dict) and set(links) == {"family", "teacher"}
    assert links["family"] != links["teacher"]
    assert out["end_ms"] - out["start_ms"] == 1_800_000  # type: ignore[operator]


def test_education_visit_without_a_teacher_is_refused(site: Site) -> None:
    """The three-party kind needs its teacher."""
    _error(_visit(site, "--kind", "education"))
    assert _count(site.db, "visits") == 0


def test_visit_on_an_unknown_terminal_is_refused(site: Site) -> None:
    """A visit needs an existing terminal."""
    proc = run_cli(
        site.data_dir,
        "visit",
        "create",
        "--terminal",
        "t_nope",
        "--inmate",
        site.inmate,
        "--family",
        "Siti",
    )
    assert "no such terminal" in _error(proc) and _count(site.db, "visits") == 0


def test_visit_for_an_unknown_inmate_number_is_refused(site: Site) -> None:
    """An inmate number that is not in the facility is refused."""
    proc = run_cli(
        site.data_dir,
        "visit",
        "create",
        "--terminal",
        site.terminal,
        "--inmate-number",
        "Z-0000",
        "--family",
        "Siti",
    )
    assert "inmate" in _error(proc) and _count(site.db, "visits") == 0


@pytest.mark.parametrize("start", ["tomorrow", "+5d", "2030-02-30T10:00"])
def test_visit_with_a_bad_start_is_a_clear_error(site: Site, start: str) -> None:
    """A start time that cannot be read is reported with the accepted forms."""
    assert "start" in _error(_visit(site, "--start", start))


@pytest.mark.parametrize("offset_min", [0, 10, -10])
def test_overlapping_visit_on_the_same_terminal_is_refused(site: Site, offset_min: int) -> None:
    """A visit overlapping a booked one on the same terminal is a conflict; the first stays."""
    first = _ok(_visit(site, "--start", "2030-01-02T03:00:00"))
    when = dt.datetime(2030, 1, 2, 3, tzinfo=dt.UTC) + dt.timedelta(minutes=offset_min)
    err = _error(_visit(site, "--start", when.isoformat()))
    assert "already booked" in err
    assert rows(site.db, "SELECT id FROM visits") == [(first["id"],)]


def test_back_to_back_visits_are_allowed(site: Site) -> None:
    """A visit starting when the previous one ends does not overlap it."""
    _ok(_visit(site, "--start", "2030-01-02T03:00:00"))
    _ok(_visit(site, "--start", "2030-01-02T03:15:00"))
    assert _count(site.db, "visits") == 2


def test_cancelled_visit_frees_its_slot(site: Site) -> None:
    """After `visit cancel`, the same slot can be booked again."""
    first = _ok(_visit(site, "--start", "2030-01-02T03:00:00"))
    cancel = run_cli(site.data_dir, "visit", "cancel", str(first["id"]), "--reason", "sick")
    assert cancel.returncode == 0, cancel.stderr
    _ok(_visit(site, "--start", "2030-01-02T03:00:00"))
    assert rows(site.db, "SELECT status FROM visits ORDER BY created_ms, rowid") == [
        ("cancelled",),
        ("scheduled",),
    ]


def test_admin_commands_leave_a_verifiable_log(site: Site) -> None:
    """Every admin command writes audit events that still verify afterwards."""
    _staff(site, "auditor1", "auditor")
    _ok(_visit(site))
    proc = run_cli(site.data_dir, "audit", "verify", "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"]
    actions = [r[0] for r in rows(site.db, "SELECT action FROM audit_events ORDER BY seq")]
    assert actions == [
        "facility-created",
        "room-created",
        "terminal-created",
        "inmates-imported",
        "staff-created",
        "scheduled",
    ]


@pytest.mark.parametrize("username", ["", " ", "two words", "x" * 65])
def test_staff_username_must_be_usable(site: Site, username: str) -> None:
    """An empty, spaced or overlong username is refused before anything is stored."""
    proc = run_cli(
        site.data_dir,
        "admin",
        "staff",
        "--username",
        username,
        "--role",
        "officer",
        "--password-env",
        "PW",
        env={"PW": PASSWORD},
    )
    assert "username" in _error(proc) and _count(site.db, "staff") == 0


def test_staff_in_an_unknown_facility_is_refused(site: Site) -> None:
    """A staff user's facility must exist; the error says so."""
    proc = run_cli(
        site.data_dir,
        "admin",
        "staff",
        "--username",
        "x",
        "--role",
        "officer",
        "--facility",
        "f_nope",
        "--password-env",
        "PW",
        env={"PW": PASSWORD},
    )
    assert "no such facility" in _error(proc) and _count(site.db, "staff") == 0


def test_commands_racing_on_a_fresh_data_dir_share_one_log(tmp_path: Path) -> None:
    """Six `admin facility` processes started together on an empty data directory all succeed,
    and the log they write together is one chain whose checkpoints verify."""
    import os
    import sys

    from tests.helpers.audit import REPO, verify

    env = {k: v for k, v in os.environ.items() if not k.startswith("TATAP_")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli.main",
                "admin",
                "facility",
                "--name",
                f"F{i}",
                "--data-dir",
                str(tmp_path),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    code, report = verify(tmp_path)
    assert code == 0 and report["events"] == 6


def test_visit_for_an_unknown_visitor_is_refused(site: Site) -> None:
    """`--visitor` must name a registered visitor; the error says so."""
    assert "no such visitor" in _error(_visit(site, "--visitor", "vis_nope"))
    assert _count(site.db, "visits") == 0


def test_visit_for_a_registered_visitor_records_them(site: Site) -> None:
    """A visit booked for a registered visitor links the family seat to them."""
    visitor = _ok(
        run_cli(site.data_dir, "admin", "visitor", "--name", "Siti", "--nik", "3201234567890123")
    )
    out = _ok(_visit(site, "--visitor", str(visitor["id"])))
    assert rows(
        site.db,
        "SELECT visitor_id FROM participants WHERE visit_id = ? AND role = 'family'",
        (out["id"],),
    ) == [(visitor["id"],)]


@pytest.mark.parametrize(
    "flags",
    [
        ["--length-regular", "0"],
        ["--length-legal", "-60"],
        ["--warnings", "300", "-5"],
        ["--warnings", "900"],
        ["--join-grace", "-1"],
    ],
)
def test_facility_with_impossible_rules_is_refused(tmp_path: Path, flags: list[str]) -> None:
    """Rules that cannot work (no length, a warning outside the visit, negative grace) are
    refused with a message, and no facility is made."""
    proc = run_cli(tmp_path, "admin", "facility", "--name", "Lapas", *flags)
    _error(proc)
    assert not (tmp_path / "tatap.db").exists() or _count(tmp_path / "tatap.db", "facilities") == 0


def test_visit_tokens_open_their_own_seat_until_the_end_plus_grace(site: Site) -> None:
    """`visit create --tokens` prints one token per seat, each naming that seat and its visit and
    expiring at the visit's end plus the token grace."""
    out = _ok(_visit(site, "--start", "+1h", "--tokens"))
    settings = Settings.from_env(data_dir=site.data_dir)
    tokens = TokenService(settings.token_keys)
    participants, printed = out["participants"], out["tokens"]
    assert isinstance(participants, list)
    seats = {p["role"]: p["id"] for p in participants}
    assert isinstance(printed, dict) and set(printed) == {"terminal", "family"}
    for role, token in printed.items():
        claims = tokens.decode(token, None)
        assert (claims.sub, claims.role.value, claims.visit) == (seats[role], role, out["id"])
        assert claims.exp == int(str(out["end_ms"])) // 1000 + settings.token_grace_s


def test_help_lists_every_verb_in_its_order_and_each_answers() -> None:
    """`tatap --help` names every verb, registered by its own layer, in the order it always had,
    and each verb's own help works (its registration loads)."""
    import re
    import sys

    from tests.helpers.audit import REPO

    def tatap(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "services.cli.main", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    verbs = re.findall(r"^    (\w+) ", tatap("--help"), re.MULTILINE)
    assert verbs == ["serve", "demo", "terminal", "admin", "visit", "witness", "audit", "report"]
    for verb in verbs:
        assert tatap(verb, "--help").startswith(f"usage: tatap {verb}")


# ---- the calendar: slot templates, booking window, blocked dates, closures ---------------------


def _slots_add(site: Site, *extra: str) -> subprocess.CompletedProcess[str]:
    flags = ["--weekdays", "mon,tue,wed,thu,fri,sat,sun", "--open", "08:00", "--close", "10:00"]
    return run_cli(
        site.data_dir,
        "admin",
        "slots",
        "add",
        "--room",
        site.room,
        *flags,
        "--length",
        "30",
        *extra,
    )


def _free(site: Site, date: dt.date, *extra: str) -> Any:
    return cli_json(
        site.data_dir,
        "admin",
        "slots",
        "free",
        "--facility",
        site.facility,
        "--room",
        site.room,
        "--date",
        date.isoformat(),
        *extra,
    )


def _jakarta_day(ahead: int) -> dt.date:
    """The facility's (WIB) local date ``ahead`` days from now."""
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=7)))
    return now.date() + dt.timedelta(days=ahead)


def test_slot_templates_are_added_listed_and_removed(site: Site) -> None:
    """`admin slots add` stores a template and prints it; `list` shows it; `remove` deletes
    it; each change is an audit event."""
    proc = _slots_add(site, "--kinds", "regular,legal")
    assert proc.returncode == 0, proc.stderr
    added = json.loads(proc.stdout)
    assert (added["open"], added["close"], added["length_min"]) == ("08:00", "10:00", 30)
    assert added["kinds"] == ["legal", "regular"] and len(added["weekdays"]) == 7
    listed = cli_json(site.data_dir, "admin", "slots", "list", "--room", site.room)
    assert listed == [added]
    removed = cli_json(site.data_dir, "admin", "slots", "remove", added["id"])
    assert removed == {"removed": added}
    assert cli_json(site.data_dir, "admin", "slots", "list", "--room", site.room) == []
    actions = rows(site.db, "SELECT action FROM audit_events WHERE action LIKE 'slot-%'")
    assert actions == [("slot-template-added",), ("slot-template-removed",)]


def test_an_overlapping_slot_template_is_refused(site: Site) -> None:
    """A template overlapping the room's first on a shared weekday exits 1 naming the first;
    nothing more is stored."""
    first = json.loads(_slots_add(site).stdout)
    proc = run_cli(
        site.data_dir,
        "admin",
        "slots",
        "add",
        "--room",
        site.room,
        "--weekdays",
        "sun",
        "--open",
        "09:30",
        "--close",
        "11:00",
        "--length",
        "30",
    )
    assert first["id"] in _error(proc) and _count(site.db, "slot_templates") == 1


def test_free_slots_follow_the_templates_and_blocked_dates(site: Site) -> None:
    """`admin slots free` lists the day's slots in the facility's local time (WIB, +07:00);
    after `admin block-date` that day has none, and today never has any."""
    day = _jakarta_day(2)
    _slots_add(site)
    slots = _free(site, day)
    assert [s["local_start"] for s in slots] == [
        f"{day.isoformat()}T{t}+07:00" for t in ("08:00", "08:30", "09:00", "09:30")
    ]
    assert slots[0]["start_ms"] == int(
        dt.datetime(day.year, day.month, day.day, 1, tzinfo=dt.UTC).timestamp() * 1000
    )
    assert _free(site, _jakarta_day(0)) == []
    out = cli_json(
        site.data_dir,
        "admin",
        "block-date",
        "--facility",
        site.facility,
        "--date",
        day.isoformat(),
        "--reason",
        "Hari raya",
    )
    assert out == {"facility_id": site.facility, "date": day.isoformat(), "reason": "Hari raya"}
    assert _free(site, day) == []
    assert _free(site, day, "--kind", "legal") == []


def test_a_close_is_stored_in_local_time_and_takes_its_slots(site: Site) -> None:
    """`admin close` reads local times in the facility's zone, stores the closure, lists the
    visits it cancelled (none here), and the slots it covers are no longer free."""
    day = _jakarta_day(3)
    _slots_add(site)
    out = cli_json(
        site.data_dir,
        "admin",
        "close",
        "--facility",
        site.facility,
        "--from",
        f"{day.isoformat()}T08:00",
        "--until",
        f"{day.isoformat()}T09:00",
        "--reason",
        "banjir",
    )
    start = dt.datetime(day.year, day.month, day.day, 1, tzinfo=dt.UTC).timestamp()
    assert (out["start_ms"], out["end_ms"]) == (int(start * 1000), int((start + 3600) * 1000))
    assert out["cancelled"] == [] and "running" not in out
    assert [s["local_start"][11:16] for s in _free(site, day)] == ["09:00", "09:30"]
    assert rows(site.db, "SELECT reason FROM closures") == [("banjir",)]
    assert rows(site.db, "SELECT count(*) FROM audit_events WHERE action = 'facility-closed'") == [
        (1,)
    ]


def test_the_booking_window_is_shown_and_set(site: Site) -> None:
    """`admin booking-window` shows the defaults (tomorrow to 14 days, Sunday education), and
    changes only the parts named."""
    args = ["admin", "booking-window", "--facility", site.facility]
    shown = cli_json(site.data_dir, *args)
    assert shown == {
        "facility_id": site.facility,
        "min_days": 1,
        "max_days": 14,
        "education_days": ["sun"],
    }
    changed = cli_json(site.data_dir, *args, "--max-days", "7", "--education-days", "sat,sun")
    assert (changed["min_days"], changed["max_days"]) == (1, 7)
    assert changed["education_days"] == ["sat", "sun"]
    _slots_add(site)
    assert _free(site, _jakarta_day(8)) == []
    proc = run_cli(site.data_dir, *args, "--min-days", "9")
    assert "booking window" in _error(proc)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--weekdays", "senin"], "weekdays"),
        (["--open", "25:00"], "between 00:00 and 24:00"),
        (["--kinds", "family"], "visit kinds"),
        (["--length", "200"], "closing time"),
    ],
)
def test_bad_slot_templates_are_one_line_errors(site: Site, extra: list[str], says: str) -> None:
    """A template that cannot be read or gives no slot exits 1 and stores nothing."""
    assert says in _error(_slots_add(site, *extra)) and _count(site.db, "slot_templates") == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["slots", "list", "--room", "r_none"], "no such room"),
        (["block-date", "--facility", "f_c", "--date", "25-12-2026", "--reason", "x"], "YYYY"),
        (
            ["block-date", "--facility", "f_none", "--date", "2026-12-25", "--reason", "x"],
            "no such",
        ),
        (
            [
                "close",
                "--facility",
                "f_c",
                "--from",
                "2026-12-25T10:00",
                "--until",
                "2026-12-25T09:00",
            ]
            + ["--reason", "x"],
            "ends after it starts",
        ),
    ],
)
def test_calendar_refusals_are_one_line_errors(site: Site, args: list[str], says: str) -> None:
    assert says in _error(run_cli(site.data_dir, "admin", *args))
