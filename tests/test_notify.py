"""Notifications on a real node: every event of a request makes its message, the webhook gets
it signed, a gateway that is down is retried with backoff until it answers, a restart loses and
repeats nothing, max attempts end in `failed`, officers see each message with a wa.me link, and
a day-before reminder is made once."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from services.access.revocation import Revocations
from services.admin.provision import Admin
from services.audit.chain import AuditEvent
from services.audit.query import AuditQuery
from services.booking.calendar import CalendarService
from services.booking.slots import day_bounds, parse_hhmm, parse_weekdays
from services.clock import FakeClock
from services.domain.model import EndReason, Role, VisitKind, VisitStatus
from services.errors import ConfigError
from services.ids import Actor, ParticipantId, VisitId, VisitorId
from services.notify.records import Message, MessageKind, MessageState
from services.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from services.store.protocols import VisitChange
from services.store.sqlite.migrations import STEPS
from signaling.app import NOTIFIER, STORE, create_app
from tests.helpers.audit import rows
from tests.helpers.gateway import Gateway
from tests.helpers.officer import as_officer
from tests.helpers.world import World, build_world, make_settings

SECRET = b"gateway-shared-secret-0123456789"
NIK = "3201011508900001"  # the first visitor's
JAKARTA = "Asia/Jakarta"


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    gw = Gateway()
    await gw.up()
    try:
        yield gw
    finally:
        await gw.down()


def hooked(gateway: Gateway, **more: Any) -> dict[str, Any]:
    """Settings that send to ``gateway``."""
    return {"notify_webhook_url": gateway.url, "notify_webhook_secret": SECRET, **more}


@pytest.fixture
async def hworld(tmp_path: Path, gateway: Gateway) -> AsyncIterator[World]:
    """A node that sends its notifications to ``gateway``."""
    async for w in build_world(tmp_path, **hooked(gateway)):
        yield w


async def _open(world: World) -> None:
    """Every day 08:00-13:00 in 30-minute slots, and inmate N-0."""
    kinds = frozenset({VisitKind.REGULAR})
    every_day = parse_weekdays("mon,tue,wed,thu,fri,sat,sun")
    await CalendarService(world.store).add_template(
        world.terminal.room_id, every_day, (480, 780), 30, kinds
    )
    inmates = "".join(f"N-{i},Napi {i},A\n" for i in range(12))
    await Admin(world.store).import_inmates(world.facility_id, "number,name,block\n" + inmates)


def _slot(world: World, days: int, hhmm: str = "08:00") -> int:
    """``hhmm`` in Jakarta, ``days`` local days after the world's today."""
    today = dt.datetime.fromtimestamp(world.clock.now(), dt.timezone(dt.timedelta(hours=7))).date()
    return day_bounds(today + dt.timedelta(days=days), JAKARTA)[0] + parse_hhmm(hhmm) * 60_000


async def _request(world: World, start_ms: int, n: int = 0) -> dict[str, Any]:
    """A family's request (the ``n``-th inmate and visitor: each has a quota of one a week)."""
    body = {
        "facility_id": world.facility_id,
        "inmate_number": f"N-{n}",
        "kind": "regular",
        "start_ms": start_ms,
        "visitor": {
            "name": "Siti Aminah",
            "nik": f"{NIK[:-2]}{n + 1:02d}",
            "phone": "0812-3456-7890",
            "relationship": "spouse",
        },
    }
    resp = await world.client.post("/api/v1/requests", json=body)
    assert resp.status == 201, await resp.text()
    made: dict[str, Any] = await resp.json()
    return made


def _officer(world: World, facility: str | None = None) -> dict[str, str]:
    """An officer of the world's facility (or of ``facility``)."""
    return as_officer(world, facility=facility or world.facility_id)


async def _staff(world: World, path: str, body: Any = None) -> Any:
    resp = await world.client.post(path, json=body, headers=_officer(world))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _messages(world: World, visit_id: str) -> list[Message]:
    return await world.store.visit_messages(visit_id, 100)


