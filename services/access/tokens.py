"""Tokens: short-lived JWTs scoped to one visit, one participant and one role.

HS256 only (pinned on decode, so ``alg: none`` or an RS/HS confusion is refused); ``kid`` names
the signing key so keys rotate without logging anyone out; every token has a revocable ``jti``.
Staff tokens (officer, auditor, admin) carry no visit; an officer's monitor token names one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import jwt

from services.domain.model import STAFF_ROLES, Role
from services.errors import TokenExpired, Unauthorized

ALGORITHM = "HS256"
ISSUER = "tatap"
LEEWAY_S = 5
MAX_FACILITIES = 100  # a region's facilities in a token; more is a forged or broken token


@dataclass(frozen=True, slots=True)
class Claims:
    sub: str  # participant id, terminal id or staff id
    role: Role
    visit: str  # "" for staff tokens
    jti: str
    exp: float
    facility: str = ""
    visitor: str = ""  # the registered visitor behind a guest's seat, if any (a revocable person)
    iat: float = 0.0  # issued at: tokens issued before a staff account is enabled stay refused
    facilities: tuple[str, ...] = ()  # a regional auditor's facilities (``facility`` is "")


class TokenService:
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self._keys = dict(keys)
        self._kid = next(iter(keys))

    def issue(
        self,
        *,
        sub: str,
        role: Role,
        visit: str,
        now: float,
        ttl_s: float,
        not_after: float | None = None,
        facility: str = "",
        visitor: str = "",
        facilities: tuple[str, ...] = (),
    ) -> tuple[str, Claims]:
        """A token for ``ttl_s`` seconds, cut back to ``not_after`` (visit end + grace)."""
        if not visit and role not in STAFF_ROLES:
            raise ValueError(f"a {role.value} token must name its visit")
        exp = now + ttl_s if not_after is None else min(now + ttl_s, not_after)
        # Milliseconds (RFC 7519 allows a fraction): whether a token predates the enabling of
        # a staff account is decided on the store's millisecond timestamps.
        iat = round(now, 3)
        jti = secrets.token_urlsafe(12)
        claims = Claims(sub, role, visit, jti, exp, facility, visitor, iat, tuple(facilities))
        payload: dict[str, object] = {
            "iss": ISSUER,
            "sub": sub,
            "role": role.value,
            "visit": visit,
            "fac": facility,
            "jti": claims.jti,
            "iat": iat,
            "exp": int(exp),
        }
        if visitor:  # carried, so that `hello` needs no lookup to check the person's revocation
            payload["vis"] = visitor
        if facilities:
            payload["facs"] = list(facilities)
        token = jwt.encode(payload, self._keys[self._kid], ALGORITHM, headers={"kid": self._kid})
        return token, claims

    def renew(self, claims: Claims, exp: float) -> str:
        """The same token (subject, role, ``jti``, ``iat``) with expiry ``exp``: a staff session
        kept alive by use, revoked as one by its ``jti``, and as old as its first login."""
        if claims.visit or claims.role not in STAFF_ROLES:
            raise ValueError("only a staff token is renewed")
        payload: dict[str, object] = {
            "iss": ISSUER,
            "sub": claims.sub,
            "role": claims.role.value,
            "visit": "",
            "fac": claims.facility,
            "jti": claims.jti,
            "iat": claims.iat,
            "exp": int(exp),
        }
        if claims.facilities:
            payload["facs"] = list(claims.facilities)
        return jwt.encode(payload, self._keys[self._kid], ALGORITHM, headers={"kid": self._kid})

    def decode(self, token: str, now: float | None) -> Claims:
        """Check signature, issuer and expiry against ``now``; revocation is the caller's check.

        ``now=None`` skips the time checks: revoking a token needs only its signature.
        """
        # A JWT is ASCII. Anything else (a header holding latin-1 bytes reaches us as surrogate
        # escapes, which cannot even be encoded back) is refused here, not by a 500 in pyjwt.
        if not isinstance(token, str) or not token or len(token) > 4096 or not token.isascii():
            raise Unauthorized("token missing or malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("token malformed") from exc
        key = self._keys.get(str(header.get("kid", "")))
        if key is None:
            raise Unauthorized("token signed with an unknown key")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "require": ["exp", "iat", "sub", "jti", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized("token invalid") from exc
        # Times are checked against our clock (injectable), not the system's.
        if now is not None and float(payload["exp"]) + LEEWAY_S < now:
            raise TokenExpired("token expired")
        if now is not None and float(payload["iat"]) - LEEWAY_S > now:
            raise Unauthorized("token issued in the future")
        try:
            role = Role(str(payload.get("role")))
        except ValueError as exc:
            raise Unauthorized("token names an unknown role") from exc
        return Claims(
            sub=str(payload["sub"]),
            role=role,
            visit=str(payload.get("visit") or ""),
            jti=str(payload["jti"]),
            exp=float(payload["exp"]),
            facility=str(payload.get("fac") or ""),
            visitor=str(payload.get("vis") or ""),
            iat=float(payload["iat"]),
            facilities=_facilities(payload.get("facs")),
        )


def _facilities(value: object) -> tuple[str, ...]:
    """A token's ``facs``: a short list of ids, or Unauthorized (signed, but not by our rules)."""
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or len(value) > MAX_FACILITIES
        or not all(isinstance(f, str) and 0 < len(f) <= 64 for f in value)
    ):
        raise Unauthorized("token names its facilities wrongly")
    return tuple(value)


MONITOR_PREFIX = "officer:"  # an officer's monitor seat is named after its staff account


def monitor_subject(staff_id: str) -> str:
    """The subject of an officer's monitor token for one visit."""
    return MONITOR_PREFIX + staff_id


def staff_of(claims: Claims) -> str:
    """The staff account behind a token ("" for a family, teacher or terminal token)."""
    if claims.role not in STAFF_ROLES:
        return ""
    return claims.sub.removeprefix(MONITOR_PREFIX) if claims.visit else claims.sub


def new_link_token() -> str:
    """An unguessable family link secret: 256 random bits."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (link tokens, terminal secrets): fast and sufficient,
    since nobody can guess 256 random bits; staff passwords use argon2 instead."""
    return hashlib.sha256(secret.encode()).hexdigest()


__all__ = [
    "Claims",
    "TokenService",
    "hash_secret",
    "monitor_subject",
    "new_link_token",
    "staff_of",
]
