"""Administration: facilities, rooms, terminals and their credentials, staff, inmates, visitors.

Used by ``tatap admin`` and ``tatap demo``; every change is written with its audit event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from services.access.staff import hash_password
from services.access.terminals import TerminalCredentials, new_terminal_secret
from services.access.tokens import MAX_FACILITIES, hash_secret
from services.admin.roster import RosterRow, columns_of, first_error, guess_columns, parse_rows
from services.admin.sheets import read_csv
from services.audit.chain import AuditEvent
from services.booking.scheduling import new_id
from services.domain.model import (
    STAFF_ROLES,
    Facility,
    FacilityRules,
    Inmate,
    Role,
    Room,
    Staff,
    Terminal,
    Visitor,
)
from services.domain.pii import mask, valid_nik
from services.errors import BadRequest, NotFound
from services.ids import (
    CLI_ACTOR,
    Actor,
    FacilityId,
    InmateId,
    RoomId,
    StaffId,
    TerminalId,
    VisitorId,
)
from services.store.protocols import FacilityStore, InmatesImported


class Admin:
    """Provisioning commands; each change is audited as done by ``actor``."""

    def __init__(self, store: FacilityStore, actor: Actor = CLI_ACTOR) -> None:
        self._store = store
        self._actor = actor

    def _event(self, action: str, facility: str, details: dict[str, object]) -> AuditEvent:
        return AuditEvent(action, self._actor.role, self._actor.id, facility, "", details)

    async def facility(
        self,
        name: str,
        timezone: str = "Asia/Jakarta",
        rules: FacilityRules | None = None,
        facility_id: str | None = None,
    ) -> Facility:
        facility = Facility(
            FacilityId(facility_id or new_id("f")), name, timezone, rules or FacilityRules()
        )
        await self._store.add_facility(
            facility, self._event("facility-created", facility.id, {"name": name})
        )
        return facility

    async def room(self, facility_id: str, name: str, room_id: str | None = None) -> Room:
        if await self._store.get_facility(facility_id) is None:
            raise NotFound("no such facility")
        room = Room(RoomId(room_id or new_id("r")), FacilityId(facility_id), name)
        event = self._event("room-created", facility_id, {"room": room.id})
        await self._store.add_room(room, event)
        return room

    async def terminal(
        self,
        room_id: str,
        name: str,
        server: str,
        terminal_id: str | None = None,
        credentials: Path | None = None,
    ) -> tuple[Terminal, TerminalCredentials]:
        """A new terminal and its credentials; with ``credentials``, the file is written first
        (never over an existing one) and removed again if the terminal cannot be stored, so a
        terminal never exists without its file nor a file without its terminal."""
        room = await self._store.get_room(room_id)
        if room is None:
            raise NotFound("no such room")
        secret = new_terminal_secret()
        terminal = Terminal(
            TerminalId(terminal_id or new_id("t")),
            room.facility_id,
            room.id,
            name,
            hash_secret(secret),
        )
        event = self._event("terminal-created", room.facility_id, {"terminal": terminal.id})
        creds = TerminalCredentials(server, terminal.id, secret)
        if credentials is not None:
            creds.write(credentials, exclusive=True)
        try:
            await self._store.add_terminal(terminal, event)
        except BaseException:
            if credentials is not None:
                credentials.unlink(missing_ok=True)  # noqa: ASYNC240 (one tiny local file)
            raise
        return terminal, creds

    async def staff(
        self,
        username: str,
        role: Role,
        password: str,
        facility_id: str | None = None,
        facilities: Sequence[str] = (),
    ) -> Staff:
        """A staff account. A regional auditor names its region's facilities (and no single
        one); every other role has one facility or, with none, all of them."""
        if role not in STAFF_ROLES:
            raise BadRequest(
                "staff role must be one of: " + ", ".join(sorted(r.value for r in STAFF_ROLES))
            )
        region = tuple(sorted(set(facilities)))
        if role is Role.REGIONAL_AUDITOR and (facility_id or not region):
            raise BadRequest("a regional auditor names its facilities (--facilities a,b)")
        if role is not Role.REGIONAL_AUDITOR and region:
            raise BadRequest("only a regional auditor has a set of facilities")
        if len(region) > MAX_FACILITIES:
            raise BadRequest(f"a region has at most {MAX_FACILITIES} facilities")
        for fid in region:
            if await self._store.get_facility(fid) is None:
                raise NotFound(f"no such facility: {fid[:64]}")
        if not 0 < len(username) <= 64 or username != username.strip() or " " in username:
            raise BadRequest("a username is 1 to 64 characters without spaces")
        if len(password) < 8:
            raise BadRequest("a password needs at least 8 characters")
        if facility_id and await self._store.get_facility(facility_id) is None:
            raise NotFound("no such facility")
        hashed = await asyncio.to_thread(hash_password, password)  # argon2: off the event loop
        staff = Staff(
            StaffId(new_id("s")),
            username,
            role,
            hashed,
            FacilityId(facility_id) if facility_id else None,
            tuple(FacilityId(f) for f in region),
        )
        details: dict[str, object] = {"staff": staff.id, "role": role.value}
        if region:
            details["facilities"] = list(region)
        event = self._event("staff-created", facility_id or "", details)
        await self._store.add_staff(staff, event)
        return staff

    async def reset_password(self, staff: Staff, password: str, min_len: int = 8) -> None:
        """A new password for ``staff``, audited (the password never logged), and every
        session and token the account held ended in the same transaction
        (``FacilityStore.set_staff_password``): a login with the new password works at once."""
        if not min_len <= len(password) <= 200:
            raise BadRequest(f"a password is {min_len} to 200 characters", field="password")
        event = AuditEvent(
            "staff-password-reset",
            self._actor.role,
            self._actor.id,
            staff.facility_id or "",
            "",
            {"staff": staff.id, "sessions_ended": True},
        )
        hashed = await asyncio.to_thread(hash_password, password)  # argon2: off the event loop
        if not await self._store.set_staff_password(staff.id, hashed, event):
            raise NotFound("no such staff user")

    async def import_inmates(self, facility_id: str, text: str) -> InmatesImported:
        """Inmates from an SDP export: CSV with a header holding ``number`` and ``name``
        (``block`` and ``status`` optional: see ``STATUS_WORDS``; convicted if empty).
        Re-importing updates names, blocks and statuses; the booked visits of an inmate now
        released or transferred are flagged for an officer's review. A bad row refuses the
        whole file, naming its line."""
        table = read_csv(text)
        rows = parse_rows(table, columns_of(table.header, guess_columns(table.header)))
        refused = first_error(rows)
        if refused is not None:
            raise refused
        return await self.apply_roster(facility_id, rows, {})

    async def apply_roster(
        self, facility_id: str, rows: Sequence[RosterRow], details: dict[str, object]
    ) -> InmatesImported:
        """Write ``rows`` (checked: none in error) as the facility's inmates, in one
        transaction with its ``inmates-imported`` event (``details`` added to it)."""
        if await self._store.get_facility(facility_id) is None:
            raise NotFound("no such facility")
        inmates = [
            Inmate(
                InmateId(new_id("i")), FacilityId(facility_id), r.number, r.name, r.block, r.status
            )
            for r in rows
        ]
        event = self._event("inmates-imported", facility_id, {"rows": len(inmates), **details})
        done = await self._store.add_inmates(inmates, event)
        return InmatesImported(len(inmates), done.flagged)

    async def visitor(
        self, name: str, nik: str, phone: str = "", relationship: str = "", priority: bool = False
    ) -> Visitor:
        if not valid_nik(nik):
            raise BadRequest("a NIK is 16 digits")
        visitor = Visitor(VisitorId(new_id("vis")), name, nik, phone, relationship, priority)
        await self._store.add_visitor(visitor)
        return visitor


def visitor_json(visitor: Visitor, *, admin: bool = False) -> dict[str, object]:
    return {
        "id": visitor.id,
        "name": visitor.name,
        "nik": visitor.nik if admin else mask(visitor.nik),
        "phone": visitor.phone if admin else mask(visitor.phone),
        "relationship": visitor.relationship,
        "priority": visitor.priority,
    }
