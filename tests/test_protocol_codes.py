"""The one table of close and error codes, and the facts the node serves to its pages from it."""

from __future__ import annotations

import orjson

import services.errors as errors
from signaling import protocol
from signaling.protocol import Close, close_for
from signaling.protocol.facts import PATH
from signaling.protocol.inbound import NOTICES
from tests.helpers.world import World


def _error_classes() -> list[type[errors.TatapError]]:
    found, todo = [], [errors.TatapError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


def test_every_refusal_has_a_close_code_of_one_meaning() -> None:
    """Each error a socket may be refused with closes with the code of its kind; server faults
    close 1011; `too many errors` has a code of its own."""
    expected = {
        "bad_request": 4400,
        "too_large": 4400,
        "unauthorized": 4401,
        "token_expired": 4401,
        "token_revoked": 4401,
        "forbidden": 4403,
        "access_revoked": 4403,
        "not_found": 4404,
        "conflict": 4409,
        "visit_full": 4409,
        "witness_refused": 4409,
        "visit_over": 4410,
        "visit_under_review": 4409,
        "visit_not_open": 4425,
        "rate_limited": 4429,
    }
    for cls in _error_classes():
        assert close_for(cls.code) == expected.get(cls.code, 1011), cls.code
    assert Close.TOO_MANY_ERRORS not in protocol.REFUSALS.values()
    assert len({c.value for c in Close}) == len(Close)


async def test_pages_read_the_codes_and_window_the_node_serves(world: World) -> None:
    resp = await world.client.get(PATH)
    assert resp.status == 200
    assert resp.content_type == "text/javascript"
    text = await resp.text()
    prefix = '"use strict";\nwindow.TATAP_PROTOCOL = Object.freeze('
    assert text.startswith(prefix) and text.endswith(");\n")
    facts = orjson.loads(text[len(prefix) : -3])
    assert facts["close"]["ENDED"] == 4000 and facts["close"]["TOO_MANY_ERRORS"] == 4002
    assert facts["close"]["UNAUTHORIZED"] == 4401 and facts["close"]["TOO_EARLY"] == 4425
    assert 4002 in facts["final"] and 4401 not in facts["final"]
    assert facts["early_join_ms"] == world.settings.early_join_s * 1000
    assert set(facts["notices"]) == NOTICES  # the wall offers exactly what the server accepts
    page = await world.client.get("/static/visit.js")
    assert page.status == 200  # the static files are still served beside it


def test_server_messages_read_back_as_their_types() -> None:
    peer = protocol.PeerRef("p_1", "family")
    frames = [
        protocol.time_left(-5, 10),
        protocol.peer_joined(peer, True),
        protocol.peer_left(peer, "dropped"),
        protocol.relayed_signal("p_1", {"candidate": None}),
        protocol.notice("dress_code"),
        protocol.pong(7),
        protocol.ended("completed"),
        protocol.error("visit_not_open", "too early", {"start_ms": 5}),
        protocol.error("bad_json", "no"),
        protocol.idle(protocol.NextVisit("v_1", 1, 2)),
    ]
    assert [orjson.loads(f)["type"] for f in frames] == [
        "time",
        "peer-joined",
        "peer-left",
        "signal",
        "notice",
        "pong",
        "ended",
        "error",
        "error",
        "idle",
    ]
    parsed = [protocol.parse_server(f) for f in frames]
    assert parsed[0] == protocol.TimeLeft(0, 10)
    assert parsed[3] == protocol.SignalFrom("p_1", {"candidate": None})
    assert orjson.loads(frames[3]) == {"type": "signal", "from": "p_1", "data": {"candidate": None}}
    assert parsed[7] == protocol.Error("visit_not_open", "too early", {"start_ms": 5})
    assert "details" not in orjson.loads(frames[8])
    assert orjson.loads(protocol.pong(None)) == {"type": "pong", "id": None}
