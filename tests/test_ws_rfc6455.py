"""RFC 6455 against a real server on a real socket: what the frame reader refuses, with which close
code, and what it must accept. Each case opens its own raw socket (no hello needed: framing is
checked before anything else)."""

from __future__ import annotations

import os

import orjson
import pytest

from services.domain.model import Role
from signaling.transport.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
)
from tests.helpers.raw_ws import RawSocket, client_frame
from tests.helpers.world import World


def close_frame(code: int, reason: bytes = b"") -> bytes:
    return client_frame(OP_CLOSE, code.to_bytes(2, "big") + reason)


def long_header(opcode: int, length: int) -> bytes:
    """A frame header with the 64-bit length form and a mask, and no payload after it."""
    return bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big") + os.urandom(4)


async def close_code_for(world: World, data: bytes) -> int | None:
    raw = await RawSocket.open(world)
    raw.send(data)
    try:
        return await raw.close_code()
    finally:
        raw.close()


NOT_UTF8 = {
    "ff": b"\xff",
    "truncated": b"caf\xc3",
    "surrogate": b"\xed\xa0\x80",
    "overlong": b"\xc0\xaf",
    "above-10ffff": b"ok\xf4\x90\x80\x80",
}


@pytest.mark.parametrize("payload", NOT_UTF8.values(), ids=NOT_UTF8.keys())
async def test_text_that_is_not_utf8_closes_1007(world: World, payload: bytes) -> None:
    """A one-frame text message that is not UTF-8 closes the socket with 1007."""
    assert await close_code_for(world, client_frame(OP_TEXT, payload)) == 1007


async def test_fragmented_text_that_is_not_utf8_closes_1007(world: World) -> None:
    """UTF-8 is checked over the whole message: a sequence cut short at the last fragment fails,
    although each fragment alone could be the start of valid text."""
    data = (
        client_frame(OP_TEXT, b"caf", fin=False)
        + client_frame(OP_CONTINUATION, b"\xc3", fin=False)
        + client_frame(OP_CONTINUATION, b"")
    )
    assert await close_code_for(world, data) == 1007


async def test_invalid_utf8_is_refused_at_the_fragment_that_holds_it(world: World) -> None:
    """The check is incremental: a bad first fragment closes 1007 before the message is whole."""
    assert await close_code_for(world, client_frame(OP_TEXT, b"\xff", fin=False)) == 1007


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
async def test_invalid_close_code_closes_1002(world: World, code: int) -> None:
    """A close frame with a code no peer may send is a protocol error (1002)."""
    assert await close_code_for(world, close_frame(code)) == 1002


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4999])
async def test_valid_close_code_is_echoed(world: World, code: int) -> None:
    """A valid close code (1012-1014 included) gets the ordinary closing handshake: the server
    answers with the same code."""
    assert await close_code_for(world, close_frame(code, "bye ✓".encode())) == code


async def test_one_byte_close_payload_closes_1002(world: World) -> None:
    """A close payload of one byte cannot hold a code: 1002."""
    assert await close_code_for(world, client_frame(OP_CLOSE, b"\x03")) == 1002


async def test_close_reason_that_is_not_utf8_closes_1002(world: World) -> None:
    """The reason in a close frame must be UTF-8: 1002."""
    assert await close_code_for(world, close_frame(1000, b"\xff\xfe")) == 1002


@pytest.mark.parametrize("opcode", [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF])
async def test_reserved_opcode_closes_1002(world: World, opcode: int) -> None:
    """A frame with a reserved opcode, data or control, closes 1002."""
    assert await close_code_for(world, client_frame(opcode, b"")) == 1002


async def test_64bit_length_with_top_bit_set_closes_1002(world: World) -> None:
    """The most significant bit of a 64-bit length must be 0: 1002, without waiting for a
    payload."""
    assert await close_code_for(world, long_header(OP_BINARY, (1 << 63) | 5)) == 1002


async def test_reserved_bits_close_1002(world: World) -> None:
    """RSV1-3 are set only by a negotiated extension, and none is: 1002."""
    frame = bytearray(client_frame(OP_TEXT, b"{}"))
    frame[0] |= 0x40
    assert await close_code_for(world, bytes(frame)) == 1002


async def test_fragmented_control_frame_closes_1002(world: World) -> None:
    """Control frames may not be fragmented: 1002."""
    assert await close_code_for(world, client_frame(OP_PING, b"x", fin=False)) == 1002


async def test_continuation_without_a_start_closes_1002(world: World) -> None:
    """A continuation frame with no message to continue: 1002."""
    assert await close_code_for(world, client_frame(OP_CONTINUATION, b"x")) == 1002


async def test_fragmented_hello_with_a_ping_between_and_long_lengths_joins(world: World) -> None:
    """What a server must accept: a hello in three fragments, a ping between two of them
    (answered at once), and a fragment whose length uses the 64-bit form though it is short
    (a non-minimal length encoding is allowed)."""
    visit = await world.schedule()
    hello = orjson.dumps({"type": "hello", "token": await world.token(visit, Role.TERMINAL)})
    mask = os.urandom(4)
    middle = hello[5:20]
    long_form = (
        bytes((OP_CONTINUATION, 0x80 | 127))
        + len(middle).to_bytes(8, "big")
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(middle))
    )
    raw = await RawSocket.open(world)
    try:
        raw.send(
            client_frame(OP_TEXT, hello[:5], fin=False)
            + client_frame(OP_PING, b"mid")
            + long_form
            + client_frame(OP_CONTINUATION, hello[20:])
        )
        assert await raw.frame() == (OP_PONG, b"mid")
        opcode, payload = await raw.frame()
        assert opcode == OP_TEXT and orjson.loads(payload)["type"] == "welcome"
    finally:
        raw.close()
