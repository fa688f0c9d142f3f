"""Websocket framing: what a client may send, and what the reader makes of it."""

from __future__ import annotations

import os
import time

import pytest

from signaling.transport.frames import (
    MAX_FRAGMENTS,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    FrameReader,
    encode,
    unmask,
)
from tests.helpers.raw_ws import client_frame

Got = list[tuple[int, bytes]]


def reader(max_size: int = 1 << 20) -> tuple[FrameReader, Got, list[bool]]:
    """A reader whose errors arrive as (OP_CLOSE, code) entries."""
    got: Got = []
    eof: list[bool] = []

    def error(code: int, reason: str) -> None:
        got.append((OP_CLOSE, code.to_bytes(2, "big")))

    return (
        FrameReader(lambda op, p: got.append((op, p)), error, lambda: eof.append(True), max_size),
        got,
        eof,
    )


@pytest.mark.parametrize("size", [0, 1, 125, 126, 4000, 65535, 65536, 200_000])
def test_messages_of_every_length_arrive_whole(size: int) -> None:
    r, got, _ = reader()
    payload = os.urandom(size)
    data = client_frame(OP_BINARY, payload)
    # Fed in awkward pieces, as TCP may deliver them.
    for i in range(0, len(data), 7):
        r.feed_data(data[i : i + 7])
    assert got == [(OP_BINARY, payload)]


def test_fragments_are_joined_and_controls_pass_between() -> None:
    r, got, _ = reader()
    r.feed_data(
        client_frame(OP_TEXT, b"hel", fin=False)
        + client_frame(OP_PING, b"x")
        + client_frame(0, b"lo", fin=False)
        + client_frame(0, b"!")
    )
    assert got == [(OP_PING, b"x"), (OP_TEXT, b"hello!")]


def test_unmasked_frame_is_a_protocol_error() -> None:
    r, got, _ = reader()
    r.feed_data(bytes((0x81, 2)) + b"hi")
    assert got == [(OP_CLOSE, (1002).to_bytes(2, "big"))]


def test_oversized_message_closes_1009_before_buffering() -> None:
    r, got, _ = reader(max_size=1000)
    r.feed_data(client_frame(OP_TEXT, b"a" * 1001)[:20])
    assert got == [(OP_CLOSE, (1009).to_bytes(2, "big"))]


def test_unmask_and_encode() -> None:
    assert unmask(bytes(b ^ 0x5A for b in b"tatap"), b"\x5a\x5a\x5a\x5a") == b"tatap"
    assert encode(OP_TEXT, b"hi") == b"\x81\x02hi"
    assert encode(OP_TEXT, b"a" * 300)[:4] == b"\x81\x7e\x01\x2c"


def test_eof_is_reported_once() -> None:
    r, _, eof = reader()
    r.feed_eof()
    r.feed_eof()
    assert eof == [True]


def test_a_message_in_too_many_fragments_closes_1009() -> None:
    """Empty continuations cannot pile up: the fragment after the last one allowed closes 1009,
    before hello as after it."""
    r, got, _ = reader()
    flood = [client_frame(OP_TEXT, b"", fin=False)]
    flood += [client_frame(OP_CONTINUATION, b"", fin=False)] * (MAX_FRAGMENTS - 1)
    r.feed_data(b"".join(flood))
    assert got == []
    r.feed_data(client_frame(OP_CONTINUATION, b"", fin=False))
    assert got == [(OP_CLOSE, (1009).to_bytes(2, "big"))]


def test_fragments_count_towards_the_size_limit_together() -> None:
    """The size limit holds for the message, not each fragment: 1009 as soon as a fragment's
    header would take the total over it."""
    r, got, _ = reader(max_size=1000)
    r.feed_data(client_frame(OP_TEXT, b"a" * 600, fin=False))
    r.feed_data(client_frame(OP_CONTINUATION, b"a" * 401)[:8])
    assert got == [(OP_CLOSE, (1009).to_bytes(2, "big"))]


def test_a_frame_dripped_a_byte_at_a_time_costs_linear_work() -> None:
    """A 256 KiB frame fed one byte per read arrives whole, without the buffer being rejoined on
    every read (that was quadratic: about 32 GB of copying for this frame)."""
    r, got, _ = reader()
    payload = os.urandom(256 * 1024)
    data = client_frame(OP_BINARY, payload)
    started = time.perf_counter()
    for i in range(len(data)):
        r.feed_data(data[i : i + 1])
    assert got == [(OP_BINARY, payload)]
    assert time.perf_counter() - started < 2.0
