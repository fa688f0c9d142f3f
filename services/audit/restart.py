"""What a node does at start with events that no checkpoint covers.

A stopped node signs its head, so events after the last genuine checkpoint at start come from a
crash (or a hand). The node cannot vouch for them, yet signs its head from now on, and that
checkpoint covers them too. So before signing anything it appends an ``audit-unsigned-tail``
event naming that run: the log itself then says that those events were signed only after a
restart, and an auditor knows to weigh them (and any witness's earlier heads) accordingly.

Only a store that is alone on the file may say so: while another process (the CLI beside a
running node) holds the file open, its unsigned events are simply not yet due. Every open store
holds a shared ``flock`` on ``<db>.open``; the kernel drops it when the process dies, even by
SIGKILL, so whoever gets it exclusively at start knows that nobody else is writing.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from services.audit.chain import AuditEvent
from services.audit.signing import Signer
from services.ids import SYSTEM_ROLE, Actor
from services.store.sqlite.chain_head import BogusRows, Chain

UNSIGNED_TAIL_ACTION = "audit-unsigned-tail"
RESTART_ACTOR = Actor(SYSTEM_ROLE, "restart")  # the node's own action, as the upgrade's pins are


def record_unsigned_tail(
    conn: sqlite3.Connection, signer: Signer, now: Callable[[], float], bogus: BogusRows
) -> int | None:
    """Append and sign the record of an unsigned tail left by the last run, if there is one;
    the record's seq, else None."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        chain = Chain.at_head(conn, now, signer, bogus=bogus)
        if chain.seq <= chain.signed_seq:
            conn.execute("COMMIT")
            return None
        first, last = chain.signed_seq + 1, chain.seq
        (record,) = chain.append(
            conn,
            [
                AuditEvent(
                    UNSIGNED_TAIL_ACTION,
                    *RESTART_ACTOR,
                    details={
                        "from_seq": first,
                        "to_seq": last,
                        "why": "no checkpoint covered these events when the node started"
                        " (a crash, or a"
                        " hand); they are signed only now",
                    },
                )
            ],
        )
        chain.checkpoint(conn)
        conn.execute("COMMIT")
        return record.seq
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


class OpenLock:
    """This process's share of ``<db>.open`` for as long as its store is open; ``alone`` says
    whether no other process held the file open when it was taken."""

    def __init__(self, db: Path) -> None:
        self._fd: int | None = os.open(f"{db}.open", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.alone = True
        except BlockingIOError:
            self.alone = False
        fcntl.flock(self._fd, fcntl.LOCK_SH)  # waits while another store checks the same way

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None