async def test_each_event_makes_its_message_signed_to_the_webhook(
    hworld: World, gateway: Gateway
) -> None:
    """Requested, approved (with the working link), rejected and cancelled each reach the
    gateway once, signed; each delivery is a `notified` audit event with the phone masked. A
    request decided before the notifier saw it gets no "waiting for approval" message."""
    world = hworld
    await _open(world)
    one = await _request(world, _slot(world, 2))
    await world.app[NOTIFIER].pump()
    approved = await _staff(world, f"/api/v1/requests/{one['id']}/approve")
    await world.app[NOTIFIER].pump()
    await world.client.post(
        "/api/v1/requests/cancel", json={"code": one["code"], "nik_last4": NIK[-4:]}
    )
    two = await _request(world, _slot(world, 2))
    await _staff(world, f"/api/v1/requests/{two['id']}/reject", {"reason": "not_relative"})
    await world.app[NOTIFIER].pump()

    got: dict[str, list[str]] = {}  # each visit's messages in order; visits go side by side
    for r in gateway.received:
        got.setdefault(r.json["visit_id"], []).append(r.json["event"])
    assert got == {
        one["id"]: ["requested", "approved", "cancelled"],
        two["id"]: ["rejected"],  # rejected before the notifier's next pass
    }
    for r in gateway.received:
        stamp, signature = r.headers[TIMESTAMP_HEADER], r.headers[SIGNATURE_HEADER]
        assert verify(SECRET, stamp, r.body, signature, world.clock.now())
        assert not verify(b"another-secret-0123456789", stamp, r.body, signature, world.clock.now())
        assert r.headers["Idempotency-Key"] == r.json["id"]
        assert r.json["phone"] == "+6281234567890"
        assert "Lapas Cilegon" in r.json["text"] and r.json["visit_id"] in (one["id"], two["id"])
    by_event = {r.json["event"]: r.json for r in gateway.received}
    family = next(p["id"] for p in approved["participants"] if p["role"] == "family")
    assert by_event["approved"]["link"] == approved["links"][family]
    assert by_event["approved"]["text"].endswith("\n" + approved["links"][family])
    assert (
        "pukul 08.00 WIB" in by_event["approved"]["text"]
        and one["code"] in by_event["approved"]["text"]
    )
    assert "bukan keluarga" in by_event["rejected"]["text"] and by_event["rejected"]["link"] is None
    notified = await world.store.audit_search(AuditQuery(action="notified"))
    assert len(notified) == 4
    assert all('"phone":"**********7890"' in e.details for e in notified)
    assert all(m.state is MessageState.SENT for m in await _messages(world, one["id"]))


async def test_a_closure_cancelling_a_visit_tells_the_family_why(
    hworld: World, gateway: Gateway
) -> None:
    """A visit cancelled by an emergency closure (audit `cancelled`, by closure) is notified,
    with the closure's reason; its approval message, not sent yet, is skipped (the link is dead)."""
    world = hworld
    await _open(world)
    made = await _request(world, _slot(world, 2))
    await world.app[NOTIFIER].pump()
    await _staff(world, f"/api/v1/requests/{made['id']}/approve")
    await world.store.change_visit(
        VisitChange(
            VisitId(made["id"]),
            VisitStatus.CANCELLED,
            frozenset({VisitStatus.SCHEDULED}),
            world.clock.now(),
            EndReason.CANCELLED,
        ),
        [
            AuditEvent(
                "cancelled",
                *Actor.system("node-test"),
                world.facility_id,
                made["id"],
                {"by": "closure", "reason": "Banjir"},
            )
        ],
    )
    await world.app[NOTIFIER].pump()
    states = {m.kind: m.state for m in await _messages(world, made["id"])}
    assert states == {
        MessageKind.REQUESTED: MessageState.SENT,
        MessageKind.APPROVED: MessageState.SKIPPED,
        MessageKind.CANCELLED: MessageState.SENT,
    }
    cancelled = gateway.received[-1].json
    assert cancelled["event"] == "cancelled" and "penutupan darurat: Banjir" in cancelled["text"]


