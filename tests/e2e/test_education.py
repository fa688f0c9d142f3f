"""An education visit: the child's family page, the teacher's page and the terminal, full mesh."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from services.domain.model import Role, VisitKind
from tests.e2e.stack import REMOTE_WIDTHS_JS, Stack, frames_flowing, open_page, until

pytestmark = pytest.mark.browser


@pytest.mark.timeout(60)
async def test_three_parties_all_get_media(stack: Stack, browser: Browser) -> None:
    """Family and teacher each see two remote participants, and the terminal decodes both."""
    visit = await stack.schedule(length_s=60, kind=VisitKind.EDUCATION)
    fam_ctx, family = await open_page(browser, stack.link(visit, Role.FAMILY))
    await until(lambda: family.evaluate("window.tatap.state === 'call'"), 10, "family in the call")
    await frames_flowing(family, peers=1)
    teach_ctx, teacher = await open_page(browser, stack.link(visit, Role.TEACHER))

    for page in (family, teacher):
        await frames_flowing(page, peers=2, within=20)
        widths = await page.evaluate(REMOTE_WIDTHS_JS)
        assert len(widths) == 2 and all(w > 0 for w in widths), widths
        roles = await page.eval_on_selector_all("#remotes .tile", "ts => ts.map(t => t.className)")
        assert "role-terminal" in roles[0]  # the inmate is the first, large picture

    session = stack.agent.session
    assert session is not None and len(session.peers) == 2

    async def both_decoded() -> bool:
        return all(p.frames.video > 5 for p in session.peers.values())

    await until(both_decoded, 10, "the terminal to decode both guests")
    assert {p.role for p in session.peers.values()} == {"family", "teacher"}
    await fam_ctx.close()
    await teach_ctx.close()
