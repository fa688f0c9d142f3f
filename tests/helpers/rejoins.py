"""A family coming and going on a visit whose terminal is seated, and what the log says of it."""

from __future__ import annotations

import json
from typing import Any

from services.audit.query import AuditQuery
from services.domain.model import Role
from tests.helpers.world import Peer, World


async def seated(world: World) -> tuple[Peer, str, str]:
    """A visit with its terminal seated: the terminal, the family's token, the visit id."""
    visit = await world.schedule(length_s=900)
    term = await world.connect(await world.token(visit, Role.TERMINAL))
    await term.expect("welcome")
    return term, await world.token(visit, Role.FAMILY), visit.visit.id


async def join(world: World, token: str) -> Peer:
    """The family joined with ``token``, its welcome read."""
    fam = await world.connect(token)
    await fam.expect("welcome")
    return fam


async def drop(fam: Peer, term: Peer) -> None:
    """The family's socket closed, and the terminal told so."""
    await fam.close()
    await term.until("peer-left")


async def family_log(world: World, visit_id: str, rows: int) -> list[tuple[str, Any]]:
    """The family's audit events, as (action, details), once the background writes are done;
    there must be at least ``rows`` of them."""
    await world.hub.tasks.idle()
    found = await world.store.audit_search(AuditQuery(visit_id=visit_id, limit=1000))
    events = [(r.action, json.loads(r.details)) for r in found if r.actor_role == "family"]
    assert len(events) >= rows, events
    return events
