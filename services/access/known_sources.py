"""Where an account logged in from before: its recent addresses, and "known device" cookies.

A stranger cannot become known: only a right password makes a source known, for that account
only. The login throttle (services.access.logins) lets known sources past the account's backoff, so
guesses from anywhere else cannot lock an officer out of their usual desk.

- **Addresses** (counted as services.addresses.limit_key says) are remembered in memory for
  ``known_for_s`` after the last successful login, at most ``limit`` pairs, the stalest forgotten
  first. Only logins add pairs, so a flood of guesses cannot push an officer's address out.
- **Device cookies** follow the officer's browser to another address (a new DHCP lease, the
  mobile network). The value is ``device.issued.mac``: a random device id, the time it was
  issued, and an HMAC over both and the account. Nothing is stored: the MAC proves that this
  node issued it for this account, and it is good for ``known_for_s`` after it was issued. The
  cookie is HttpOnly and SameSite=Strict, and is sent to the login route only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import OrderedDict

DEVICE_COOKIE = "tatap_device"
COOKIE_PATH = "/api/v1/auth"
MAX_COOKIE_CHARS = 128  # ours are about 70; a longer one is not looked at
# device.issued.mac as we write them (ASCII only: a cookie is the client's to forge, and a non-ASCII
# or odd digit must be refused here, not raise in the comparison or in int()).
_COOKIE = re.compile(r"([A-Za-z0-9_-]{1,32})\.([0-9]{1,12})\.([0-9a-f]{32})", re.ASCII)


class KnownSources:
    def __init__(self, key: bytes, known_for_s: float, limit: int) -> None:
        # Derived, so the token key itself never signs anything but tokens.
        self._key = hmac.new(key, b"tatap known device", hashlib.sha256).digest()
        self._for = known_for_s
        self._limit = limit
        self._addresses: OrderedDict[tuple[str, str], float] = OrderedDict()

    def address_known(self, account: str, address: str, now: float) -> bool:
        at = self._addresses.get((account, address))
        return at is not None and now - at < self._for

    def device(self, account: str, cookie: str, now: float) -> str:
        """The device id of a valid cookie issued for ``account``, or ""."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS:
            return ""
        parts = _COOKIE.fullmatch(cookie)
        if parts is None:
            return ""
        device, issued, mac = parts.groups()
        if not hmac.compare_digest(mac, self._mac(account, device, issued)):
            return ""
        age = now - int(issued)
        return device if -60 <= age < self._for else ""  # a minute of clock skew

    def remember(self, account: str, address: str, device: str, now: float) -> str:
        """A successful login from ``address``: remember it, and return the device cookie's
        value (a new device id unless this browser already had a valid one)."""
        key = (account, address)
        self._addresses.pop(key, None)
        self._addresses[key] = now
        while len(self._addresses) > self._limit:
            self._addresses.popitem(last=False)
        device = device or secrets.token_urlsafe(12)
        issued = str(int(now))
        return f"{device}.{issued}.{self._mac(account, device, issued)}"

    def _mac(self, account: str, device: str, issued: str) -> str:
        message = f"{account}\n{device}\n{issued}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def __len__(self) -> int:
        return len(self._addresses)
