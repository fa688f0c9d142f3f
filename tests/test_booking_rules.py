"""A facility's booking rules beyond the calendar and the quotas, on a real store: blocked
visitors, remand and released inmates, allowed relationships, priority minutes, auto-approval
and the emergency close."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.access.revocation import Revocations
from services.access.tokens import hash_secret
from services.admin.provision import Admin
from services.audit.chain import AuditEvent
from services.booking.blocks import VisitorBlocks
from services.booking.calendar import CalendarService
from services.booking.policy import parse_relationships
from services.booking.quotas import Quotas
from services.booking.rejections import RejectReason
from services.booking.relationships import Relationship
from services.booking.review import ReviewAction, VisitReview
from services.domain.model import InmateStatus, Visit, VisitKind, VisitStatus
from services.domain.rules import check_not_in_review
from services.errors import (
    BadRequest,
    Conflict,
    InmateUnavailable,
    SlotFull,
    VisitorBlocked,
    VisitUnderReview,
)
from services.store.protocols import VisitChange
from tests.helpers.audit import cli_json, rows, run_cli
from tests.helpers.desk import NOW, OFFICER, SATURDAY, SUNDAY, Desk, form, nik, open_desk, slot


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


# ---- remand inmates ---------------------------------------------------------------------------

REMAND_CSV = "number,name,status\nB-1,Napi 1,narapidana\nB-2,Tahanan 2,tahanan\nB-3,Napi 3,\n"


async def test_inmate_status_comes_from_the_import_with_its_aliases(desk: Desk) -> None:
    """The optional ``status`` column, in English or Indonesian; empty is convicted; a wrong
    word refuses the whole file, naming its line."""

    admin = Admin(desk.store)
    await admin.import_inmates("f_1", "number,name,status\nB-1,A,remand\nB-2,B,pindah\nB-3,C,\n")
    found = [await desk.store.find_inmate("f_1", f"B-{i}") for i in (1, 2, 3)]
    assert [i.status for i in found if i] == [
        InmateStatus.REMAND,
        InmateStatus.TRANSFERRED,
        InmateStatus.CONVICTED,
    ]
    with pytest.raises(BadRequest) as wrong:
        await admin.import_inmates("f_1", "number,name,status\nB-1,A,bebas\nB-2,B,kabur\n")
    assert "line 3" in wrong.value.message
    kept = await desk.store.find_inmate("f_1", "B-1")
    assert kept is not None and kept.status is InmateStatus.REMAND


async def test_a_remand_visit_needs_a_permission_reference(desk: Desk) -> None:
    """Approving a remand inmate's visit without the detaining authority's letter number is a
    BadRequest naming ``permission_ref``; with it the visit keeps the reference and so does the
    ``approved`` event. A convicted inmate's visit needs none."""

    await Admin(desk.store).import_inmates("f_1", REMAND_CSV)
    remand = await desk.service.submit(form(slot(SATURDAY, "08:00"), n=1, inmate="B-2"))
    for ref in ("", "  ", "ab", "x" * 65):
        with pytest.raises(BadRequest) as refused:
            await desk.service.approve(remand, OFFICER, ref)
        assert refused.value.details["field"] == "permission_ref"
    approved = await desk.service.approve(remand, OFFICER, " B/123/Kejari-SRG/2027 ")
    assert approved.visit.permission_ref == "B/123/Kejari-SRG/2027"
    convicted = await desk.service.submit(form(slot(SATURDAY, "08:00"), n=2, inmate="B-1"))
    assert (await desk.service.approve(convicted, OFFICER)).visit.permission_ref is None
    await desk.store.aclose()
    found = rows(
        desk.data_dir / "tatap.db",
        "SELECT details FROM audit_events WHERE action = 'approved' ORDER BY seq",
    )
    assert "B/123/Kejari-SRG/2027" in found[0][0] and "permission_ref" not in found[1][0]


async def test_the_store_refuses_a_remand_approval_without_a_reference(desk: Desk) -> None:
    """An inmate put on remand by an import after the service looked: the store's own check in
    the approval's transaction refuses it."""
    visit = await desk.service.submit(form(slot(SATURDAY, "08:00"), inmate="B-2"))
    await Admin(desk.store).import_inmates("f_1", REMAND_CSV)
    event = AuditEvent("approved", "officer", "s_off", "f_1", visit.id, {})
    with pytest.raises(BadRequest):
        await desk.store.approve_request(visit.id, {}, event)
    kept = await desk.store.get_visit(visit.id)
    assert kept is not None and kept.status.value == "requested"


# ---- released and transferred inmates ---------------------------------------------------------


