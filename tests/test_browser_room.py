"""The dashboard in front of a room (issue 13), in chromium: the sidebar's target survives quick
page switches, tabs share the target, destructive actions name what they destroy, nothing is
wider than a 1024 px projector, and no request leaves loopback.

Screenshots land in artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGES,
    SHOTS,
    dashboard,
    is_loopback,
    overflowing,
    settle,
)

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail("CI is set but /usr/bin/chromium is missing", pytrace=False)
    pytest.skip("no /usr/bin/chromium and not in CI", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

FIVE = "us-west-2,eu-west-1,us-east-1,ap-southeast-2,eu-central-1"
SIZES = {"1024": {"width": 1024, "height": 768}, "1440": {"width": 1440, "height": 900}}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dashboard(tmp_path_factory.mktemp("room")) as url:
        yield url


@pytest.fixture(scope="module")
def server5(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dashboard(tmp_path_factory.mktemp("room5"), GT_REGIONS=FIVE) as url:
        yield url


@pytest.fixture(scope="module")
def aws_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """AWS mode with no credentials anywhere (and no way to find any: nothing is sent)."""
    empty = tmp_path_factory.mktemp("no-aws")
    with dashboard(empty, GT_TARGET="aws", AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                   AWS_SESSION_TOKEN=None, AWS_PROFILE=None,
                   AWS_CONFIG_FILE=str(empty / "config"),
                   AWS_SHARED_CREDENTIALS_FILE=str(empty / "credentials"),
                   AWS_EC2_METADATA_DISABLED="true") as url:
        yield url


def new_tab(browser: Browser, size: str = "1440") -> tuple[Page, list[str]]:
    """A tab in a fresh browser context (a new session) that records every request off loopback."""
    context = browser.new_context(viewport=SIZES[size])
    tab = context.new_page()
    outside: list[str] = []

    def route(r) -> None:  # noqa: ANN001
        if is_loopback(r.request.url):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return tab, outside


def visit(tab: Page, server: str, path: str) -> None:
    tab.goto(f"{server}/{path}")
    settle(tab)
    expect(tab.locator("h1").first).to_have_text(PAGES[path], timeout=60_000)
    settle(tab)
    found = tab.locator("[data-testid='stException']")
    assert found.count() == 0, found.first.inner_text()


def sidebar_target(tab: Page) -> tuple[str, list[str], str]:
    """(mode, regions, table) as the sidebar shows them."""
    side = tab.locator("[data-testid='stSidebar']")
    mode = side.locator("[role='radio'][aria-checked='true']").all_inner_texts()
    regions = side.locator("[data-testid='stMultiSelectTagsContainer'] [data-tag] span[title]"
                           ).all_inner_texts()
    table = side.get_by_label("Table").input_value()
    return (mode[0] if mode else ""), regions, table


def test_the_sidebar_target_survives_quick_page_switches_in_a_new_tab(browser: Browser,
                                                                      server: str) -> None:
    """Clicks start while the new tab's first run still runs, as an impatient facilitator's do."""
    warm, _ = new_tab(browser)
    visit(warm, server, "")
    expected = sidebar_target(warm)
    assert expected[0] == "Local emulator" and len(expected[1]) == 2 and expected[2], expected
    warm.context.close()
    tab, _ = new_tab(browser)
    tab.goto(server)
    tab.wait_for_selector("[data-testid='stSidebarNav'] a")
    nav = tab.locator("[data-testid='stSidebarNav'] a")
    names = ["Setup", "Replicas live", "Conflicts", "Region failure", "Replication lag",
             "CloudWatch", "Data explorer", "Status"]
    seen = []
    for i in range(20):
        nav.filter(has_text=names[(3 * i) % len(names)]).first.click()
        if i % 5 == 4:
            settle(tab)
            seen.append(sidebar_target(tab))
    settle(tab)
    assert all(s == expected for s in seen), seen
    body = tab.locator("[data-testid='stApp']").inner_text()
    assert "--regions" not in body and "no regions given" not in body
    tab.context.close()


def shot(tab: Page, name: str) -> None:
    """A full-page screenshot at the tab's width (Streamlit scrolls inside its own container)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = tab.viewport_size
    height = tab.evaluate("() => document.querySelector(\"[data-testid='stMain']\")"
                          "?.scrollHeight || 0")
    tab.set_viewport_size({"width": size["width"], "height": max(size["height"],
                                                                 min(int(height) + 40, 8000))})
    tab.wait_for_timeout(300)
    tab.screenshot(path=str(SHOTS / f"{name}.png"))
    tab.set_viewport_size(size)


def test_destructive_confirmations_name_the_region(browser: Browser, server: str) -> None:
    tab, _ = new_tab(browser)
    visit(tab, server, "setup")
    remove = tab.get_by_label("Replica to remove")
    assert "eu-west-1" not in remove.locator("..").inner_text()  # nothing picked by default
    expect(tab.get_by_role("button", name=re.compile("Remove the replica"))).to_have_count(0)
    settle(tab)
    remove.click()
    remove.fill("eu-west-1")
    tab.keyboard.press("Enter")
    settle(tab)
    tab.get_by_role("button", name="Remove the replica in eu-west-1").click()
    settle(tab)
    expect(tab.get_by_text(re.compile(r"deletes the copy of table .* in eu-west-1"))).to_be_visible()
    expect(tab.get_by_role("button", name="Yes, remove the replica in eu-west-1")).to_be_visible()
    tab.get_by_role("button", name="Cancel").click()
    settle(tab)
    tab.get_by_role("button", name=re.compile("Delete table global-serverless")).click()
    settle(tab)
    expect(tab.get_by_text(re.compile(r"every item in it in us-west-2, eu-west-1"))).to_be_visible()
    tab.get_by_role("button", name="Cancel").click()
    settle(tab)
    visit(tab, server, "region_failure")
    tab.get_by_role("button", name="Throttle", exact=True).first.click()
    settle(tab)
    expect(tab.get_by_role("button", name="Yes, throttle us-west-2")).to_be_visible()
    tab.get_by_role("button", name="Cancel").click()
    tab.context.close()


