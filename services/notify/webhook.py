"""The webhook way out: a signed JSON POST to a WhatsApp or SMS gateway.

Body: ``{"id", "event", "visit_id", "phone", "text", "link"}`` (``text`` is the whole message,
its link included; ``link`` is the link alone, or null). ``id`` is the outbox id and also goes in
``Idempotency-Key``: a retry after a lost answer carries the same one, so the gateway can drop
the copy. The signature (docs/notifications.md shows a gateway verifying it):

    X-Tatap-Timestamp: <unix seconds>
    X-Tatap-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

Any 2xx answer is a delivery; anything else (another status, a timeout, a refused connection)
is a failed attempt, tried again later by the notifier.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import aiohttp
import orjson

from services.errors import ConfigError

SIGNATURE_HEADER = "X-Tatap-Signature"
TIMESTAMP_HEADER = "X-Tatap-Timestamp"
VERSION = "v1"
TOLERANCE_S = 300  # how old a signed request a gateway should still take
MAX_ERROR = 120  # of an error, as the outbox keeps it for officers


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as the gateway gets it."""

    id: str
    event: str
    visit_id: str
    phone: str
    text: str
    link: str | None

    def body(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "event": self.event,
                "visit_id": self.visit_id,
                "phone": self.phone,
                "text": self.text,
                "link": self.link,
            }
        )


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Tatap-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"{VERSION}={mac.hexdigest()}"


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, now: float) -> bool:
    """What a gateway checks: the signature matches, and the request is recent."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > TOLERANCE_S:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)


class WebhookSender:
    """POSTs deliveries to one URL; ``send`` answers None on success, else why it failed."""

    def __init__(self, url: str, secret: bytes, timeout_s: float) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError("the notification webhook URL must be http:// or https://")
        if len(secret) < 16:
            raise ConfigError("the notification webhook secret must be 16+ chars")
        self._url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, delivery: Delivery, now: float) -> str | None:
        """Deliver once; None when the gateway answered 2xx, else a short reason."""
        if self._session is None:
            # Made on first use, inside the running loop; no cookies kept between messages.
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        body = delivery.body()
        stamp = int(now)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.id,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(self._secret, stamp, body),
        }
        try:
            async with self._session.post(
                self._url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                await resp.content.readany()  # a little, so the connection can be reused
                if 200 <= resp.status < 300:
                    return None
                return f"HTTP {resp.status}"
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientError as exc:
            # Our own words: the exception's text may quote what the other end sent.
            return type(exc).__name__[:MAX_ERROR]

    async def aclose(self) -> None:
        """Close the connections (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
