"""A facility's booking rules beyond the calendar and the quotas, on a real store: blocked
visitors, remand and released inmates, allowed relationships, priority minutes, auto-approval
and the emergency close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.access.revocation import Revocations
from services.booking.blocks import VisitorBlocks
from services.booking.quotas import Quotas
from services.domain.model import Visit
from services.errors import BadRequest, Conflict, VisitorBlocked
from tests.helpers.audit import cli_json, rows, run_cli
from tests.helpers.desk import OFFICER, SATURDAY, Desk, form, nik, open_desk, slot


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    d = await open_desk(tmp_path)
    try:
        yield d
    finally:
        await d.store.aclose()


def blocks(desk: Desk) -> VisitorBlocks:
    return VisitorBlocks(desk.store, Revocations(desk.store, desk.clock), desk.clock)


# ---- blocked visitors -------------------------------------------------------------------------


async def test_a_blocked_nik_is_refused_in_its_facility(desk: Desk) -> None:
    """A NIK blocked in the facility is refused with visitor_blocked, whether or not the person
    was on record; unblocking lets them request again."""
    await desk.service.submit(form(slot(SATURDAY, "08:00"), n=1))
    await blocks(desk).block("f_1", nik(1), "membawa barang terlarang", OFFICER)
    await blocks(desk).block("f_1", nik(2), "perintah pengadilan", OFFICER)  # never seen
    for n in (1, 2):
        with pytest.raises(VisitorBlocked):
            await desk.service.submit(form(slot(SATURDAY, "09:00"), n=n, inmate=f"B-{n + 10}"))
    await blocks(desk).unblock("f_1", nik(2), "masa blokir selesai", OFFICER)
    visit = await desk.service.submit(form(slot(SATURDAY, "09:00"), n=2, inmate="B-12"))
    assert visit.inmate_id
    with pytest.raises(Conflict):
        await blocks(desk).unblock("f_1", nik(2), "again", OFFICER)


async def test_a_block_elsewhere_does_not_hold_here_but_one_everywhere_does(desk: Desk) -> None:
    """A block in another facility leaves this one open; a visitor revoked everywhere (``tatap
    admin revoke --visitor``) is refused here too."""
    from services.admin.provision import Admin

    await Admin(desk.store).facility("Rutan Serang", "Asia/Jakarta", facility_id="f_2")
    await blocks(desk).block("f_2", nik(3), "di Rutan Serang saja", OFFICER)
    first = await desk.service.submit(form(slot(SATURDAY, "08:00"), n=3))
    family = next(p for p in first.participants if p.visitor_id)
    assert family.visitor_id
    await Revocations(desk.store, desk.clock).revoke_visitor(family.visitor_id, OFFICER, "x")
    with pytest.raises(VisitorBlocked):
        await desk.service.submit(form(slot(SATURDAY, "09:00"), n=3, inmate="B-7"))


async def test_the_block_is_checked_in_the_insert_transaction(desk: Desk) -> None:
    """Requests racing a block: each is either taken before the block (its ``requested`` event
    comes first in the log) or refused with visitor_blocked; none is taken after it."""
    await desk.service.set_quotas("f_1", Quotas(100, 100), OFFICER)
    saturday = [slot(SATURDAY, f"{h:02d}:{m:02d}") for h in (8, 9) for m in (0, 30)]
    requests = [
        desk.service.submit(form(s, n=5, inmate=f"B-{i}"))
        for i, s in enumerate(saturday * 2, start=1)
    ]
    block = blocks(desk).block("f_1", nik(5), "ancaman", OFFICER)
    got = await asyncio.gather(*requests[:4], block, *requests[4:], return_exceptions=True)
    outcomes = got[:4] + got[5:]
    taken = [g for g in outcomes if isinstance(g, Visit)]
    assert all(isinstance(g, Visit | VisitorBlocked) for g in outcomes), outcomes
    await desk.store.aclose()
    log = rows(
        desk.data_dir / "tatap.db",
        "SELECT action FROM audit_events WHERE action IN ('requested', 'visitor-blocked')"
        " ORDER BY seq",
    )
    actions = [a for (a,) in log]
    assert actions == ["requested"] * len(taken) + ["visitor-blocked"]


async def test_blocking_is_audited_with_the_nik_masked(desk: Desk) -> None:
    await blocks(desk).block("f_1", nik(4), "ancaman", OFFICER)
    await blocks(desk).unblock("f_1", nik(4), "selesai", OFFICER)
    with pytest.raises(BadRequest):
        await blocks(desk).block("f_1", nik(4), " ", OFFICER)
    with pytest.raises(BadRequest):
        await blocks(desk).block("f_1", "1234", "ancaman", OFFICER)
    await desk.store.aclose()
    found = rows(
        desk.data_dir / "tatap.db",
        "SELECT action, details FROM audit_events WHERE action LIKE 'visitor-%' ORDER BY seq",
    )
    assert [a for a, _ in found] == ["visitor-blocked", "visitor-unblocked"]
    text = " ".join(d for _, d in found)
    assert nik(4) not in text and nik(4)[-4:] in text


async def test_block_and_unblock_visitor_on_the_command_line(desk: Desk) -> None:
    """``tatap admin block-visitor`` and ``unblock-visitor`` by NIK, the NIK masked in the
    output; a bad NIK or an unknown facility is a one-line error."""
    await desk.store.aclose()
    args = ("--facility", "f_1", "--nik", nik(6), "--reason", "ancaman")
    out = cli_json(desk.data_dir, "admin", "block-visitor", *args)
    assert out == {"blocked": "************0006", "facility_id": "f_1", "records": 1}
    blocked = rows(
        desk.data_dir / "tatap.db",
        "SELECT subject FROM revocations WHERE kind = 'visitor' AND lifted_ms IS NULL",
    )
    assert len(blocked) == 1 and blocked[0][0].endswith("@f_1")
    out = cli_json(desk.data_dir, "admin", "unblock-visitor", *args)
    assert out["unblocked"] == "************0006"
    proc = run_cli(desk.data_dir, "admin", "unblock-visitor", *args)
    assert proc.returncode != 0 and "not blocked" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad = run_cli(desk.data_dir, "admin", "block-visitor", "--facility", "f_9", *args[2:])
    assert bad.returncode != 0 and "no such facility" in bad.stderr
