"""The dashboard in a real browser: `streamlit run dashboard.py` as a user starts it, Debian's
chromium driven by Playwright, every page visited, the main demos clicked through.

Screenshots land in artifacts/screenshots/ (gitignored). Without /usr/bin/chromium the test is
skipped, except in CI (the CI variable is set), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, IDLE, PAGES, SHOTS, dashboard

pytestmark = pytest.mark.slow  # a streamlit server and chromium: seconds per test

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail("CI is set but /usr/bin/chromium is missing: apt-get install chromium",
                    pytrace=False)
    pytest.skip("no /usr/bin/chromium (apt-get install chromium) and not in CI",
                allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run dashboard.py` on a free loopback port, with its embedded emulator."""
    with dashboard(tmp_path_factory.mktemp("streamlit")) as url:
        yield url


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Page]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1600, "height": 1000})
        yield tab
        browser.close()


def settle(page: Page, timeout_s: float = 90) -> None:
    """Wait until the script run is over (fragments may start new ones afterwards)."""
    page.wait_for_selector(IDLE, timeout=timeout_s * 1000)


def no_exceptions(page: Page) -> None:
    found = page.locator("[data-testid='stException']")
    assert found.count() == 0, found.first.inner_text()


def shot(page: Page, name: str) -> None:
    settle(page)
    # Streamlit scrolls inside its own container: make the window as tall as the page.
    height = page.evaluate(
        "() => Math.max(1000, document.querySelector(\"[data-testid='stMain']\")"
        "?.scrollHeight || 0)")
    page.set_viewport_size({"width": 1600, "height": min(int(height) + 40, 6000)})
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size({"width": 1600, "height": 1000})


def visit(page: Page, server: str, path: str) -> None:
    page.goto(f"{server}/{path}")
    settle(page)
    expect(page.locator("h1").first).to_have_text(PAGES[path], timeout=30_000)
    no_exceptions(page)


def test_deep_link_on_a_fresh_server_runs_inside_the_shell(page: Page, server: str) -> None:
    visit(page, server, "replicas_live")
    sidebar = page.locator("[data-testid='stSidebar']")
    expect(sidebar.get_by_text("Target", exact=True)).to_be_visible()
    expect(sidebar.get_by_text("Watch replication")).to_be_visible()


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page(page: Page, server: str, path: str) -> None:
    visit(page, server, path)
    expect(page.locator("[data-testid='stAlertContentError']")).to_have_count(0)
    shot(page, f"page-{path or 'home'}")


def test_plus_in_one_region_reaches_the_other(page: Page, server: str) -> None:
    visit(page, server, "replicas_live")
    page.get_by_role("button", name="+ 1", exact=True).first.click()
    expect(page.get_by_text(re.compile(r"Caught up: eu-west-1 after"))).to_be_visible(
        timeout=20_000)
    no_exceptions(page)
    shot(page, "action-replicas-live-caught-up")


def test_lag_probe_through_the_ui(page: Page, server: str) -> None:
    visit(page, server, "replication_lag")
    page.get_by_label("Writes per source region").fill("4")
    page.get_by_label("Writes per second per source").fill("5")
    page.get_by_role("button", name="Start the probe").click()
    expect(page.get_by_text(re.compile(r"Finished: 8 of 8 samples")).first).to_be_visible(
        timeout=60_000)
    settle(page)
    expect(page.get_by_text(re.compile(r"Typical write reaches")).first).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(3)
    no_exceptions(page)
    shot(page, "action-lag-probe")


def test_conflict_trial_through_the_ui(page: Page, server: str) -> None:
    visit(page, server, "conflicts")
    page.get_by_role("button", name="Read, then +1 in A and −1 in B at once").click()
    expect(page.get_by_text(re.compile(r"Every region now shows")).first).to_be_visible(
        timeout=60_000)
    settle(page)
    expect(page.locator(".js-plotly-plot")).to_have_count(1)
    no_exceptions(page)
    shot(page, "action-conflict-demo")


def test_throttle_and_restore_through_the_ui(page: Page, server: str) -> None:
    visit(page, server, "region_failure")
    page.get_by_role("button", name="Throttle", exact=True).first.click()
    page.get_by_role("button", name="Yes, throttle").click()
    expect(page.get_by_text(re.compile(r"us-west-2: throttled; will restore"))).to_be_visible(
        timeout=30_000)
    expect(page.get_by_text("API throttled").first).to_be_visible()
    no_exceptions(page)
    shot(page, "action-throttled")
    page.get_by_role("button", name="Restore", exact=True).first.click()
    page.get_by_role("button", name="Yes, restore").click()
    expect(page.get_by_text(re.compile(r"us-west-2: restored"))).to_be_visible(timeout=30_000)
    no_exceptions(page)
    shot(page, "action-restored")


def test_failover_drill_through_the_ui(page: Page, server: str) -> None:
    visit(page, server, "region_failure")
    page.get_by_role("button", name="Start watching").click()
    expect(page.get_by_text(re.compile(r"read in \d+ ms")).first).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="Throttle", exact=True).first.click()
    page.get_by_role("button", name="Yes, throttle").click()
    expect(page.get_by_text("failed over from us-west-2")).to_be_visible(timeout=30_000)
    no_exceptions(page)
    shot(page, "action-drill-failed-over")
    page.get_by_role("button", name="Restore", exact=True).first.click()
    page.get_by_role("button", name="Yes, restore").click()
    expect(page.get_by_text(re.compile(r"us-west-2: restored"))).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Stop and judge").click()
    expect(page.get_by_text(re.compile(r"Passed: 0 acknowledged writes lost")).first).to_be_visible(
        timeout=60_000)
    no_exceptions(page)
    shot(page, "action-drill-verdict")