async def _two_booked_for_b1(desk: Desk) -> tuple[Visit, Visit]:
    """A pending request and a scheduled visit for inmate B-1."""
    await desk.service.set_quotas("f_1", Quotas(5, 5), OFFICER)
    pending = await desk.service.submit(form(slot(SATURDAY, "08:00"), n=1))
    approved = await desk.service.submit(form(slot(SATURDAY, "09:00"), n=2))
    await desk.service.approve(approved, OFFICER)
    return pending, approved


async def test_an_import_that_releases_an_inmate_flags_their_visits(desk: Desk) -> None:
    """Released by an import: the inmate's booked visits are flagged, the import's event counts
    them; importing the same file again flags nothing more; another inmate's visit is untouched."""
    pending, approved = await _two_booked_for_b1(desk)
    other = await desk.service.submit(form(slot(SATURDAY, "08:00"), n=3, inmate="B-2"))
    done = await Admin(desk.store).import_inmates("f_1", "number,name,status\nB-1,A,bebas\n")
    assert done.flagged == 2
    for visit in (pending, approved):
        kept = await desk.store.get_visit(visit.id)
        assert kept is not None and kept.review
    untouched = await desk.store.get_visit(other.id)
    assert untouched is not None and not untouched.review
    again = await Admin(desk.store).import_inmates("f_1", "number,name,status\nB-1,A,released\n")
    assert again.flagged == 0
    await desk.store.aclose()
    found = rows(
        desk.data_dir / "tatap.db",
        "SELECT details FROM audit_events WHERE action = 'inmates-imported' ORDER BY seq",
    )
    assert ['"flagged":2' in d for (d,) in found[-2:]] == [True, False]


async def test_a_released_or_transferred_inmate_takes_no_request(desk: Desk) -> None:
    """New requests are refused with inmate_unavailable; so is approving one made before."""
    pending = await desk.service.submit(form(slot(SATURDAY, "08:00"), n=1, inmate="B-2"))
    await Admin(desk.store).import_inmates(
        "f_1", "number,name,status\nB-1,A,bebas\nB-2,B,transferred\n"
    )
    for inmate in ("B-1", "B-2"):
        with pytest.raises(InmateUnavailable):
            await desk.service.submit(form(slot(SATURDAY, "09:00"), n=5, inmate=inmate))
    with pytest.raises(InmateUnavailable):
        await desk.service.approve(pending, OFFICER)


async def test_a_flagged_visit_never_goes_live_until_reviewed(desk: Desk) -> None:
    """The store refuses to make a flagged visit live, and the link exchange refuses it; an
    officer's ``clear`` lets it go ahead; ``cancel`` calls another off, audited for the family's
    message like any cancellation."""
    pending, approved = await _two_booked_for_b1(desk)
    await Admin(desk.store).import_inmates("f_1", "number,name,status\nB-1,A,pindah\n")
    flagged = await desk.store.get_visit(approved.id)
    assert flagged is not None
    live = VisitChange(flagged.id, VisitStatus.LIVE, frozenset({VisitStatus.SCHEDULED}), NOW)
    with pytest.raises(VisitUnderReview):
        await desk.store.change_visit(live, [])
    with pytest.raises(VisitUnderReview):
        check_not_in_review(flagged)
    review = VisitReview(desk.store, desk.clock)
    cleared = await review.decide(flagged, ReviewAction.CLEAR, "salah data SDP", OFFICER)
    assert not cleared.review
    with pytest.raises(Conflict):
        await review.decide(cleared, ReviewAction.CLEAR, "", OFFICER)
    assert (await desk.store.change_visit(live, [])).status is VisitStatus.LIVE
    held = await desk.store.get_visit(pending.id)
    assert held is not None
    cancelled = await review.decide(held, ReviewAction.CANCEL, "", OFFICER)
    assert cancelled.status is VisitStatus.CANCELLED
    await desk.store.aclose()
    found = rows(
        desk.data_dir / "tatap.db",
        "SELECT action, details FROM audit_events WHERE action IN ('review-cleared', 'cancelled')"
        " ORDER BY seq",
    )
    assert [a for a, _ in found] == ["review-cleared", "cancelled"]
    assert '"by":"review"' in found[1][1] and '"reason":"inmate_unavailable"' in found[1][1]


# ---- allowed relationships --------------------------------------------------------------------


