"""What a socket may make the server hold before its hello is answered: about 8 KiB, not the
256 KiB a joined participant's message may have. Raw sockets against the test server."""

from __future__ import annotations

from signaling.transport.connection import UNSERVED_BYTES
from signaling.transport.frames import OP_TEXT
from tests.helpers.pair import pair
from tests.helpers.raw_ws import RawSocket, client_frame
from tests.helpers.world import World


async def test_a_frame_over_8_kib_before_hello_closes_1009(world: World) -> None:
    """The header of a frame bigger than the unserved limit closes the socket with 1009 at
    once, before its payload is buffered."""
    raw = await RawSocket.open(world)
    frame = client_frame(OP_TEXT, b"x" * (UNSERVED_BYTES + 1))
    raw.send(frame[:100])  # the header and a little: the rest would be parked for seconds
    assert await raw.close_code(timeout=2.0) == 1009
    raw.close()


async def test_messages_over_8_kib_in_all_before_hello_close_1009(world: World) -> None:
    """Several messages under the limit each, sent before hello is answered, close 1009 once
    together they hold more than the unserved limit."""
    raw = await RawSocket.open(world)
    third = UNSERVED_BYTES // 3 + 1
    raw.send(client_frame(OP_TEXT, b" " * third + b'{"type":"ping"}') * 3)
    assert await raw.close_code(timeout=2.0) == 1009
    raw.close()


async def test_a_joined_participant_may_send_more_than_8_kib(world: World) -> None:
    """Once hello is answered the served limit holds: a 20 KiB message is read and answered,
    and the socket lives on."""
    term, fam, _ = await pair(world, media=False)
    await fam.send({"type": "no-such-type", "pad": "a" * 20_000})
    assert (await fam.expect("error"))["code"] == "unknown_type"
    await fam.send({"type": "ping", "id": 3})
    assert (await fam.until("pong"))["id"] == 3