async def test_a_gateway_that_is_down_is_retried_with_backoff(
    hworld: World, gateway: Gateway
) -> None:
    """While the gateway is down each attempt fails (logged without the phone) and the next
    waits longer (5 s, then 10 s at most, each at least half of that); once it is back the
    message is sent, once."""
    world = hworld
    await gateway.down()
    await _open(world)
    made = await _request(world, _slot(world, 2))
    notifier = world.app[NOTIFIER]
    with capture_logs() as logs:
        await notifier.pump()
    (m,) = await _messages(world, made["id"])
    assert (m.state, m.attempts) == (MessageState.PENDING, 1) and m.last_error
    (failed,) = [e for e in logs if e["event"] == "notify.attempt_failed"]
    assert failed["message"] == m.id and failed["attempts"] == 1
    assert "81234567890" not in repr(logs)  # no phone number in the logs
    first_wait = m.next_ms - world.clock.now() * 1000
    assert 2_500 <= first_wait <= 5_000
    await notifier.pump()  # not due yet: no attempt
    assert (await _messages(world, made["id"]))[0].attempts == 1
    await world.advance(first_wait / 1000)
    await notifier.pump()
    (m,) = await _messages(world, made["id"])
    assert m.attempts == 2 and 5_000 <= m.next_ms - world.clock.now() * 1000 <= 10_000
    await gateway.up()
    await world.advance((m.next_ms / 1000) - world.clock.now())
    await notifier.pump()
    await notifier.pump()
    (m,) = await _messages(world, made["id"])
    assert (m.state, m.attempts, m.last_error) == (MessageState.SENT, 3, "")
    assert [r.json["id"] for r in gateway.received] == [m.id]


async def test_a_backlog_is_sent_without_waiting_between_batches(
    hworld: World, gateway: Gateway
) -> None:
    """More messages than one batch: the node's own loop sends them all on one tick of its
    clock, batch after batch, instead of one batch per poll interval."""
    world = hworld
    await _open(world)
    slots = [_slot(world, 2, f"{8 + i // 2:02d}:{30 * (i % 2):02d}") for i in range(10)]
    made = [await _request(world, start, n) for n, start in enumerate(slots)]
    assert len(gateway.received) == 0
    await world.advance(world.settings.notify_poll_s)  # the loop's one wake-up
    async with asyncio.timeout(5):
        while len(gateway.received) < len(made):
            await gateway.arrived.wait()
            gateway.arrived.clear()
    assert sorted(r.json["visit_id"] for r in gateway.received) == sorted(m["id"] for m in made)


async def test_max_attempts_end_in_failed(tmp_path: Path, gateway: Gateway) -> None:
    """A gateway that keeps refusing (HTTP 500): after the last attempt the message is `failed`,
    with the last error, and no more attempts follow."""
    gateway.status = 500
    async for world in build_world(tmp_path, **hooked(gateway, notify_max_attempts=2)):
        await _open(world)
        made = await _request(world, _slot(world, 2))
        notifier = world.app[NOTIFIER]
        await notifier.pump()
        await world.advance(10)
        await notifier.pump()
        await world.advance(3600)
        await notifier.pump()
        (m,) = await _messages(world, made["id"])
        assert (m.state, m.attempts, m.last_error) == (MessageState.FAILED, 2, "HTTP 500")
        assert len(gateway.received) == 2