async def test_a_facility_takes_only_its_relationships(desk: Desk) -> None:
    """By default every relationship; once set, another is a BadRequest naming the field with
    its reason in both languages; the change is audited."""
    await desk.service.submit(form(slot(SATURDAY, "08:00"), n=1, relationship="other_family"))
    close = frozenset({Relationship.SPOUSE, Relationship.PARENT, Relationship.CHILD})
    policy = await desk.service.set_relationships("f_1", close, OFFICER)
    assert policy.listed() == ["spouse", "parent", "child"]
    with pytest.raises(BadRequest) as refused:
        await desk.service.submit(
            form(slot(SATURDAY, "09:00"), n=2, inmate="B-2", relationship="sibling")
        )
    details = refused.value.details
    assert (details["field"], details["reason"]) == ("relationship", "relationship_not_allowed")
    messages = details["messages"]
    assert isinstance(messages, dict) and "tidak menerima" in messages["id"] and messages["en"]
    await desk.service.submit(
        form(slot(SATURDAY, "09:00"), n=2, inmate="B-2", relationship="child")
    )
    with pytest.raises(BadRequest):
        await desk.service.set_relationships("f_1", frozenset(), OFFICER)
    with pytest.raises(BadRequest):
        parse_relationships("spouse,friend")


def test_relationships_on_the_command_line(tmp_path: Path) -> None:
    """``tatap admin relationships`` shows the list, ``--set`` changes it; a wrong word is a
    one-line error."""
    asyncio.run(_closed_desk(tmp_path))
    shown = cli_json(tmp_path, "admin", "relationships", "--facility", "f_1")
    assert shown["relationships"][:4] == ["spouse", "parent", "child", "sibling"]
    assert len(shown["relationships"]) == len(Relationship)
    set_ = cli_json(
        tmp_path, "admin", "relationships", "--facility", "f_1", "--set", "parent,spouse"
    )
    assert set_["relationships"] == ["spouse", "parent"]
    bad = run_cli(tmp_path, "admin", "relationships", "--facility", "f_1", "--set", "friend")
    assert bad.returncode != 0 and "friend" in bad.stderr and "Traceback" not in bad.stderr


async def _closed_desk(tmp_path: Path) -> None:
    desk = await open_desk(tmp_path)
    await desk.store.aclose()


def test_quotas_on_the_command_line(tmp_path: Path) -> None:
    """``tatap admin quotas`` shows the defaults (1 and 1), changes the ones named, refuses a
    number out of range and an unknown facility with a one-line error."""
    asyncio.run(_closed_desk(tmp_path))
    verb = ("admin", "quotas", "--facility", "f_1")
    assert cli_json(tmp_path, *verb) == {"facility_id": "f_1", "per_inmate": 1, "per_visitor": 1}
    changed = cli_json(tmp_path, *verb, "--per-inmate", "3")
    assert changed == {"facility_id": "f_1", "per_inmate": 3, "per_visitor": 1}
    assert cli_json(tmp_path, *verb, "--per-visitor", "2")["per_inmate"] == 3
    for bad in (("--per-inmate", "0"), ("--per-visitor", "101")):
        proc = run_cli(tmp_path, *verb, *bad)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr
    proc = run_cli(tmp_path, "admin", "quotas", "--facility", "f_9")
    assert proc.returncode != 0 and "no such facility" in proc.stderr


# ---- priority visitors ------------------------------------------------------------------------


@pytest.fixture
async def one_room(tmp_path: Path) -> AsyncIterator[Desk]:
    d = await open_desk(tmp_path, rooms=1)
    await d.service.set_quotas("f_1", Quotas(100, 100), OFFICER)
    try:
        yield d
    finally:
        await d.store.aclose()


async def test_a_priority_visit_ends_its_extra_minutes_after_its_slot(one_room: Desk) -> None:
    """The facility's 5 extra minutes: the visit runs to 08:35, and the 08:30 slot it now
    overlaps is no longer offered; a regular visit ends with its slot."""
    desk = one_room
    visit = await desk.service.submit(form(slot(SATURDAY, "08:00"), priority=True))
    assert visit.end * 1000 == slot(SATURDAY, "08:35")
    free = await desk.service.free_slots("f_1", SATURDAY, VisitKind.REGULAR)
    assert slot(SATURDAY, "08:30") not in {s.start_ms for s in free}
    with pytest.raises(SlotFull):
        await desk.service.submit(form(slot(SATURDAY, "08:30"), n=2, inmate="B-2"))
    plain = await desk.service.submit(form(slot(SATURDAY, "09:00"), n=3, inmate="B-3"))
    assert plain.end * 1000 == slot(SATURDAY, "09:30")


