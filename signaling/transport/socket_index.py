"""This node's open sockets by what can revoke them (token id, participant, visitor, staff
account), and the poll that closes them when a revocation is written anywhere (and, once a
minute, prunes token revocations whose token has long expired).

A socket is indexed before its token is checked against the store, so a revocation written while
a `hello` is being admitted is either seen by that check or finds the socket here afterwards.
The poll reads the store (shared by every node and by the CLI), so the same code closes sockets
on every node; a revocation made through this node's API closes its sockets at once as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from services.access.revocation import Key, Revocation, keys_of
from services.access.tokens import Claims
from services.clock import Clock
from services.store.protocols import RevocationStore
from signaling import protocol
from signaling.transport.connection import Connection

log = structlog.get_logger("tatap.revocation")

POLL_BATCH = 1000  # revocations read per poll query; a longer backlog is read in turns
# A token revocation is kept until its token has been expired this long: an expired token is
# refused anyway (5 s leeway), and the margin covers skew between the nodes' clocks.
PRUNE_GRACE_S = 3600.0
PRUNE_EVERY_S = 60.0  # node's clock; every node prunes, so the table shrinks while any node runs
PRUNE_BATCH = 1000  # rows deleted per prune: one write never holds the store for long


class SocketIndex:
    """Open sockets by revocation key; every socket in it is also in ``_keys`` (one entry per
    open socket, so both maps are bounded by the node's connections)."""

    def __init__(self) -> None:
        self._by_key: dict[Key, set[Connection]] = {}
        self._keys: dict[Connection, tuple[Key, ...]] = {}
        self._issued: dict[Connection, float] = {}  # each socket's token's ``iat``
        # Others that hold something a revocation must end (the board's event streams).
        self._listeners: list[Callable[[Revocation], object]] = []

    def listen(self, revoked: Callable[[Revocation], object]) -> None:
        """Call ``revoked`` with every revocation applied here (made here or polled)."""
        self._listeners.append(revoked)

    def add(self, conn: Connection, claims: Claims) -> None:
        self.discard(conn)
        keys = keys_of(claims)
        self._keys[conn] = keys
        self._issued[conn] = claims.iat
        for key in keys:
            self._by_key.setdefault(key, set()).add(conn)

    def discard(self, conn: Connection) -> None:
        self._issued.pop(conn, None)
        for key in self._keys.pop(conn, ()):
            conns = self._by_key.get(key)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self._by_key[key]

    def close_revoked(self, revocation: Revocation) -> int:
        """Tell every socket this revocation shuts out why, and close it; returns how many."""
        for revoked in self._listeners:
            revoked(revocation)
        held = self._by_key.get((revocation.kind, revocation.subject), ())
        # A lifted one (a password reset) spares sockets of tokens issued after it.
        conns = [c for c in held if revocation.shuts_out(self._issued.get(c, 0.0))]
        error = revocation.error
        for conn in conns:
            self.discard(conn)
            conn.send(protocol.error(error.code, error.message))
            conn.close(protocol.close_for(error.code), error.code)
        if conns:
            log.info("ws.revoked", kind=revocation.kind.value, sockets=len(conns))
        return len(conns)


class RevocationWatch:
    """Polls the store for revocations written after the last one applied here."""

    def __init__(
        self, store: RevocationStore, sockets: SocketIndex, interval_s: float, clock: Clock
    ) -> None:
        self._store = store
        self._sockets = sockets
        self._interval = interval_s
        self._clock = clock
        self._seen = 0
        self._pruned_at = float("-inf")

    async def start(self) -> None:
        """Called before the node accepts sockets: older revocations need no closing, since
        every socket opened from now on is checked against them at `hello`."""
        self._seen = await self._store.revocation_head()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)  # a poll period, not a visit's time: real time
            try:
                await self.poll()
                await self.prune()
            except Exception:  # a failed read is retried at the next poll
                log.exception("revocation.poll_failed")

    async def poll(self) -> int:
        """Apply every revocation not applied yet; returns how many sockets were closed."""
        closed = 0
        while True:
            batch = await self._store.revocations_after(self._seen, POLL_BATCH)
            for revocation in batch:
                closed += self._sockets.close_revoked(revocation)
                self._seen = revocation.seq
            if len(batch) < POLL_BATCH:
                return closed

    async def prune(self) -> int:
        """At most once a minute, delete up to PRUNE_BATCH token revocations whose token expired
        over PRUNE_GRACE_S ago; returns how many. Their audit events stay, and the poll is not
        disturbed: seqs are never handed out again and the head is the highest ever given."""
        now = self._clock.now()
        if now - self._pruned_at < PRUNE_EVERY_S:
            return 0
        self._pruned_at = now
        pruned = await self._store.prune_revocations(now - PRUNE_GRACE_S, PRUNE_BATCH)
        if pruned:
            log.info("revocation.pruned", rows=pruned)
        return pruned
