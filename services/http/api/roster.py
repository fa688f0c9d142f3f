"""The inmate import from the console: an SDP export (CSV or XLSX) previewed, then applied as
previewed (``services.admin.imports``). The file is the request's raw body; the columns chosen
and the preview's digest come in the query."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.access.tokens import Claims
from services.admin.imports import InmateImport, Upload, read_upload
from services.admin.provision import Admin
from services.admin.roster import FIELDS
from services.admin.sheets import MAX_UPLOAD
from services.errors import BadRequest
from services.http.api.context import ApiContext
from services.http.plumbing import read_upload as read_file
from services.http.plumbing import respond
from services.http.staff_auth import SCHEDULERS, StaffAuth, scoped_facility
from services.ids import Actor

PREVIEW_QUERY = FIELDS
IMPORT_QUERY = (*FIELDS, "digest")
MAX_NAME = 200  # a header name chosen in the query
# Reading an upload is seconds of CPU at most; this many at a time per node keep the loop's
# threads free for everything else.
READERS = 2


class RosterApi:
    """``POST /api/v1/facilities/{facility_id}/inmates/preview`` and ``…/import``
    (officer, admin of the facility)."""

    def __init__(self, ctx: ApiContext, auth: StaffAuth) -> None:
        self._ctx = ctx
        self._auth = auth
        self._readers = asyncio.Semaphore(READERS)

    async def preview(self, request: web.Request) -> web.Response:
        """The upload row by row, as it would be applied; nothing is written."""
        _, facility_id, upload = await self._read(request)
        imports = InmateImport(self._ctx.store, Admin(self._ctx.store))
        return respond(await imports.preview(facility_id, upload))

    async def apply(self, request: web.Request) -> web.Response:
        """Apply the previewed upload: its rows without errors (audited with the officer)."""
        claims, facility_id, upload = await self._read(request)
        expected = request.query.get("digest", "")
        if len(expected) != 64:
            raise BadRequest("`digest` is the preview's digest", field="digest")
        admin = Admin(self._ctx.store, Actor(claims.role, claims.sub))
        done = await InmateImport(self._ctx.store, admin).apply(facility_id, upload, expected)
        return respond(done)

    async def _read(self, request: web.Request) -> tuple[Claims, str, Upload]:
        """The caller (officer or admin of the facility), the facility, and the upload read."""
        claims = await self._auth.require(request, *SCHEDULERS)
        facility = await scoped_facility(self._ctx.store, claims, request.match_info["facility_id"])
        chosen = {f: request.query.get(f, "")[:MAX_NAME] for f in FIELDS}
        data = await read_file(request, MAX_UPLOAD)
        async with self._readers:
            upload = await asyncio.to_thread(read_upload, data, chosen)
        return claims, facility.id, upload