@pytest.mark.parametrize("path", ["", "replicas_live", "setup"])
def test_aws_without_credentials_names_them_in_the_main_area(browser: Browser, aws_server: str,
                                                              path: str) -> None:
    tab, outside = new_tab(browser, "1024")
    visit(tab, aws_server, path)
    main = tab.locator("[data-testid='stMain']")
    expect(main.get_by_text(re.compile("No AWS credentials"))).to_be_visible()
    expect(main.get_by_text(re.compile("AWS profile"))).to_be_visible()
    text = main.inner_text()
    for wrong in ("Unreachable", "run Setup", "--profile", "heal, or check the network"):
        assert wrong not in text, wrong
    assert outside == []
    tab.context.close()


def check_every_page(browser: Browser, url: str, label: str) -> None:
    """Every page at both sizes: screenshots for a person to look at, and at 1024 px nothing
    wider than its container (all pages checked before failing, so one run shows everything)."""
    too_wide = {}
    for size in SIZES:
        tab, outside = new_tab(browser, size)
        for path in PAGES:
            visit(tab, url, path)
            tab.wait_for_timeout(500)
            settle(tab)
            if size == "1024" and overflowing(tab):
                too_wide[path or "home"] = overflowing(tab)
            shot(tab, f"room-{label}-{size}-{path or 'home'}")
        assert outside == [], outside
        tab.context.close()
    assert too_wide == {}


def test_every_page_fits_1024_and_stays_on_loopback(browser: Browser, server: str) -> None:
    check_every_page(browser, server, "2")


def test_every_page_fits_1024_with_five_regions(browser: Browser, server5: str) -> None:
    tab, _ = new_tab(browser)
    visit(tab, server5, "replication_lag")
    tab.get_by_label("Writes per source region").fill("3")
    tab.get_by_label("Writes per second per source").fill("5")
    tab.get_by_role("button", name="Start the probe").click()
    expect(tab.get_by_text(re.compile(r"Finished: 60 of 60 samples")).first).to_be_visible(
        timeout=90_000)
    settle(tab)
    too_wide = {}
    for path in ("replication_lag", "cloudwatch"):  # the probe's results live in its session
        if path != "replication_lag":
            visit(tab, server5, path)
        for size in SIZES:
            tab.set_viewport_size(SIZES[size])
            tab.wait_for_timeout(800)
            if size == "1024" and overflowing(tab):
                too_wide[path] = overflowing(tab)
            shot(tab, f"room-5-{size}-action-{path}")
    tab.context.close()
    assert too_wide == {}
    check_every_page(browser, server5, "5")


def test_the_projector_follows_the_laptop(browser: Browser, server: str) -> None:
    laptop, _ = new_tab(browser)
    projector, outside = new_tab(browser, "1024")
    visit(laptop, server, "")
    projector.goto(f"{server}/replicas_live?present=1")
    settle(projector)
    expect(projector.locator("[data-testid='stSidebar']")).to_be_hidden()
    table = laptop.locator("[data-testid='stSidebar']").get_by_label("Table")
    table.fill("projector-check")
    laptop.get_by_role("button", name="Apply").click()
    settle(laptop)
    expect(projector.get_by_text(re.compile("Table projector-check in"))).to_be_visible(
        timeout=60_000)
    shot(projector, "room-presenter-1024-replicas_live")
    table.fill("global-serverless")
    laptop.get_by_role("button", name="Apply").click()
    settle(laptop)
    expect(projector.get_by_text(re.compile("Table global-serverless in"))).to_be_visible(
        timeout=60_000)
    assert outside == []


def test_the_room_pages_in_action_fit_1024(browser: Browser, server: str) -> None:
    """The drill's big numbers ("us-wes/t-2" before), the conflict demo and the lab, running."""
    tab, outside = new_tab(browser, "1024")
    visit(tab, server, "region_failure")
    tab.get_by_role("button", name="Start watching").click()
    expect(tab.get_by_text(re.compile(r"read in \d+ ms")).first).to_be_visible(timeout=30_000)
    tab.wait_for_timeout(1500)
    assert overflowing(tab) == []
    shot(tab, "room-2-1024-action-drill")
    tab.get_by_role("button", name="Stop and judge").click()
    expect(tab.get_by_text(re.compile(r"acknowledged writes lost")).first).to_be_visible(
        timeout=60_000)
    visit(tab, server, "conflicts")
    tab.get_by_role("button", name="Read, then +1 in A and −1 in B at once").click()
    expect(tab.get_by_text(re.compile(r"Every region now shows")).first).to_be_visible(
        timeout=60_000)
    settle(tab)
    assert overflowing(tab) == []
    shot(tab, "room-2-1024-action-conflict-demo")
    tab.get_by_role("tab", name="Conflict lab").click()
    tab.get_by_label("Trials").fill("3")
    tab.get_by_text("Bookmark + 1").click()
    tab.get_by_role("button", name="Run the trials").click()
    expect(tab.get_by_text(re.compile(r"3 of 3 trials")).first).to_be_visible(timeout=90_000)
    settle(tab)
    expect(tab.get_by_text(re.compile(r"\*?tie\*?: the winning write")).first).to_be_attached()
    assert overflowing(tab) == []
    shot(tab, "room-2-1024-action-conflict-lab")
    assert outside == []
    tab.context.close()
