"""The officer's live wall in Chromium against a real node, a real terminal agent and a family
page in a second browser context: a request approved in the console, the inmate marked ready, the
family joining; both sides' videos on the wall through the terminal; a notice, a mute, a dropped
socket and a reload that the wall recovers from; a terminate with its mandatory reason."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from services.admin.provision import Admin
from services.audit.query import AuditQuery
from services.domain.model import Role
from signaling.app import STORE
from tests.e2e.booking import NIK, open_today, phone_page, request_by_api
from tests.e2e.console import PASSWORD, console_page, log_in
from tests.e2e.stack import Stack, frames_flowing, open_page, running_stack, until
from tests.helpers.rtc import HeardSpeaker

pytestmark = pytest.mark.browser
# The README's picture; refreshed by `TATAP_UPDATE_SCREENSHOTS=1 pytest tests/e2e`.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "officer-wall.png"
MONITORED = "Kunjungan ini dapat dipantau oleh petugas"

# Frames each video element of a tile has shown, by side.
TILE_FRAMES_JS = """(id) => {
  const tile = document.querySelector(`.wall-tile[data-visit="${id}"]`);
  const out = {};
  if (!tile) return out;  // not (yet) on the wall
  for (const v of tile.querySelectorAll("video")) {
    out[v.className] = v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
  }
  return out;
}"""


@pytest.fixture
async def heard(tmp_path: Path) -> AsyncIterator[tuple[Stack, HeardSpeaker]]:
    """A stack whose terminal's speaker records what it is given to play."""
    speaker = HeardSpeaker()
    async with running_stack(tmp_path, speaker=speaker) as stack:
        yield stack, speaker


def tile(visit_id: str) -> str:
    return f'.wall-tile[data-visit="{visit_id}"]'


async def both_videos_advance(page: Page, visit_id: str, within: float = 30.0) -> None:
    """Both video elements of the tile (inmate and family) show frames, and keep showing more."""

    async def showing() -> dict[str, int] | None:
        frames: dict[str, int] = await page.evaluate(TILE_FRAMES_JS, visit_id)
        return frames if frames.get("inmate") and frames.get("family") else None

    first = await until(showing, within, "both videos of the tile to show frames")

    async def advancing() -> bool:
        now: dict[str, int] = await page.evaluate(TILE_FRAMES_JS, visit_id)
        return all(now[side] > first[side] for side in ("inmate", "family"))

    try:
        await until(advancing, 10, "both videos of the tile to keep advancing")
    except AssertionError as exc:
        now = await page.evaluate(TILE_FRAMES_JS, visit_id)
        raise AssertionError(f"{exc}: frames {first} then {now}") from None


async def tile_state(page: Page, visit_id: str, expr: str) -> Any:
    """``expr`` about the tile object (``t``) of the visit, in the page."""
    find = "window.tatapWall.slots.find((s) => s && s.visitId === id)"
    js = f"(id) => {{ const t = {find}; return {expr}; }}"
    return await page.evaluate(js, visit_id)


async def audit(stack: Stack, visit_id: str, action: str) -> list[Any]:
    rows = await stack.app[STORE].audit_search(AuditQuery(visit_id=visit_id, limit=1000))
    return [r for r in rows if r.action == action]