async def test_a_restart_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, gateway: Gateway
) -> None:
    """Messages made while the gateway was down wait in the outbox across a restart; sent ones
    are not sent again, and a replay of the audit log from the start adds no message."""
    clock = FakeClock()
    async for world in build_world(tmp_path, clock=clock, **hooked(gateway)):
        await _open(world)
        first = await _request(world, _slot(world, 2))
        await world.app[NOTIFIER].pump()  # sent
        await gateway.down()
        second = await _request(world, _slot(world, 2, "09:00"), n=1)
        await _staff(world, f"/api/v1/requests/{first['id']}/approve")
        await world.app[NOTIFIER].pump()  # both fail
        facility = world.facility_id
    assert len(gateway.received) == 1

    await gateway.up()
    app = create_app(make_settings(tmp_path, **hooked(gateway)), clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        await clock.advance(3600)
        await app[NOTIFIER].pump()
        await app[NOTIFIER].pump()
        sent = [(r.json["visit_id"], r.json["event"]) for r in gateway.received]
        assert sorted(sent) == sorted(
            [
                (first["id"], "requested"),
                (second["id"], "requested"),
                (first["id"], "approved"),
            ]
        )
        # A crash after reading events but before writing their rows replays them: nothing new.
        db = tmp_path / "tatap.db"
        await app[STORE].aclose()
    finally:
        await client.close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE notify_cursor SET seq = 0")
    conn.commit()
    conn.close()
    app = create_app(make_settings(tmp_path, **hooked(gateway)), clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        await app[NOTIFIER].pump()
        await app[NOTIFIER].pump()
    finally:
        await client.close()
    assert len(gateway.received) == 3
    assert rows(db, "SELECT count(*) FROM outbox WHERE facility_id = ?", (facility,)) == [(3,)]


async def test_without_a_webhook_officers_get_wa_me_links(world: World) -> None:
    """No gateway configured: messages stay pending on the wa.me channel; the officer's view
    shows each with its text and a wa.me link whose text carries the working family link."""
    await _open(world)
    made = await _request(world, _slot(world, 2))
    await _staff(world, f"/api/v1/requests/{made['id']}/approve")
    await world.app[NOTIFIER].pump()
    resp = await world.client.get(
        f"/api/v1/requests/{made['id']}/notifications", headers=_officer(world)
    )
    assert resp.status == 200
    listed = (await resp.json())["messages"]
    assert [(m["kind"], m["channel"], m["state"]) for m in listed] == [
        ("approved", "wa.me", "pending"),  # approved before a "requested" message was made
    ]
    approved = listed[0]
    prefix = "https://wa.me/6281234567890?text="
    assert approved["wa_me"].startswith(prefix)
    assert unquote(approved["wa_me"].removeprefix(prefix)) == approved["text"]
    link = approved["text"].rsplit("\n", 1)[1]
    resp = await world.client.post("/api/v1/join", json={"link": link.rsplit("/", 1)[1]})
    assert resp.status == 200
    assert approved["attempts"] == 0 and approved["sent_ms"] is None


async def test_an_officer_marks_a_message_sent_by_hand(world: World) -> None:
    """After sending from the wa.me link the officer marks the message sent: it is `sent`, a
    `notified` event names the officer; marking it again is a 409, an unknown message a 404."""
    await _open(world)
    made = await _request(world, _slot(world, 2))
    await world.app[NOTIFIER].pump()
    (message,) = await _messages(world, made["id"])
    path = f"/api/v1/requests/{made['id']}/notifications/{message.id}/sent"
    resp = await world.client.post(path, headers=_officer(world))
    assert resp.status == 200
    (shown,) = (await resp.json())["messages"]
    assert shown["state"] == "sent" and shown["sent_ms"] == int(world.clock.now() * 1000)
    (event,) = await world.store.audit_search(AuditQuery(action="notified"))
    assert (event.actor_role, event.actor_id, event.visit_id) == ("officer", "s_off", made["id"])
    assert '"channel":"wa.me"' in event.details and '"phone":"**********7890"' in event.details
    assert "+6281234567890" not in event.details
    assert (await world.client.post(path, headers=_officer(world))).status == 409
    unknown = path.replace(message.id, "n_0000000000000000")
    assert (await world.client.post(unknown, headers=_officer(world))).status == 404
    other = _officer(world, facility="f_elsewhere")
    assert (await world.client.post(path, headers=other)).status == 404


async def test_the_officer_view_is_scoped_to_the_facility(world: World) -> None:
    """Without a token: 401; an officer of another facility: 404, as for a visit that does not
    exist."""
    await _open(world)
    made = await _request(world, _slot(world, 2))
    path = f"/api/v1/requests/{made['id']}/notifications"
    assert (await world.client.get(path)).status == 401
    other = _officer(world, facility="f_elsewhere")
    assert (await world.client.get(path, headers=other)).status == 404
    assert (await world.client.get(path, headers=_officer(world))).status == 200


async def test_a_reminder_is_made_once_the_day_before(world: World) -> None:
    """A visit 41 hours ahead has no reminder yet; 35 hours ahead it gets one, and only one
    however often the notifier looks."""
    await _open(world)
    made = await _request(world, _slot(world, 2))  # Sunday 08:00 WIB, 41 h from Friday 15:00
    await _staff(world, f"/api/v1/requests/{made['id']}/approve")
    notifier = world.app[NOTIFIER]
    await notifier.pump()
    kinds = [m.kind for m in await _messages(world, made["id"])]
    assert MessageKind.REMINDER not in kinds
    await world.advance(6 * 3600)
    await notifier.pump()
    await world.advance(120)
    await notifier.pump()
    reminders = [m for m in await _messages(world, made["id"]) if m.kind is MessageKind.REMINDER]
    assert len(reminders) == 1 and "Pengingat" in reminders[0].text


def test_an_upgraded_log_is_not_replayed_to_families(tmp_path: Path) -> None:
    """A database with events from before the outbox starts its notifier's cursor at the log's
    head: an upgrade does not message families about requests made long ago."""
    outbox = next(i for i, script in enumerate(STEPS) if "CREATE TABLE outbox" in script)
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for script in STEPS[:outbox]:
        conn.executescript(script)
    for seq in (1, 2, 3):
        conn.execute(
            "INSERT INTO audit_events VALUES (?, 0, 'f', 'v', 'family', 'p', 'requested', '{}',"
            " '', '')",
            (seq,),
        )
    conn.executescript(STEPS[outbox])
    assert conn.execute("SELECT seq FROM notify_cursor").fetchall() == [(3,)]
    conn.close()


@pytest.mark.parametrize(
    ("url", "secret", "says"),
    [
        ("http://127.0.0.1:9/hook", b"", "secret"),
        ("http://127.0.0.1:9/hook", b"short", "secret"),
        ("ftp://gateway/hook", SECRET, "http"),
    ],
)
def test_a_bad_webhook_setting_refuses_to_start(
    tmp_path: Path, url: str, secret: bytes, says: str
) -> None:
    """A gateway URL without a usable secret, or not http(s), stops the node at start-up,
    before it opens its database."""
    settings = make_settings(tmp_path, notify_webhook_url=url, notify_webhook_secret=secret)
    with pytest.raises(ConfigError, match=says):
        create_app(settings)
    assert not (tmp_path / "tatap.db").exists()


def _seat(world: World, visit_id: str) -> tuple[str, str]:
    """The family seat of a visit: its participant id and its registered visitor's id."""
    ((seat, visitor),) = rows(
        world.settings.sqlite_path,
        "SELECT id, visitor_id FROM participants WHERE visit_id = ? AND role = 'family'",
        (visit_id,),
    )
    return seat, visitor


async def test_a_revoked_seat_or_blocked_visitor_gets_no_approval_or_reminder(
    world: World,
) -> None:
    """A seat revoked before its approval's message is made gets no approval (nor any later
    reminder); a visitor blocked in the facility after the approval gets no reminder; a
    cancellation still tells them; the family neither revoked nor blocked gets both."""
    await _open(world)
    revoked, blocked, kept = [
        await _request(world, _slot(world, 2, t), n)
        for n, t in enumerate(("08:00", "08:30", "09:00"))
    ]
    for made in (revoked, blocked, kept):
        await _staff(world, f"/api/v1/requests/{made['id']}/approve")
    revocations = Revocations(world.store, world.clock)
    officer = Actor(Role.OFFICER, "s_off")
    seat, _ = _seat(world, revoked["id"])
    await revocations.revoke_participant(ParticipantId(seat), officer, "", world.facility_id)
    notifier = world.app[NOTIFIER]
    await notifier.pump()
    _, person = _seat(world, blocked["id"])
    await revocations.revoke_visitor(VisitorId(person), officer, "", world.facility_id)
    await world.advance(7 * 3600)  # 34 to 35 hours ahead: the day before
    await notifier.pump()

    async def kinds(made: dict[str, Any]) -> list[MessageKind]:
        return [m.kind for m in await _messages(world, made["id"])]

    assert await kinds(revoked) == []
    assert await kinds(blocked) == [MessageKind.APPROVED]
    assert sorted(await kinds(kept)) == sorted([MessageKind.APPROVED, MessageKind.REMINDER])
    await _staff(world, f"/api/v1/visits/{blocked['id']}/cancel", {"reason": "diblokir"})
    await notifier.pump()
    assert await kinds(blocked) == [MessageKind.APPROVED, MessageKind.CANCELLED]
