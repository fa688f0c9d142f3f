"""The link exchange and every other visit token: one ``issue_visit_token`` for them all.

A family or teacher holds a link secret (shown once, stored hashed); ``open_link`` trades it for
a token valid until the visit ends plus a grace. The CLI and tests mint a seat's token directly;
an officer's monitor seat gets its own. All three are cut back to the visit's end plus grace.

The family seat of a requested visit has a stable link: its secret is a keyed HMAC of the seat's
participant id (``FamilyLinks``), so a status lookup or a notification can show it again without
storing it or replacing it. The key lives in a file beside the token keys, never in the database:
an insider holding a copy of the database cannot mint a link from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from services.access.tokens import Claims, TokenService, hash_secret, monitor_subject
from services.clock import Clock
from services.domain.model import Participant, Role, Visit, VisitStatus
from services.domain.rules import check_not_in_review, check_not_over
from services.errors import ConfigError, Forbidden, NotFound, Unauthorized
from services.ids import ParticipantId, VisitId
from services.store.protocols import Store

MIN_KEY_BYTES = 16
FAMILY_LINK_CONTEXT = b"tatap/family-link/v1\0"  # the derivation's purpose, so the key serves one


class FamilyLinks:
    """The family seat's link secret, the same every time it is asked for.

    ``secret(p)`` = base64url(HMAC-SHA256(key, context || p)): 256 bits, shaped like
    ``tokens.new_link_token``'s random secrets, so the exchange treats both alike. Approval stores
    its hash; a revoked seat or a cancelled visit is refused by the exchange as before.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(f"the family link key must be {MIN_KEY_BYTES}+ bytes")
        self._key = key

    def secret(self, participant_id: ParticipantId) -> str:
        """The link secret of the family seat ``participant_id``."""
        mac = hmac.new(self._key, FAMILY_LINK_CONTEXT + participant_id.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def url(self, base_url: str, visit: Visit) -> str | None:
        """The family's link to ``visit`` while it can be opened (scheduled), else None."""
        seat = next((p for p in visit.participants if p.role is Role.FAMILY), None)
        if seat is None or visit.status is not VisitStatus.SCHEDULED:
            return None
        return f"{base_url}/v/{self.secret(seat.id)}"


def issue_visit_token(
    tokens: TokenService,
    visit: Visit,
    *,
    sub: str,
    role: Role,
    now: float,
    grace_s: float,
    visitor: str = "",
) -> tuple[str, Claims]:
    """A token for one seat of ``visit``, valid until its end plus ``grace_s``."""
    return tokens.issue(
        sub=sub,
        role=role,
        visit=visit.id,
        now=now,
        ttl_s=max(visit.end - now, 0) + grace_s,
        not_after=visit.end + grace_s,
        facility=visit.facility_id,
        visitor=visitor,
    )


class VisitLinks:
    """Tokens for the seats of visits: from a link, for a known seat, or an officer's monitor;
    ``family`` derives a requested visit's stable family link."""

    def __init__(
        self, store: Store, tokens: TokenService, clock: Clock, grace_s: int, family: FamilyLinks
    ) -> None:
        self.family = family
        self._store = store
        self._tokens = tokens
        self._clock = clock
        self._grace = grace_s

    async def open_link(self, link: str) -> tuple[str, Claims, Visit, Participant]:
        """Exchange a family/teacher link secret for a token valid until the visit's end."""
        if not isinstance(link, str) or not 20 <= len(link) <= 128:
            raise Unauthorized("link invalid")
        found = await self._store.find_link(hash_secret(link))
        if found is None:
            raise Unauthorized("link invalid")
        visit, participant = found
        now = self._clock.now()
        check_not_over(visit, now)
        check_not_in_review(visit)
        token, claims = self._issue(visit, participant)
        return token, claims, visit, participant

    async def participant_token(self, visit: Visit, participant: Participant) -> str:
        """A token for one seat of a visit (the CLI prints these for tests and the terminal)."""
        return self._issue(visit, participant)[0]

    async def monitor_token(self, officer: Claims, visit_id: VisitId) -> str:
        """An officer's receive-only seat in one visit."""
        if officer.role is not Role.OFFICER:
            raise Forbidden("only officers monitor visits")
        visit = await self._store.get_visit(visit_id)
        if visit is None:
            raise NotFound("no such visit")
        now = self._clock.now()
        check_not_over(visit, now)
        token, _ = issue_visit_token(
            self._tokens,
            visit,
            sub=monitor_subject(officer.sub),
            role=Role.OFFICER,
            now=now,
            grace_s=self._grace,
        )
        return token

    def _issue(self, visit: Visit, participant: Participant) -> tuple[str, Claims]:
        return issue_visit_token(
            self._tokens,
            visit,
            sub=participant.id,
            role=participant.role,
            now=self._clock.now(),
            grace_s=self._grace,
            visitor=participant.visitor_id or "",
        )
