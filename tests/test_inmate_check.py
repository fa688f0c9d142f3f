"""The inmate name check: the matching rule, the public endpoint with its per-address throttle,
and the same rule on a request's optional ``inmate_name``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiohttp
import pytest

from services.admin.provision import Admin
from services.booking.calendar import CalendarService
from services.booking.names import name_words, names_match
from services.booking.slots import day_bounds, parse_weekdays
from services.domain.model import VisitKind
from tests.helpers.world import World

CHECK = "/api/v1/inmates/check"


@pytest.mark.parametrize(
    ("typed", "recorded"),
    [
        ("Budi", "Budi Santoso"),
        ("budi  SANTOSO", "Budi Santoso"),
        ("Santoso budi", "Budi Santoso"),
        ("Jose", "José Ramos-Horta"),
        ("ramos horta", "José Ramos-Horta"),
        ("Maruf", "Ma'ruf Amin"),
        ("ma’ruf", "Ma'ruf Amin"),
        ("Muh. Rizki", "Muh Rizki"),
    ],
)
def test_names_that_match(typed: str, recorded: str) -> None:
    """Case, accents, punctuation, spacing and word order do not matter."""
    assert names_match(typed, recorded)


@pytest.mark.parametrize(
    ("typed", "recorded"),
    [
        ("Bud", "Budi Santoso"),  # a word's beginning is not the word
        ("Budi Setiawan", "Budi Santoso"),  # every typed word must be there
        ("Bu", "Bu Sri"),  # one word of at least three letters is needed
        ("", "Budi Santoso"),
        ("  .-' ", "Budi Santoso"),
        ("Santoso " * 11, "Budi Santoso"),
    ],
)
def test_names_that_do_not_match(typed: str, recorded: str) -> None:
    assert not names_match(typed, recorded)


def test_words_are_what_is_compared() -> None:
    assert name_words("  Ni Luh  Putu-Ayu Ma'ruf, S.H. ") == [
        "ni",
        "luh",
        "putu",
        "ayu",
        "maruf",
        "s",
        "h",
    ]


async def _inmate(world: World) -> None:
    await Admin(world.store).import_inmates(
        world.facility_id, "number,name,block\nN-7,Budi Santoso,A\n"
    )


def question(world: World, name: str, number: str = "N-7") -> dict[str, str]:
    return {"facility_id": world.facility_id, "inmate_number": number, "name": name}


async def test_the_check_answers_yes_or_no_and_never_the_name(world: World) -> None:
    """A right name is a match, a wrong one or an unknown number is not; the answer carries
    nothing but ``match``."""
    await _inmate(world)
    answers = []
    for body in (question(world, "budi"), question(world, "Andi"), question(world, "Budi", "X")):
        resp = await world.client.post(CHECK, json=body)
        assert resp.status == 200
        answers.append(await resp.json())
    assert answers == [{"match": True}, {"match": False}, {"match": False}]
    resp = await world.client.post(CHECK, json={**question(world, "Budi"), "facility_id": "f_x"})
    assert resp.status == 404
    resp = await world.client.post(CHECK, json={"facility_id": world.facility_id})
    assert resp.status == 400


async def _from(world: World, source: str, body: dict[str, str]) -> aiohttp.ClientResponse:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(world.client.make_url(CHECK), json=body) as resp:
            await resp.read()
            return resp


async def test_wrong_answers_are_throttled_per_address(world: World) -> None:
    """Ten wrong answers from one address, then 429 with Retry-After even for the right name;
    another address is still answered; the wait ends."""
    await _inmate(world)
    wrong = [await _from(world, "127.0.0.2", question(world, "Andi")) for _ in range(11)]
    assert [r.status for r in wrong] == [200] * 10 + [429]
    right = await _from(world, "127.0.0.2", question(world, "Budi"))
    assert right.status == 429 and int(right.headers["Retry-After"]) > 0
    assert (await _from(world, "127.0.0.3", question(world, "Budi"))).status == 200
    await world.advance(601)
    assert (await _from(world, "127.0.0.2", question(world, "Budi"))).status == 200


async def _slot(world: World) -> int:
    """A free regular slot next Saturday at 08:00 (the facility's time)."""
    room = world.terminal.room_id
    kinds = frozenset({VisitKind.REGULAR})
    await CalendarService(world.store).add_template(
        room, parse_weekdays("sat"), (480, 540), 30, kinds
    )
    today = dt.datetime.fromtimestamp(world.clock.now(), dt.UTC).date()
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
    return day_bounds(saturday, "Asia/Jakarta")[0] + 480 * 60_000


def request(world: World, start_ms: int, **extra: Any) -> dict[str, Any]:
    visitor = {
        "name": "Siti Aminah",
        "nik": "3201011508900001",
        "phone": "0812-3456-7890",
        "relationship": "spouse",
    }
    return {
        "facility_id": world.facility_id,
        "inmate_number": "N-7",
        "kind": "regular",
        "start_ms": start_ms,
        "visitor": visitor,
        **extra,
    }


async def test_a_request_with_the_wrong_inmate_name_is_refused_naming_it(world: World) -> None:
    """``inmate_name`` is optional; given and wrong, the request is a 400 naming it with the
    reason in both languages, and counts as a wrong guess of the address."""
    await _inmate(world)
    start = await _slot(world)
    resp = await world.client.post(
        "/api/v1/requests", json=request(world, start, inmate_name="Andi")
    )
    assert resp.status == 400
    details = (await resp.json())["error"]["details"]
    assert (details["field"], details["reason"]) == ("inmate_name", "inmate_name_mismatch")
    assert "tidak cocok" in details["messages"]["id"] and details["messages"]["en"]
    resp = await world.client.post(
        "/api/v1/requests", json=request(world, start, inmate_name="budi")
    )
    assert resp.status == 201
    for _ in range(9):
        await world.client.post(CHECK, json=question(world, "Andi"))
    resp = await world.client.post(CHECK, json=question(world, "Budi"))
    assert resp.status == 429  # nine wrong checks after the wrong request: ten in all