async def test_the_extra_minutes_stop_at_the_next_visit_or_a_closure(one_room: Desk) -> None:
    """Clipped at the room's next booked visit, and at a closure's start."""
    desk = one_room
    await desk.service.submit(form(slot(SATURDAY, "08:30"), n=2, inmate="B-2"))
    first = await desk.service.submit(form(slot(SATURDAY, "08:00"), priority=True))
    assert first.end * 1000 == slot(SATURDAY, "08:30")
    start = dt.datetime(2027, 1, 16, 9, 32)
    await CalendarService(desk.store).close("f_1", start, start + dt.timedelta(hours=1), "banjir")
    second = await desk.service.submit(form(slot(SATURDAY, "09:00"), n=3, priority=True))
    assert second.end * 1000 == slot(SATURDAY, "09:32")


async def test_priority_and_next_slot_requests_racing_never_overlap(one_room: Desk) -> None:
    """Priority requests and requests for the slot after each, all at once: whichever wins, no
    two booked visits of the room share a minute."""
    desk = one_room
    pairs = [
        (
            form(slot(day, f"{h:02d}:00"), n=h, priority=True),
            form(slot(day, f"{h:02d}:30"), n=50 + h),
        )
        for day in (SATURDAY, SUNDAY)
        for h in (8, 9)
    ]
    got = await asyncio.gather(
        *(desk.service.submit(f) for pair in pairs for f in pair), return_exceptions=True
    )
    booked = sorted((v.start, v.end) for v in got if isinstance(v, Visit))
    assert all(isinstance(g, Visit | SlotFull) for g in got), got
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(booked))


# ---- auto-approval ----------------------------------------------------------------------------


async def _known_visitor(desk: Desk, auto: bool = True) -> Visit:
    """Visitor 1 with a visit to B-1 approved; quotas loose; auto-approval as asked."""
    await desk.service.set_quotas("f_1", Quotas(5, 5), OFFICER)
    await desk.service.set_auto_approve("f_1", auto, OFFICER)
    first = await desk.service.submit(form(slot(SATURDAY, "08:00")))
    assert first.status is VisitStatus.REQUESTED  # not known yet
    return (await desk.service.approve(first, OFFICER)).visit


async def test_a_known_visitor_is_approved_at_once_when_the_facility_says_so(desk: Desk) -> None:
    """With auto-approval on, a visitor approved before for the same inmate gets the next
    request scheduled at once, its family link from lookup as usual; the log has `requested`
    then `approved` by the system. Another inmate's visit still waits for an officer."""
    await _known_visitor(desk)
    again = await desk.service.submit(form(slot(SATURDAY, "09:00")))
    assert again.status is VisitStatus.SCHEDULED
    state = await desk.service.lookup(again.code, nik(1)[-4:])
    assert state.link
    found_link = await desk.store.find_link(hash_secret(state.link))  # the link opens the visit
    assert found_link is not None and found_link[0].id == again.id
    other = await desk.service.submit(form(slot(SUNDAY, "09:00"), inmate="B-2"))
    assert other.status is VisitStatus.REQUESTED
    await desk.store.aclose()
    found = rows(
        desk.data_dir / "tatap.db",
        "SELECT action, actor_role, details FROM audit_events WHERE visit_id = ? ORDER BY seq",
        (again.id,),
    )
    assert [(a, r) for a, r, _ in found] == [("requested", "family"), ("approved", "system")]
    assert '"auto":"known_visitor"' in found[1][2]


async def test_auto_approval_is_off_by_default_and_never_for_remand(desk: Desk) -> None:
    """Off by default; on, a remand inmate's request still waits (it needs a letter number); a
    visitor whose only earlier visit was cancelled is not known."""
    await _known_visitor(desk, auto=False)
    waits = await desk.service.submit(form(slot(SATURDAY, "09:00")))
    assert waits.status is VisitStatus.REQUESTED
    await desk.service.set_auto_approve("f_1", True, OFFICER)
    await Admin(desk.store).import_inmates("f_1", "number,name,status\nB-1,A,tahanan\n")
    remand = await desk.service.submit(form(slot(SUNDAY, "08:00")))
    assert remand.status is VisitStatus.REQUESTED
    cancelled = await desk.service.submit(form(slot(SATURDAY, "08:30"), n=7, inmate="B-7"))
    await desk.service.cancel(cancelled.code, nik(7)[-4:])
    again = await desk.service.submit(form(slot(SATURDAY, "09:30"), n=7, inmate="B-7"))
    assert again.status is VisitStatus.REQUESTED


