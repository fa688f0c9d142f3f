"""Staff logins: argon2 password hashes, and a login that is throttled and tells no name apart.

argon2 runs on the login guard's own small pool (it takes ~0.1 s and 64 MiB on purpose); an
unknown name costs the same as a wrong password, so timing does not tell which names exist.
Failures are throttled per source address (or device cookie) and per name
(see ``services.access.logins``).
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.access.logins import LoginGuard
from services.access.tokens import TokenService
from services.clock import Clock
from services.domain.model import Staff
from services.errors import Unauthorized
from services.store.protocols import Store

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of a staff password, with its own salt and parameters."""
    return _hasher.hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches; a malformed stored hash matches nothing."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    """What an unknown name's password is checked against, so that it costs what a wrong password
    costs. Made on first use: hashing takes ~0.1 s and 64 MiB, which no other command should pay."""
    return _hasher.hash("not-a-password-of-anyone")


def _check_unknown(password: str) -> bool:
    """A login for a name nobody has: as slow as a wrong password (on the password pool's
    threads, like every check), and always refused."""
    check_password(_dummy_hash(), password)
    return False


class StaffLogin:
    """Username and password in, a staff token out."""

    def __init__(
        self,
        store: Store,
        tokens: TokenService,
        clock: Clock,
        ttl_s: int = 8 * 3600,
        logins: LoginGuard | None = None,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._clock = clock
        self._ttl = ttl_s
        self.logins = logins or LoginGuard()

    async def login(
        self, username: str, password: str, source: str = "", device: str = ""
    ) -> tuple[str, Staff, str]:
        """A staff token for a right password, and the "known device" cookie value to set."""
        who = self.logins.source(username, source, device, self._clock.now())
        self.logins.admit(username, who, self._clock.now())
        staff = await self._store.get_staff_by_username(username)
        if staff is None:
            ok = await self.logins.check(who, _check_unknown, password)
        else:
            ok = await self.logins.check(who, check_password, staff.password_hash, password)
        if staff is None or not ok:
            self.logins.failed(username, who, self._clock.now())
            raise Unauthorized("wrong username or password")
        cookie = self.logins.succeeded(username, who, self._clock.now())
        token, _ = self._tokens.issue(
            sub=staff.id,
            role=staff.role,
            visit="",
            now=self._clock.now(),
            ttl_s=self._ttl,
            facility=staff.facility_id or "",
            facilities=staff.facilities,
        )
        return token, staff, cookie
