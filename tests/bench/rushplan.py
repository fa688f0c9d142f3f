"""The booking rush's plan: the facility written before the server starts, and the families,
each a request body, a client address and a send time (see ``tests.bench.rush``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import orjson

from services.admin.provision import Admin
from services.booking.calendar import CalendarService
from services.booking.slots import local_ms, zone
from services.clock import SystemClock
from services.domain.model import VisitKind
from services.settings import Settings
from services.store.factory import create_store
from tests.bench.rushgen import Family

OPEN_MIN, SLOT_MIN, SLOTS = 8 * 60, 15, 50  # 08:00, 15-minute slots, 50 a day
TZ = "Asia/Jakarta"
QUOTA_ADDRESSES = 1 << 20  # the quota phase's client addresses start here (10.16.0.0)


@dataclass(frozen=True)
class Params:
    families: int = 2000
    rate: float = 400.0  # requests a second offered (2,000 in 5 s)
    procs: int = 1  # generator processes
    reuse: bool = False  # True: keep-alive connections shared by families
    quota_days: int = 2  # days of the quota phase, after the rush day
    groups: int = 10  # per quota day: half share an inmate, half a NIK
    per_group: int = 5  # families in a group (each aims at its own slot)
    seed: int = 9

    @classmethod
    def smoke(cls) -> Params:
        return cls(families=120, rate=200.0, quota_days=1, groups=4, per_group=3)


@dataclass(frozen=True)
class Plan:
    facility_id: str
    days: list[dt.date]  # the rush day, then the quota days
    slots: dict[dt.date, list[int]]  # start_ms of each day's slots


def nik(n: int) -> str:
    """A plausible, distinct NIK per n: West Java, born 01-28 Aug 1990, serial 0001-9999."""
    return f"320101{1 + n // 9999:02d}0890{1 + n % 9999:04d}"


def name(n: int) -> str:
    """A distinct name per n (letters only, as a name must be): Keluarga Bac, ..."""
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not n:
            return f"Keluarga {letters.capitalize()}"


def phone(n: int) -> str:
    return f"0812{n:08d}"


def address(n: int) -> str:
    """A distinct client address per family (documentation ranges are not needed: never routed)."""
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def prepare(data_dir: Path, p: Params) -> Plan:
    """The facility, its room and template, a day-0 booking window and the inmates, written to
    the data directory before the server starts."""
    return asyncio.run(_prepare(data_dir, p))


async def _prepare(data_dir: Path, p: Params) -> Plan:
    settings = Settings.from_env(data_dir=data_dir)
    store = create_store(settings, SystemClock())
    try:
        admin = Admin(store)
        facility = await admin.facility("Rush facility", timezone=TZ)
        room = await admin.room(facility.id, "Rush room")
        await admin.terminal(room.id, "Rush PC", settings.base_url)
        every_day, kinds = frozenset(range(7)), frozenset({VisitKind.REGULAR})
        hours = (OPEN_MIN, OPEN_MIN + SLOTS * SLOT_MIN)
        await CalendarService(store).add_template(room.id, every_day, hours, SLOT_MIN, kinds)
        rows = [f"R-{i:05d},Rush {i},A" for i in range(p.families)]
        rows += [f"Q-{i:05d},Quota {i},B" for i in range(p.quota_days * p.groups * p.per_group)]
        await admin.import_inmates(facility.id, "number,name,block\n" + "\n".join(rows) + "\n")
    finally:
        await store.aclose()
    tz = zone(TZ)
    today = dt.datetime.now(tz).date()
    days = [today + dt.timedelta(days=1 + d) for d in range(1 + p.quota_days)]
    slots = {d: [local_ms(d, OPEN_MIN + i * SLOT_MIN, tz) for i in range(SLOTS)] for d in days}
    return Plan(facility.id, days, slots)


def _body(plan: Plan, inmate: str, start_ms: int, n: int) -> bytes:
    visitor = {"name": name(n), "nik": nik(n), "phone": phone(n), "relationship": "spouse"}
    return orjson.dumps(
        {
            "facility_id": plan.facility_id,
            "inmate_number": inmate,
            "kind": "regular",
            "start_ms": start_ms,
            "visitor": visitor,
        }
    )


def rush_families(plan: Plan, p: Params) -> list[Family]:
    """Distinct inmate and NIK each, sent ``1 / rate`` apart; the rush day's slots dealt out
    evenly (every slot wanted by ``families / 50`` of them) in a random order."""
    slots = plan.slots[plan.days[0]]
    wanted = (slots * (p.families // len(slots) + 1))[: p.families]
    random.Random(p.seed).shuffle(wanted)
    return [
        Family(i / p.rate, _body(plan, f"R-{i:05d}", start, i), address(i))
        for i, start in enumerate(wanted)
    ]


def quota_families(plan: Plan, p: Params) -> tuple[list[Family], int]:
    """Per quota day, ``groups`` groups: even ones share an inmate (a NIK each), odd ones share
    a NIK (an inmate each); every request of a day aims at a slot of its own. Sent together,
    round by round, so a group's requests race each other. Also: how many groups in all."""
    rounds: list[tuple[int, bytes]] = []
    n = p.families  # NIKs after the rush's
    inmates = (f"Q-{i:05d}" for i in range(p.quota_days * p.groups * p.per_group))
    for day in plan.days[1:]:
        slots = iter(plan.slots[day])
        for g in range(p.groups):
            shared_inmate, shared_nik = next(inmates), n
            n += 1
            for k in range(p.per_group):
                if g % 2 == 0:  # one inmate, a NIK each
                    who, number = n, shared_inmate
                    n += 1
                else:  # one NIK, an inmate each
                    who, number = shared_nik, next(inmates)
                rounds.append((k, _body(plan, number, next(slots), who)))
    rounds.sort(key=lambda kb: kb[0])  # stable: round k of every group, then round k + 1
    families = [
        Family(i / p.rate, body, address(QUOTA_ADDRESSES + i)) for i, (_, body) in enumerate(rounds)
    ]
    return families, p.quota_days * p.groups
