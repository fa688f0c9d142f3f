"""The officer console in Firefox (Debian's firefox-esr) against a real node: log in, the queue
approves a request, the Today board shows the facility's room. Firefox is driven over WebDriver
BiDi by puppeteer-core (tests/e2e/firefox, installed from its lock file with `npm ci`), since
Playwright's own Firefox cannot be downloaded and its BiDi client needs a newer Firefox than the
ESR. A missing Firefox, node or node_modules skips it loudly (``tests/skip_report.py`` lists it
with what to install; ``.ci/run`` installs them)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from services.domain.model import VisitStatus
from signaling.app import STORE
from tests.e2e.console import PASSWORD, console_node

pytestmark = pytest.mark.browser
HERE = Path(__file__).resolve().parent / "firefox"
FIREFOX = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")
SMOKE_TIMEOUT_S = 150.0


def _ready() -> str:
    """The node executable; skips, naming what is missing, without it, Firefox or
    puppeteer-core."""
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed (Firefox smoke)")
    if not os.access(FIREFOX, os.X_OK):
        pytest.skip(f"{FIREFOX} is not installed (firefox-esr)")
    if not (HERE / "node_modules" / "puppeteer-core").is_dir():
        pytest.skip(f"puppeteer-core is not installed: npm ci in {HERE}")
    return node


@pytest.mark.timeout(240)
async def test_officer_console_works_in_firefox(tmp_path: Path) -> None:
    """In Firefox ESR: the officer logs in, approves the one request in the queue (the visit
    is scheduled on the server), and the Today board lists the facility's room, with no error
    on the page."""
    node = _ready()
    async with console_node(tmp_path) as served:
        visit = await served.request(1, "B-1234", "08:30")
        home = tmp_path / "home"  # Firefox wants a HOME its user owns
        home.mkdir()
        proc = await asyncio.create_subprocess_exec(
            node,
            str(HERE / "smoke.mjs"),
            served.base_url,
            "petugas",
            PASSWORD,
            visit.id,
            cwd=HERE,
            env={**os.environ, "HOME": str(home), "FIREFOX": FIREFOX},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), SMOKE_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        lines = out.decode(errors="replace").strip().splitlines()
        assert proc.returncode == 0 and lines, (out.decode()[-2000:], err.decode()[-2000:])
        seen = json.loads(lines[-1])
        assert seen["version"].startswith("firefox/"), seen
        assert "petugas" in seen["who"] and seen["approved"], seen
        assert seen["rooms"] == ["Ruang 1"], seen
        found = await served.app[STORE].get_visit(visit.id)
        assert found is not None and found.status is VisitStatus.SCHEDULED
