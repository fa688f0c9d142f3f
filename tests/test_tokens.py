"""Only the right token opens the right seat: wrong visit, expired, revoked, wrong role, forged."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from services.access.links import issue_visit_token
from services.access.tokens import TokenService
from services.audit.chain import AuditEvent
from services.domain.model import Role
from services.errors import TokenExpired, Unauthorized
from tests.helpers.visit import VISIT
from tests.helpers.world import KEYS, World


async def refused(world: World, token: str) -> tuple[str, int | None]:
    peer = await world.connect(token)
    err = await peer.expect("error")
    return err["code"], await peer.closed()


async def test_token_for_another_visit_takes_no_seat_here(world: World) -> None:
    """A token names its visit; a participant id from another visit is refused 4403."""
    a = await world.schedule()
    b = await world.schedule(start_in=3600)
    seat_a = next(p for p in a.visit.participants if p.role is Role.FAMILY)
    forged_mix, _ = TokenService(KEYS).issue(
        sub=seat_a.id, role=Role.FAMILY, visit=b.visit.id, now=world.clock.now(), ttl_s=600
    )
    assert await refused(world, forged_mix) == ("forbidden", 4403)


async def test_expired_token_is_refused(world: World) -> None:
    visit = await world.schedule(length_s=600)
    token = await world.token(visit, Role.FAMILY)
    await world.advance(600 + 60 + 10)  # past the end plus grace plus leeway
    assert await refused(world, token) == ("token_expired", 4401)


async def test_revoked_token_is_refused(world: World) -> None:
    visit = await world.schedule()
    token = await world.token(visit, Role.FAMILY)
    claims = TokenService(KEYS).decode(token, world.clock.now())
    await world.store.revoke(
        claims.jti, claims.exp, AuditEvent("token-revoked", "admin", "test", "", visit.visit.id)
    )
    assert await refused(world, token) == ("token_revoked", 4401)


async def test_wrong_role_is_refused(world: World) -> None:
    """A family seat claimed with a teacher role, or a staff token without a visit, gets nothing."""
    visit = await world.schedule()
    seat = next(p for p in visit.visit.participants if p.role is Role.FAMILY)
    svc = TokenService(KEYS)
    as_teacher, _ = svc.issue(
        sub=seat.id, role=Role.TEACHER, visit=visit.visit.id, now=world.clock.now(), ttl_s=600
    )
    assert await refused(world, as_teacher) == ("forbidden", 4403)
    auditor, _ = svc.issue(sub="s_1", role=Role.AUDITOR, visit="", now=world.clock.now(), ttl_s=600)
    assert await refused(world, auditor) == ("unauthorized", 4401)


async def test_forged_and_malformed_tokens_are_refused(world: World) -> None:
    """Wrong key, alg=none, unknown kid, garbage: all 4401."""
    visit = await world.schedule()
    seat = next(p for p in visit.visit.participants if p.role is Role.FAMILY)
    now = int(world.clock.now())
    payload = {
        "iss": "tatap",
        "sub": seat.id,
        "role": "family",
        "visit": visit.visit.id,
        "jti": "x",
        "iat": now,
        "exp": now + 600,
    }
    wrong_key = jwt.encode(
        payload, b"another-key-another-key-12345678", "HS256", headers={"kid": "k1"}
    )
    unknown_kid = jwt.encode(payload, KEYS["k1"], "HS256", headers={"kid": "k9"})
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "k1"}).encode())
    body = base64.urlsafe_b64encode(json.dumps(payload).encode())
    alg_none = f"{header.decode().rstrip('=')}.{body.decode().rstrip('=')}."
    for token in (wrong_key, unknown_kid, alg_none, "not.a.token"):
        assert await refused(world, token) == ("unauthorized", 4401), token


def test_token_never_outlives_the_visit() -> None:
    """`exp` is cut back to the visit's end plus grace whatever ttl is asked."""
    svc = TokenService(KEYS)
    _, claims = svc.issue(
        sub="p", role=Role.FAMILY, visit="v", now=1000.0, ttl_s=86400, not_after=1900.0
    )
    assert claims.exp == 1900.0


def test_keys_rotate_by_kid() -> None:
    """A token signed by the old key still verifies after a new key is put first."""
    old = TokenService({"k1": KEYS["k1"]})
    token, _ = old.issue(sub="p", role=Role.FAMILY, visit="v", now=1000.0, ttl_s=600)
    rotated = TokenService({"k2": b"new-signing-key-0123456789abcdef", "k1": KEYS["k1"]})
    assert rotated.decode(token, 1000.0).sub == "p"
    fresh, _ = rotated.issue(sub="q", role=Role.FAMILY, visit="v", now=1000.0, ttl_s=600)
    assert jwt.get_unverified_header(fresh)["kid"] == "k2"
    with pytest.raises(Unauthorized):
        old.decode(fresh, 1000.0)
    with pytest.raises(TokenExpired):
        rotated.decode(token, 1000.0 + 700)


def test_visit_tokens_need_a_visit() -> None:
    with pytest.raises(ValueError):
        TokenService(KEYS).issue(sub="p", role=Role.FAMILY, visit="", now=0.0, ttl_s=60)


def test_every_visit_token_ends_with_its_visit_plus_grace() -> None:
    """A link's, a seat's and a monitor's token all come from one issuer, scoped to the visit's
    facility and cut back to its end plus grace, however early they are issued."""
    tokens = TokenService(KEYS)
    for now in (VISIT.start - 3600, VISIT.start, VISIT.end - 1):
        token, claims = issue_visit_token(
            tokens, VISIT, sub="p_1", role=Role.FAMILY, now=now, grace_s=60, visitor="vis_1"
        )
        assert claims.exp == VISIT.end + 60
        decoded = tokens.decode(token, now)
        assert (decoded.visit, decoded.facility, decoded.visitor) == ("v_1", "f_1", "vis_1")