async def test_concurrent_known_requests_keep_the_quota_and_each_event_pair(desk: Desk) -> None:
    """Seven requests at once from a known visitor: the quota holds (two more in the week), both
    taken are scheduled, and each one's `requested` and `approved` are written together."""
    await _known_visitor(desk)
    await desk.service.set_quotas("f_1", Quotas(3, 3), OFFICER)
    starts = [
        slot(d, f"{h:02d}:{m:02d}") for d in (SATURDAY, SUNDAY) for h in (8, 9) for m in (0, 30)
    ]
    got = await asyncio.gather(
        *(desk.service.submit(form(s)) for s in starts[1:]), return_exceptions=True
    )
    taken = [g for g in got if isinstance(g, Visit)]
    assert len(taken) == 2 and all(v.status is VisitStatus.SCHEDULED for v in taken)
    assert all(isinstance(g, Visit | Conflict) for g in got)
    await desk.store.aclose()
    for visit in taken:
        found = rows(
            desk.data_dir / "tatap.db",
            "SELECT seq, action FROM audit_events WHERE visit_id = ? ORDER BY seq",
            (visit.id,),
        )
        assert [a for _, a in found] == ["requested", "approved"]
        assert found[1][0] == found[0][0] + 1


def test_auto_approve_on_the_command_line(tmp_path: Path) -> None:
    asyncio.run(_closed_desk(tmp_path))
    verb = ("admin", "auto-approve", "--facility", "f_1")
    assert cli_json(tmp_path, *verb)["auto_approve_known"] is False
    assert cli_json(tmp_path, *verb, "--on")["auto_approve_known"] is True
    assert cli_json(tmp_path, *verb)["auto_approve_known"] is True
    assert cli_json(tmp_path, *verb, "--off")["auto_approve_known"] is False


# ---- emergency close --------------------------------------------------------------------------


async def test_a_close_cancels_every_visit_booked_inside_it(desk: Desk) -> None:
    """Requested and scheduled visits sharing time with the closure are cancelled in its
    transaction, one `cancelled` event each in the shape the family's message is made from;
    visits outside it, and ones already over, are untouched."""
    await desk.service.set_quotas("f_1", Quotas(10, 10), OFFICER)
    pending = await desk.service.submit(form(slot(SATURDAY, "08:00"), n=1))
    approved = await desk.service.submit(form(slot(SATURDAY, "08:30"), n=2, inmate="B-2"))
    await desk.service.approve(approved, OFFICER)
    rejected = await desk.service.submit(form(slot(SATURDAY, "08:00"), n=3, inmate="B-3"))
    await desk.service.reject(rejected, RejectReason.INCOMPLETE_DATA, "", OFFICER)
    after = await desk.service.submit(form(slot(SATURDAY, "09:30"), n=4, inmate="B-4"))
    start = dt.datetime(2027, 1, 16, 8, 15)
    closure, effect = await CalendarService(desk.store).close(
        "f_1", start, start + dt.timedelta(minutes=30), "banjir"
    )
    assert set(effect.cancelled) == {pending.id, approved.id} and effect.running == ()
    for visit, status in ((pending, "cancelled"), (approved, "cancelled"), (after, "requested")):
        kept = await desk.store.get_visit(visit.id)
        assert kept is not None and kept.status.value == status
    kept = await desk.store.get_visit(rejected.id)
    assert kept is not None and kept.status.value == "rejected"
    await desk.store.aclose()
    found = rows(
        desk.data_dir / "tatap.db",
        "SELECT action, visit_id, details FROM audit_events"
        " WHERE action IN ('facility-closed', 'cancelled') ORDER BY seq",
    )
    assert [a for a, _, _ in found] == ["facility-closed", "cancelled", "cancelled"]
    assert '"cancelled":2' in found[0][2] and closure.id in found[0][2]
    assert {v for _, v, _ in found[1:]} == {pending.id, approved.id}
    assert all(json.loads(d) == {"by": "closure", "reason": "banjir"} for _, _, d in found[1:])


def test_close_on_the_command_line_cancels_the_booked_visits(tmp_path: Path) -> None:
    """`tatap admin close` cancels the visits booked inside and lists them."""

    async def book() -> str:
        desk = await open_desk(tmp_path)
        visit = await desk.service.submit(form(slot(SATURDAY, "08:00")))
        await desk.store.aclose()
        return visit.id

    visit_id = asyncio.run(book())
    out = cli_json(
        tmp_path,
        *("admin", "close", "--facility", "f_1", "--reason", "gempa"),
        *("--from", "2027-01-16T07:00", "--until", "2027-01-16T12:00"),
    )
    assert out["cancelled"] == [visit_id]
    assert rows(tmp_path / "tatap.db", "SELECT status FROM visits") == [("cancelled",)]
