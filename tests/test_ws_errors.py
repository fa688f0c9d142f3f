"""Bad input on the websocket gets a typed error, never crashes the server, and abuse is cut off."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson

from services.domain.model import Role
from tests.helpers.pair import pair
from tests.helpers.world import World


async def test_malformed_frames_get_typed_errors(world: World) -> None:
    """Each kind of bad frame has its own error code and the socket stays usable."""
    term, fam, _ = await pair(world)
    cases = [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_message"),
        ('{"no": "type"}', "bad_message"),
        ('{"type": "launch"}', "unknown_type"),
        ('{"type": "signal", "to": 5, "data": {}}', "bad_message"),
        ('{"type": "signal", "to": "x", "data": {"sdp": {"type": "bogus"}}}', "bad_message"),
        ('{"type": "signal", "to": "x", "data": {"nothing": 1}}', "bad_message"),
        ('{"type": "signal", "to": "nobody", "data": {"candidate": null}}', "unknown_target"),
        ('{"type": "notice", "code": "dance"}', "bad_message"),
    ]  # nine: a tenth refused message would close the socket (see the abuse test)
    for frame, code in cases:
        await fam.send(frame)
        err = await fam.expect("error")
        assert err["code"] == code, frame
    await fam.send({"type": "ping", "id": 7})
    assert (await fam.expect("pong"))["id"] == 7


async def test_oversized_frame_gets_too_large(world: World) -> None:
    """A frame over the limit is refused with `too_large`, not relayed, and the socket lives."""
    term, fam, _ = await pair(world)
    huge = {"type": "signal", "to": "x", "data": {"sdp": {"type": "offer", "sdp": "a" * 70_000}}}
    await fam.send(huge)
    assert (await fam.expect("error"))["code"] == "too_large"
    await fam.send({"type": "ping"})
    await fam.expect("pong")


async def test_far_too_large_frame_closes_1009(world: World) -> None:
    """A frame beyond four times the limit is not even read: the socket closes 1009."""
    term, fam, _ = await pair(world)
    await fam.send("x" * (300 * 1024))
    assert await fam.closed() == 1009


async def test_binary_frames_are_refused(world: World) -> None:
    term, fam, _ = await pair(world)
    await fam.ws.send_bytes(b"\x00\x01")
    assert (await fam.expect("error"))["code"] == "bad_message"


async def test_family_cannot_terminate_or_notice(world: World) -> None:
    """Officer-only messages (terminate, notice, mute) from a family get `not_allowed` and
    change nothing."""
    term, fam, _ = await pair(world)
    for msg in (
        {"type": "terminate", "reason": "x"},
        {"type": "notice", "code": "dress_code"},
        {"type": "mute", "side": "family", "muted": True},
    ):
        await fam.send(msg)
        assert (await fam.expect("error"))["code"] == "not_allowed"
    await fam.send({"type": "hello", "token": "again"})
    assert (await fam.expect("error"))["code"] == "bad_message"
    await term.send({"type": "ping"})
    await term.expect("pong")


async def test_repeated_abuse_closes_the_socket(world: World) -> None:
    """Ten refused messages close the socket with 4002; the server keeps serving others."""
    term, fam, _ = await pair(world)
    for _ in range(10):
        await fam.send("garbage")
    assert await fam.closed() == 4002
    assert (await term.expect("peer-left"))["reason"] == "dropped"
    await term.send({"type": "ping"})
    await term.expect("pong")


async def test_first_message_must_be_hello(world: World) -> None:
    """Anything but hello first closes 4401; so does silence past the hello timeout."""
    ws = await world.session_ws()
    await ws.send_str(orjson.dumps({"type": "ping"}).decode())
    msg = await ws.receive(timeout=5)
    assert orjson.loads(msg.data)["code"] == "not_joined"
    close = await ws.receive(timeout=5)
    assert close.type is aiohttp.WSMsgType.CLOSE and close.data == 4401
    silent = await world.session_ws()
    async with asyncio.timeout(5):
        while (m := await silent.receive()).type is aiohttp.WSMsgType.TEXT:
            pass
    assert m.data == 4401


async def test_garbage_never_kills_the_server(world: World) -> None:
    """A burst of random junk from many sockets leaves the node healthy."""
    import random

    rng = random.Random(7)
    junk = [
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))).decode("latin-1")
        for _ in range(50)
    ]
    term, fam, _ = await pair(world)
    for frame in junk[:9]:
        await fam.send(frame)
    for frame in junk:
        ws = await world.session_ws()
        await ws.send_str(frame)
        await ws.close()
    resp = await world.client.get("/healthz")
    assert resp.status == 200
    await term.send({"type": "ping"})
    await term.expect("pong")


async def test_signals_stay_inside_their_visit(world: World) -> None:
    """A participant cannot address someone in another visit, even knowing the id."""
    from services.admin.provision import Admin

    visit_a = await world.schedule()
    room = await Admin(world.store).room(world.facility_id, "Ruang 2")
    other, _ = await Admin(world.store).terminal(room.id, "PC 2", "http://test")
    world.terminal = other
    visit_b = await world.schedule()
    a_fam = await world.connect(await world.token(visit_a, Role.FAMILY))
    await a_fam.expect("welcome")
    b_term = await world.connect(await world.token(visit_b, Role.TERMINAL))
    b_welcome = await b_term.expect("welcome")
    await a_fam.send({"type": "signal", "to": b_welcome["you"]["id"], "data": {"candidate": None}})
    assert (await a_fam.expect("error"))["code"] == "unknown_target"
    await b_term.send({"type": "ping"})
    assert (await b_term.expect("pong"))["type"] == "pong"
    assert not [m for m in b_term.seen if m["type"] == "signal"]


async def test_binary_first_frame_gets_an_error_then_4401(world: World) -> None:
    ws = await world.session_ws()
    await ws.send_bytes(b"\x01")
    msg = await ws.receive(timeout=5)
    assert orjson.loads(msg.data)["code"] == "bad_message"
    assert (await ws.receive(timeout=5)).data == 4401