@pytest.mark.timeout(240)
async def test_an_officer_watches_mutes_and_terminates_a_visit_on_the_wall(
    heard: tuple[Stack, HeardSpeaker], browser: Browser, tmp_path: Path
) -> None:
    """Approve → ready → the family joins → both videos advance on the wall; the family page
    shows the monitored line and negotiates with the terminal only; a notice reaches the family;
    muting the family says so on the family page and is audited; a dropped officer socket and a
    reload bring the tile back; six tiles fit 1366×768; terminate asks for a reason, the family
    sees `ended: terminated`, and the audit holds the reason and the officer."""
    stack, speaker = heard
    facility_id = await open_today(stack, length_min=10)
    officer = await Admin(stack.app[STORE]).staff("petugas", Role.OFFICER, PASSWORD, facility_id)
    made = await request_by_api(stack, facility_id)
    vid = made["id"]

    context, page = await console_page(browser, f"{stack.base_url}/officer#requests")
    await log_in(page, "petugas")
    await page.click(f'#queue li[data-id="{vid}"] button.approve')
    await page.click("#confirm-yes")
    await page.wait_for_selector(f'#queue li[data-id="{vid}"]', state="detached")
    await page.goto(f"{stack.base_url}/officer#today")
    await page.click(f'#rooms tr[data-id="{vid}"] [data-action=ready]')
    await page.wait_for_selector(f'#rooms tr[data-id="{vid}"] .ready-mark')

    family, phone = await phone_page(browser, f"{stack.base_url}/status?code={made['code']}")
    await phone.fill("#nik_last4", NIK[-4:])
    await phone.click("#check")
    await phone.click("#join")
    await phone.wait_for_url("**/v/*")
    assert await phone.inner_text("#monitored") == MONITORED  # before the call
    await until(lambda: phone.evaluate("window.tatap.state === 'call'"), 20, "the call")
    await frames_flowing(phone, peers=1, within=30)

    await until(lambda: _now(speaker.heard.frames > 50), 10, "the terminal to play the family")
    await page.goto(f"{stack.base_url}/officer/wall")
    await page.click('#wall-layout button[data-layout="4"]')
    await page.click(f'#wall-visits li[data-id="{vid}"] button.add')
    await both_videos_advance(page, vid)
    assert await page.eval_on_selector_all(
        f"{tile(vid)} video", "vs => vs.map((v) => v.muted)"
    ) == [True, True]  # audio off by default
    assert "Warga binaan" in await page.inner_text(f"{tile(vid)} figure.inmate")
    assert "Keluarga" in await page.inner_text(f"{tile(vid)} figure.family")
    assert await page.is_hidden(f"{tile(vid)} .tile-wait")
    await page.click(f"{tile(vid)} button.sound")
    assert await page.eval_on_selector_all(
        f"{tile(vid)} video", "vs => vs.map((v) => v.muted)"
    ) == [False, False]

    # The family page: the standing line, no monitor announced, no connection to the officer.
    assert await phone.inner_text("#monitored") == MONITORED
    roles = await phone.evaluate(
        "() => Object.keys(window.tatap.pcs).map((id) => (window.tatap.peers[id] || {}).role)"
    )
    assert roles == ["terminal"]
    assert "officer" in json.dumps(await phone.evaluate("window.tatap.peers"))
    assert await phone.is_hidden("#banner")

    shot = DOCS_SCREENSHOT if os.environ.get("TATAP_UPDATE_SCREENSHOTS") else tmp_path / "w.png"
    await page.screenshot(path=str(shot))
    assert 10_000 < shot.stat().st_size < 600_000

    # A notice the family sees.
    await page.select_option(f"{tile(vid)} select.notice", "behaviour")
    await page.click(f"{tile(vid)} button.send-notice")
    await phone.wait_for_selector("#banner:not([hidden])")
    assert "jaga sikap" in await phone.inner_text("#banner")

    # Mute the family: the button follows the server's `muted`, the page says so and sends
    # silence; the terminal drops the family's sound; the audit names the officer.
    await page.click(f"{tile(vid)} button.mute-family")
    await page.wait_for_selector(f'{tile(vid)} button.mute-family[aria-pressed="true"]')
    await phone.wait_for_selector("#mic-muted:not([hidden])")
    assert await phone.inner_text("#mic-muted") == "Mikrofon Anda dimatikan petugas"
    enabled = await phone.evaluate(
        "() => document.getElementById('self').srcObject.getAudioTracks().map((t) => t.enabled)"
    )
    assert enabled == [False]
    await asyncio.sleep(1)  # frames already on their way may still arrive
    before = speaker.heard.frames
    await asyncio.sleep(2)
    assert speaker.heard.frames == before, "the terminal still plays the muted family"
    muted = await until(lambda: audit(stack, vid, "muted"), 5, "the muted event")
    # The monitor's seat is the officer's own (`officer:<staff id>`).
    assert muted[0].actor_role == "officer" and officer.id in muted[0].actor_id
    assert json.loads(muted[0].details) == {"side": "family", "muted": True}
    await page.click(f"{tile(vid)} button.mute-family")
    await phone.wait_for_selector("#mic-muted", state="hidden")
    await until(lambda: _now(speaker.heard.frames > before + 50), 5, "the family heard again")

    # The officer's socket drops: the tile reconnects, offers again, and the videos come back.
    old_pc = await tile_state(page, vid, "t.pc.localDescription.sdp")
    await tile_state(page, vid, "(t.ws.close(), true)")
    await until(
        lambda: _differs(page, vid, old_pc), 20, "a new connection to the terminal after the drop"
    )
    await both_videos_advance(page, vid)

    # A reload restores the chosen tiles from sessionStorage.
    await page.reload()
    await both_videos_advance(page, vid)

    # Six tiles fit an office PC's screen, controls and all.
    await page.click('#wall-layout button[data-layout="6"]')
    boxes = await page.eval_on_selector_all(
        ".wall-tile, .wall-tile button",
        "els => els.map((e) => e.getBoundingClientRect()).map((r) => [r.right, r.bottom])",
    )
    assert len(await page.query_selector_all("#wall-grid > .wall-tile")) == 6
    assert all(right <= 1366 and bottom <= 768 for right, bottom in boxes), boxes
    await both_videos_advance(page, vid)

    # Terminate: the reason is mandatory.
    await page.click(f"{tile(vid)} button.terminate")
    await page.click("#confirm-yes")
    assert await page.is_visible("#confirm-error")
    await page.fill("#confirm-extra textarea", "Melanggar tata tertib kunjungan")
    await page.click("#confirm-yes")
    await page.wait_for_selector(f'{tile(vid)}[data-ended="terminated"]')
    assert "dihentikan petugas" in await page.inner_text(f"{tile(vid)} .tile-status")
    await until(lambda: phone.evaluate("window.tatap.state === 'ended'"), 10, "the family's end")
    assert await phone.evaluate("window.tatap.endedReason") == "terminated"
    terminated = await until(lambda: audit(stack, vid, "terminated"), 5, "the terminated event")
    assert terminated[0].actor_id == officer.id
    assert json.loads(terminated[0].details)["note"] == "Melanggar tata tertib kunjungan"
    # The tile is free again: the visit is no longer kept for a reload.
    kept = await page.evaluate("() => sessionStorage.getItem('tatap.wall')")
    assert vid not in kept
    await family.close()
    await context.close()


