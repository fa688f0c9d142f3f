"""The embedded store: one SQLite file in WAL mode with ``synchronous=FULL``.

Writes go through the group-commit writer thread; reads through a second connection on a reader
thread (WAL lets it read while the writer writes). Other processes (the CLI) may write the same
file: ``BEGIN IMMEDIATE`` serialises them, and the audit chain head is read inside each write
transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import orjson

from services.access.revocation import Key, NewRevocation, Revocation, RevocationKind
from services.audit.anchor import Anchor
from services.audit.chain import AuditEvent, AuditRecord, Checkpoint, PinnedKey, VerifyResult
from services.audit.keys import insert_pin, pin_event, trust_first_key
from services.audit.query import AuditQuery
from services.audit.restart import OpenLock, record_unsigned_tail
from services.audit.signing import Signer
from services.audit.upgrade import pin_legacy_keys
from services.domain.model import (
    VISIT_TRANSITIONS,
    EndReason,
    Facility,
    FacilityId,
    FacilityRules,
    Inmate,
    InmateId,
    Participant,
    ParticipantId,
    Role,
    Room,
    RoomId,
    Staff,
    StaffId,
    Terminal,
    TerminalId,
    Visit,
    VisitId,
    VisitKind,
    Visitor,
    VisitorId,
    VisitStatus,
)
from services.errors import Conflict, NotFound
from services.store.protocols import VisitChange
from services.store.sqlite.audit import (
    audit_checkpoints,
    audit_keys,
    audit_search,
    facility_events,
    verify_file,
)
from services.store.sqlite.migrations import STEPS
from services.store.sqlite.writer import CHECKPOINT_INTERVAL_S, BogusRows, Chain, GroupCommitWriter

T = TypeVar("T")
VISIT_COLS = (
    "id, code, facility_id, room_id, terminal_id, inmate_id, kind, status, start_ms, end_ms,"
    " started_ms, ended_ms, end_reason"
)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version reached."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        version = row[0] or 0
        for number, script in enumerate(STEPS[version:], start=version + 1):
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(STEPS)


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


def _add_revocation(
    conn: sqlite3.Connection,
    chain: Chain,
    kind: RevocationKind,
    subject: str,
    exp: float | None,
    event: AuditEvent,
) -> Revocation:
    # A lifted revocation (an account enabled again) is replaced: a new seq, so that every node's
    # poll closes the sockets again, and a new time, which every token issued so far predates.
    conn.execute(
        "DELETE FROM revocations WHERE kind = ? AND subject = ? AND lifted_ms IS NOT NULL",
        (kind.value, subject),
    )
    cur = conn.execute(
        "INSERT OR IGNORE INTO revocations (kind, subject, ts_ms, exp_ms) VALUES (?, ?, ?, ?)",
        (kind.value, subject, _ms(chain.now()), _ms(exp)),
    )
    if cur.rowcount:  # a repeated revocation changes nothing and logs nothing
        chain.append(conn, [event])
    row = conn.execute(
        "SELECT seq FROM revocations WHERE kind = ? AND subject = ?", (kind.value, subject)
    ).fetchone()
    return Revocation(row[0], kind, subject)


def _ms(t: float | None) -> int | None:
    return None if t is None else int(round(t * 1000))


def _s(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


class SqliteStore:
    def __init__(
        self,
        path: Path,
        signer: Signer,
        now: Callable[[], float],
        data_dir: Path,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._data_dir = data_dir
        self._now = now
        bogus = BogusRows()  # one report per bogus checkpoint row for this store's life
        conn = connect(path)
        try:
            migrate(conn)
            pin_legacy_keys(conn, data_dir, signer, now)
            trust_first_key(conn, signer, int(now() * 1000))
            self._open_lock = OpenLock(path)
            if self._open_lock.alone:  # else the other process's tail is not yet due, not lost
                record_unsigned_tail(conn, signer, now, bogus)
        finally:
            conn.close()
        self._writer = GroupCommitWriter(
            lambda: connect(path), signer, now, checkpoint_interval_s, bogus
        )
        self._reader_conn = connect(path)
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-reader")
        self._closed = False

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._writer.close)
        self._reader.shutdown(wait=True)
        self._reader_conn.close()
        self._open_lock.close()

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, fn, self._reader_conn)

    async def _write(self, fn: Callable[[sqlite3.Connection, Chain], T]) -> T:
        return await self._writer.run(fn)

    # ---- administration -------------------------------------------------------------------

    async def add_facility(self, facility: Facility, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO facilities (id, name, timezone, rules) VALUES (?,?,?,?)",
                (
                    facility.id,
                    facility.name,
                    facility.timezone,
                    orjson.dumps(facility.rules.to_json()).decode(),
                ),
            )
            chain.append(conn, [event])

        await self._write(_translate(job))

    async def get_facility(self, facility_id: str) -> Facility | None:
        def q(conn: sqlite3.Connection) -> Facility | None:
            row = conn.execute(
                "SELECT id, name, timezone, rules FROM facilities WHERE id = ?", (facility_id,)
            ).fetchone()
            if row is None:
                return None
            rules = FacilityRules.from_json(orjson.loads(row[3]))
            return Facility(FacilityId(row[0]), row[1], row[2], rules)

        return await self._read(q)

    async def add_room(self, room: Room, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO rooms (id, facility_id, name) VALUES (?,?,?)",
                (room.id, room.facility_id, room.name),
            )
            chain.append(conn, [event])

        await self._write(_translate(job))

    async def get_room(self, room_id: str) -> Room | None:
        def q(conn: sqlite3.Connection) -> Room | None:
            row = conn.execute(
                "SELECT id, facility_id, name FROM rooms WHERE id = ?", (room_id,)
            ).fetchone()
            return Room(RoomId(row[0]), FacilityId(row[1]), row[2]) if row else None

        return await self._read(q)

    async def add_terminal(self, terminal: Terminal, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO terminals (id, facility_id, room_id, name, secret_hash)"
                " VALUES (?,?,?,?,?)",
                (
                    terminal.id,
                    terminal.facility_id,
                    terminal.room_id,
                    terminal.name,
                    terminal.secret_hash,
                ),
            )
            chain.append(conn, [event])

        await self._write(_translate(job))

    async def get_terminal(self, terminal_id: str) -> Terminal | None:
        def q(conn: sqlite3.Connection) -> Terminal | None:
            row = conn.execute(
                "SELECT id, facility_id, room_id, name, secret_hash FROM terminals WHERE id = ?",
                (terminal_id,),
            ).fetchone()
            if row is None:
                return None
            return Terminal(TerminalId(row[0]), FacilityId(row[1]), RoomId(row[2]), row[3], row[4])

        return await self._read(q)

    async def add_staff(self, staff: Staff, event: AuditEvent) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO staff (id, username, role, password_hash, facility_id)"
                " VALUES (?,?,?,?,?)",
                (
                    staff.id,
                    staff.username,
                    staff.role.value,
                    staff.password_hash,
                    staff.facility_id,
                ),
            )
            chain.append(conn, [event])

        await self._write(_translate(job))

    async def get_staff_by_username(self, username: str) -> Staff | None:
        def q(conn: sqlite3.Connection) -> Staff | None:
            row = conn.execute(
                "SELECT id, username, role, password_hash, facility_id FROM staff"
                " WHERE username = ?",
                (username,),
            ).fetchone()
            if row is None:
                return None
            fac = FacilityId(row[4]) if row[4] else None
            return Staff(StaffId(row[0]), row[1], Role(row[2]), row[3], fac)

        return await self._read(q)

    async def add_inmates(self, inmates: Sequence[Inmate], event: AuditEvent) -> int:
        def job(conn: sqlite3.Connection, chain: Chain) -> int:
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO inmates (id, facility_id, number, name, block) VALUES (?,?,?,?,?)"
                " ON CONFLICT (facility_id, number) DO UPDATE SET name = excluded.name,"
                " block = excluded.block",
                [(i.id, i.facility_id, i.number, i.name, i.block) for i in inmates],
            )
            count = conn.total_changes - before
            chain.append(conn, [event])
            return count

        return await self._write(_translate(job))

    async def get_inmate(self, inmate_id: str) -> Inmate | None:
        return await self._read(lambda c: _inmate(c, "id = ?", (inmate_id,)))

    async def find_inmate(self, facility_id: str, number: str) -> Inmate | None:
        return await self._read(
            lambda c: _inmate(c, "facility_id = ? AND number = ?", (facility_id, number))
        )

    async def add_visitor(self, visitor: Visitor) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            conn.execute(
                "INSERT INTO visitors (id, name, nik, phone, relationship, priority)"
                " VALUES (?,?,?,?,?,?)",
                (
                    visitor.id,
                    visitor.name,
                    visitor.nik,
                    visitor.phone,
                    visitor.relationship,
                    int(visitor.priority),
                ),
            )

        await self._write(_translate(job))

    async def get_visitor(self, visitor_id: str) -> Visitor | None:
        def q(conn: sqlite3.Connection) -> Visitor | None:
            row = conn.execute(
                "SELECT id, name, nik, phone, relationship, priority FROM visitors WHERE id = ?",
                (visitor_id,),
            ).fetchone()
            if row is None:
                return None
            return Visitor(VisitorId(row[0]), row[1], row[2], row[3], row[4], bool(row[5]))

        return await self._read(q)

    # ---- visits ---------------------------------------------------------------------------

    async def add_visit(
        self, visit: Visit, link_hashes: dict[str, str], events: Sequence[AuditEvent]
    ) -> None:
        def job(conn: sqlite3.Connection, chain: Chain) -> None:
            clash = conn.execute(
                "SELECT id FROM visits WHERE terminal_id = ? AND status IN"
                " ('approved', 'scheduled', 'live') AND start_ms < ? AND end_ms > ? LIMIT 1",
                (visit.terminal_id, _ms(visit.end), _ms(visit.start)),
            ).fetchone()
            if clash:
                raise Conflict("the terminal is already booked at that time", visit=clash[0])
            conn.execute(
                f"INSERT INTO visits ({VISIT_COLS}, created_ms)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    visit.id,
                    visit.code,
                    visit.facility_id,
                    visit.room_id,
                    visit.terminal_id,
                    visit.inmate_id,
                    visit.kind.value,
                    visit.status.value,
                    _ms(visit.start),
                    _ms(visit.end),
                    None,
                    None,
                    None,
                    _ms(chain.now()),
                ),
            )
            conn.executemany(
                "INSERT INTO participants (id, visit_id, role, name, visitor_id, link_hash)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (p.id, visit.id, p.role.value, p.name, p.visitor_id, link_hashes.get(p.id))
                    for p in visit.participants
                ],
            )
            chain.append(conn, list(events))

        await self._write(_translate(job))

    async def get_visit(self, visit_id: str) -> Visit | None:
        return await self._read(lambda c: _visit_where(c, "id = ?", (visit_id,)))

    async def find_link(self, link_hash: str) -> tuple[Visit, Participant] | None:
        def q(conn: sqlite3.Connection) -> tuple[Visit, Participant] | None:
            row = conn.execute(
                "SELECT visit_id, id FROM participants WHERE link_hash = ?", (link_hash,)
            ).fetchone()
            if row is None:
                return None
            visit = _visit_where(conn, "id = ?", (row[0],))
            part = visit.participant(row[1]) if visit else None
            return (visit, part) if visit and part else None

        return await self._read(q)

    async def find_participant(self, participant_id: str) -> tuple[Visit, Participant] | None:
        def q(conn: sqlite3.Connection) -> tuple[Visit, Participant] | None:
            row = conn.execute(
                "SELECT visit_id FROM participants WHERE id = ?", (participant_id,)
            ).fetchone()
            visit = _visit_where(conn, "id = ?", (row[0],)) if row else None
            part = visit.participant(participant_id) if visit else None
            return (visit, part) if visit and part else None

        return await self._read(q)

    async def terminal_visit(
        self, terminal_id: TerminalId, now: float, early_s: float
    ) -> Visit | None:
        return await self._read(
            lambda c: _visit_where(
                c,
                "terminal_id = ? AND status IN ('scheduled', 'live') AND start_ms <= ?"
                " AND end_ms > ? ORDER BY start_ms LIMIT 1",
                (terminal_id, _ms(now + early_s), _ms(now)),
            )
        )

    async def next_terminal_visit(self, terminal_id: TerminalId, now: float) -> Visit | None:
        return await self._read(
            lambda c: _visit_where(
                c,
                "terminal_id = ? AND status = 'scheduled' AND end_ms > ? ORDER BY start_ms LIMIT 1",
                (terminal_id, _ms(now)),
            )
        )

    async def due_visit_ids(self, now: float, horizon_s: float) -> list[str]:
        def q(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT id FROM visits WHERE status IN ('scheduled', 'live') AND start_ms <= ?",
                (_ms(now + horizon_s),),
            )
            return [r[0] for r in rows]

        return await self._read(q)

    async def change_visit(self, change: VisitChange, events: Sequence[AuditEvent]) -> Visit:
        def job(conn: sqlite3.Connection, chain: Chain) -> Visit:
            current = _visit_where(conn, "id = ?", (change.visit_id,))
            if current is None:
                raise NotFound("no such visit")
            if current.status not in change.expect:
                raise Conflict(f"visit is {current.status.value}", status=current.status.value)
            if change.to not in VISIT_TRANSITIONS[current.status]:
                raise Conflict(f"visit cannot go from {current.status.value} to {change.to.value}")
            at = _ms(change.at)
            if change.to is VisitStatus.LIVE:
                conn.execute(
                    "UPDATE visits SET status = ?, started_ms = ? WHERE id = ?",
                    (change.to.value, at, change.visit_id),
                )
            elif change.to in (VisitStatus.ENDED, VisitStatus.CANCELLED):
                reason = change.reason.value if change.reason else None
                conn.execute(
                    "UPDATE visits SET status = ?, ended_ms = ?, end_reason = ? WHERE id = ?",
                    (change.to.value, at, reason, change.visit_id),
                )
            else:
                conn.execute(
                    "UPDATE visits SET status = ? WHERE id = ?", (change.to.value, change.visit_id)
                )
            chain.append(conn, list(events))
            updated = _visit_where(conn, "id = ?", (change.visit_id,))
            assert updated is not None
            return updated

        return await self._write(_translate(job))

    # ---- revocations ----------------------------------------------------------------------

    async def revoke(self, jti: str, exp: float, event: AuditEvent) -> None:
        await self.add_revocation(RevocationKind.TOKEN, jti, exp, event)

    async def is_revoked(self, jti: str) -> bool:
        return await self.find_revocation(((RevocationKind.TOKEN, jti),)) is not None

    async def add_revocation(
        self, kind: RevocationKind, subject: str, exp: float | None, event: AuditEvent
    ) -> Revocation:
        return (await self.add_revocations([(kind, subject, exp, event)]))[0]

    async def add_revocations(self, new: Sequence[NewRevocation]) -> list[Revocation]:
        def job(conn: sqlite3.Connection, chain: Chain) -> list[Revocation]:
            return [_add_revocation(conn, chain, *one) for one in new]

        return await self._write(job)

    async def find_revocation(
        self, keys: Sequence[Key], issued_at: float | None = None
    ) -> Revocation | None:
        def q(conn: sqlite3.Connection) -> Revocation | None:
            where = " OR ".join(["(kind = ? AND subject = ?)"] * len(keys))
            args: list[object] = [v for kind, subject in keys for v in (kind.value, subject)]
            if issued_at is None:
                holds = "lifted_ms IS NULL"
            else:
                # A lifted revocation (a staff account enabled again) still refuses every token
                # issued before the lift, those minted while disabled included (a monitor token
                # in the race with the disable): no honest token is issued while disabled.
                holds = "(lifted_ms IS NULL OR lifted_ms > ?)"
                args.append(_ms(issued_at))
            row = conn.execute(
                f"SELECT seq, kind, subject FROM revocations WHERE ({where}) AND {holds}"
                " ORDER BY seq LIMIT 1",
                args,
            ).fetchone()
            return Revocation(row[0], RevocationKind(row[1]), row[2]) if row else None

        return await self._read(q) if keys else None

    async def lift_revocation(self, kind: RevocationKind, subject: str, event: AuditEvent) -> bool:
        def job(conn: sqlite3.Connection, chain: Chain) -> bool:
            cur = conn.execute(
                "UPDATE revocations SET lifted_ms = ?"
                " WHERE kind = ? AND subject = ? AND lifted_ms IS NULL",
                (_ms(chain.now()), kind.value, subject),
            )
            if cur.rowcount:
                chain.append(conn, [event])
            return bool(cur.rowcount)

        return await self._write(job)

    async def revocations_after(self, seq: int, limit: int = 1000) -> list[Revocation]:
        def q(conn: sqlite3.Connection) -> list[Revocation]:
            rows = conn.execute(
                "SELECT seq, kind, subject FROM revocations WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            )
            return [Revocation(r[0], RevocationKind(r[1]), r[2]) for r in rows]

        return await self._read(q)

    async def revocation_head(self) -> int:
        def q(conn: sqlite3.Connection) -> int:
            # AUTOINCREMENT's counter, not max(seq): pruning the newest row must not move the
            # head back, or a node starting now would re-apply revocations already applied.
            sql = "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'revocations'"
            return int(conn.execute(sql).fetchone()[0])

        return await self._read(q)

    async def prune_revocations(self, expired_before: float, limit: int) -> int:
        def job(conn: sqlite3.Connection, chain: Chain) -> int:
            cur = conn.execute(
                "DELETE FROM revocations WHERE seq IN (SELECT seq FROM revocations"
                " WHERE kind = 'token' AND exp_ms < ? ORDER BY exp_ms LIMIT ?)",
                (_ms(expired_before), limit),
            )
            return cur.rowcount

        return await self._write(job)

    # ---- audit ----------------------------------------------------------------------------

    async def append(self, events: Sequence[AuditEvent]) -> list[AuditRecord]:
        batch = list(events)
        return await self._write(lambda conn, chain: chain.append(conn, batch))

    async def audit_search(self, query: AuditQuery) -> list[AuditRecord]:
        return await self._read(lambda c: audit_search(c, query))

    async def audit_verify(
        self,
        facility_id: str = "",
        *,
        live: bool = True,
        witnessed: Sequence[tuple[int, str]] = (),
        anchors: Sequence[Anchor] = (),
    ) -> VerifyResult:
        result = await asyncio.to_thread(
            verify_file,
            self._path,
            self._data_dir,
            live=live,
            witnessed=witnessed,
            anchors=anchors,
            now=self._now,
        )
        if not facility_id:
            return result
        return replace(result, events=await self._read(lambda c: facility_events(c, facility_id)))

    async def audit_checkpoints(self, after_seq: int, limit: int) -> list[tuple[Checkpoint, int]]:
        return await self._read(lambda c: audit_checkpoints(c, after_seq, limit))

    async def audit_keys(self) -> list[PinnedKey]:
        return await self._read(audit_keys)


def pin_signing_key(path: Path, signer: Signer, now: Callable[[], float], reason: str) -> int:
    """Pin ``signer``'s key on purpose: an ``audit-key-pinned`` event, the key trusted from that
    event on, and a checkpoint over it signed by that key. Returns the event's seq."""
    conn = connect(path)
    try:
        migrate(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute(
                "SELECT 1 FROM audit_keys WHERE key_id = ?", (signer.key_id,)
            ).fetchone():
                raise Conflict(f"key {signer.key_id} is pinned already")
            chain = Chain.at_head(conn, now, signer)
            (record,) = chain.append(conn, [pin_event(signer, "cli", reason)])
            insert_pin(conn, signer, record.seq, int(now() * 1000))
            chain.checkpoint(conn)
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        return record.seq
    finally:
        conn.close()


def _translate(job: Callable[[sqlite3.Connection, Chain], T]) -> Callable[..., T]:
    """Turn constraint violations into a Conflict the edge can answer with."""

    def wrapped(conn: sqlite3.Connection, chain: Chain) -> T:
        try:
            return job(conn, chain)
        except sqlite3.IntegrityError as exc:
            raise Conflict("that record exists already or refers to a missing one") from exc

    return wrapped


def _inmate(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> Inmate | None:
    row = conn.execute(
        f"SELECT id, facility_id, number, name, block FROM inmates WHERE {where}", args
    ).fetchone()
    return Inmate(InmateId(row[0]), FacilityId(row[1]), row[2], row[3], row[4]) if row else None


def _visit_where(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> Visit | None:
    row = conn.execute(f"SELECT {VISIT_COLS} FROM visits WHERE {where}", args).fetchone()
    if row is None:
        return None
    parts = tuple(
        Participant(
            ParticipantId(p[0]),
            VisitId(row[0]),
            Role(p[1]),
            p[2],
            VisitorId(p[3]) if p[3] else None,
        )
        for p in conn.execute(
            "SELECT id, role, name, visitor_id FROM participants WHERE visit_id = ? ORDER BY rowid",
            (row[0],),
        )
    )
    return Visit(
        id=VisitId(row[0]),
        code=row[1],
        facility_id=FacilityId(row[2]),
        room_id=RoomId(row[3]),
        terminal_id=TerminalId(row[4]),
        inmate_id=InmateId(row[5]),
        kind=VisitKind(row[6]),
        status=VisitStatus(row[7]),
        start=row[8] / 1000,
        end=row[9] / 1000,
        started_at=_s(row[10]),
        ended_at=_s(row[11]),
        end_reason=EndReason(row[12]) if row[12] else None,
        participants=parts,
    )
