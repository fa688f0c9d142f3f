"""A facility ready to take requests, on a real store with a fake clock: two rooms open on
Saturdays and Sundays 08:00-10:00 in 30-minute slots, and inmates B-1 to B-59."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from services.access.links import FamilyLinks
from services.admin.provision import Admin
from services.booking.calendar import CalendarService
from services.booking.forms import GuestForm, RequestForm, VisitorForm
from services.booking.requests import RequestService
from services.booking.slots import day_bounds, parse_hhmm, parse_weekdays
from services.clock import FakeClock
from services.domain.model import Role, VisitKind
from services.ids import Actor
from services.store.protocols import Store
from tests.helpers.audit import open_store
from tests.helpers.world import LINK_KEY

JAKARTA = "Asia/Jakarta"
NOW = 1_800_000_000.0  # Friday 15 January 2027, 15:00 in Jakarta
SATURDAY = dt.date(2027, 1, 16)
SUNDAY = dt.date(2027, 1, 17)
OFFICER = Actor(Role.OFFICER.value, "s_off")
FACILITY = "f_1"


def nik(n: int = 1) -> str:
    """A valid NIK; ``n`` tells visitors apart."""
    return f"320101150890{n:04d}"


def form(
    start_ms: int,
    n: int = 1,
    inmate: str = "B-1",
    kind: VisitKind = VisitKind.REGULAR,
    teacher: str | None = None,
    priority: bool = False,
    teacher_contact: str = "0813-2222-3333",
    advocate_number: str = "",
    **visitor: str,
) -> RequestForm:
    """A valid request for ``start_ms`` by visitor ``n`` to ``inmate``; ``visitor`` overrides.
    ``teacher`` names an education visit's teacher (with ``teacher_contact``)."""
    fields = {"name": "Siti Aminah", "nik": nik(n), "phone": "0812-3456-7890"}
    fields["relationship"] = "spouse"
    fields.update(visitor)
    person = VisitorForm(**fields)
    guest = GuestForm(teacher, teacher_contact) if teacher is not None else None
    return RequestForm(
        FACILITY, inmate, kind, start_ms, person, guest, priority, None, advocate_number
    )


def slot(date: dt.date, hhmm: str) -> int:
    """Epoch ms of local ``hhmm`` on ``date`` in Jakarta."""
    return day_bounds(date, JAKARTA)[0] + parse_hhmm(hhmm) * 60_000


@dataclass
class Desk:
    store: Store
    service: RequestService
    facility_id: str
    clock: FakeClock
    data_dir: Path


async def open_desk(tmp_path: Path, rooms: int = 2, inmates_csv: str = "") -> Desk:
    """The facility of this module's docstring; ``inmates_csv`` replaces the inmate list."""
    clock = FakeClock(NOW)
    store = open_store(tmp_path, clock)
    admin = Admin(store)
    await admin.facility("Lapas Cilegon", JAKARTA, facility_id=FACILITY)
    calendar = CalendarService(store)
    for i in range(rooms):
        room = await admin.room(FACILITY, f"Ruang {i}", f"r_{i}")
        await admin.terminal(room.id, f"PC {i}", "http://test", f"t_{i}")
        kinds = frozenset({VisitKind.REGULAR, VisitKind.EDUCATION})
        await calendar.add_template(room.id, parse_weekdays("sat,sun"), (480, 600), 30, kinds)
    if not inmates_csv:
        numbers = "\n".join(f"B-{i},Napi {i},A" for i in range(1, 60))
        inmates_csv = "number,name,block\n" + numbers + "\n"
    await admin.import_inmates(FACILITY, inmates_csv)
    return Desk(
        store, RequestService(store, clock, FamilyLinks(LINK_KEY)), FACILITY, clock, tmp_path
    )
