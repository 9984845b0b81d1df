"""The MREC vs MRSC page in chromium at a projector's 1024x768: run the demo, read the verdicts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, SHOTS
from playwright.sync_api import Page, expect, sync_playwright

from tests.test_browser import no_exceptions, server, settle  # noqa: F401
from ui.consistency_view import WAITING

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small(server: str) -> Iterator[Page]:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1024, "height": 768})
        browser.close()


def test_side_by_side_demo_shows_both_verdicts_at_1024x768(small: Page, server: str) -> None:  # noqa: F811
    small.goto(f"{server}/consistency")
    settle(small)
    expect(small.locator("h1").first).to_have_text("MREC vs MRSC", timeout=60_000)
    small.get_by_role("button", name="Run the demo").click()
    for cell in ("MREC-rto", "MRSC-rto"):  # the drill's figures come last
        expect(small.locator(f"[data-verdict='{cell}']")).not_to_have_text(WAITING, timeout=300_000)
    settle(small)
    no_exceptions(small)

    def cell(name: str) -> int:
        return int(small.locator(f"[data-verdict='{name}']").inner_text())

    assert cell("MREC-lost") >= 1 and cell("MRSC-lost") == 0
    assert cell("MRSC-rejected") >= 1
    expect(small.get_by_text("silently lost").first).to_be_visible()
    small.get_by_role("button", name="Run the demo").scroll_into_view_if_needed()
    small.screenshot(path=str(SHOTS / "consistency-1024x768.png"))
    small.locator("[data-verdict='MREC-conflicts']").evaluate("e => e.scrollIntoView({block: 'center'})")
    small.screenshot(path=str(SHOTS / "consistency-1024x768-verdicts.png"))