async def _differs(page: Page, visit_id: str, old_sdp: str) -> bool:
    sdp = await tile_state(
        page, visit_id, "t.pc && t.pc.remoteDescription && t.pc.localDescription.sdp"
    )
    return bool(sdp) and sdp != old_sdp


async def _now(value: object) -> object:
    return value


@pytest.mark.timeout(200)
async def test_the_countdown_turns_colour_and_an_ended_visit_frees_its_tile(
    stack: Stack, browser: Browser
) -> None:
    """A visit with 100 s left shows its countdown in the 5-minute colour, then the 1-minute one;
    at its end the tile says why it ended and its place is free (not kept for a reload)."""
    terminal = await stack.app[STORE].get_terminal(stack.terminal_id)
    assert terminal is not None
    await Admin(stack.app[STORE]).staff("petugas", Role.OFFICER, PASSWORD, terminal.facility_id)
    visit = await stack.schedule(length_s=100)
    vid = visit.visit.id
    family, phone = await open_page(browser, stack.link(visit, Role.FAMILY), locale="id-ID")
    context, page = await console_page(browser, f"{stack.base_url}/officer/wall")
    await log_in(page, "petugas")
    await page.click(f'#wall-visits li[data-id="{vid}"] button.add')
    await page.wait_for_selector(f"{tile(vid)} .tile-clock.warn", timeout=20_000)
    assert await page.is_hidden(f"{tile(vid)} .tile-clock.low")
    await page.wait_for_selector(f"{tile(vid)} .tile-clock.low", timeout=60_000)
    colours = await page.eval_on_selector(
        f"{tile(vid)} .tile-clock", "e => getComputedStyle(e).backgroundColor"
    )
    assert colours == "rgb(214, 69, 52)"
    assert json.loads(await page.evaluate("() => sessionStorage.getItem('tatap.wall')")) == {
        "layout": 4,
        "visits": [vid],
    }
    # English at a click, the tile's labels and controls too.
    await page.click('[data-lang="en"]')
    assert await page.inner_text(f"{tile(vid)} figure.inmate figcaption") == "Inmate"
    assert await page.inner_text(f"{tile(vid)} button.terminate") == "Terminate"
    assert await page.inner_text('#wall-layout button[data-layout="6"]') == "6 tiles"
    await page.click('[data-lang="id"]')
    await page.wait_for_selector(f'{tile(vid)}[data-ended="completed"]', timeout=80_000)
    assert "waktu habis" in await page.inner_text(f"{tile(vid)} .tile-status")
    kept = json.loads(await page.evaluate("() => sessionStorage.getItem('tatap.wall')"))
    assert kept["visits"] == []
    # Another visit may take the ended tile's place.
    assert await page.is_disabled(f"{tile(vid)} button.terminate")
    await family.close()
    await context.close()
