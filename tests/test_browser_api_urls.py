"""The URLs `setup up` prints, pasted into web pages in chromium, as a workshop attendee does.

The pages (tests/web/, written for the project) read URLs the way the workshop's pages do: the
region is the host name's third label and routes are appended to the URL as given. A private
emulator serves the regional API, the catalog's media and nothing else: every request the
browser makes is checked to stay on loopback (anything else is aborted and fails the test).
"""

from __future__ import annotations

import functools
import http.server
import io
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from gtcore.regional_urls import LOCAL_SUFFIX
from setup.cli import main as setup_main
from setup.emulator import spawn

CHROMIUM = Path("/usr/bin/chromium")
WEB = Path(__file__).resolve().parent / "web"
REGIONS = ("us-west-2", "eu-west-1")

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail("CI is set but /usr/bin/chromium is missing: apt-get install chromium", pytrace=False)
    pytest.skip("no /usr/bin/chromium (apt-get install chromium) and not in CI", allow_module_level=True)

from playwright.sync_api import BrowserContext, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def printed() -> Iterator[dict[str, object]]:
    """A private emulator set up by `python -m setup up`; the URLs it printed, by region."""
    with spawn("fixed:300", replica_create_seconds=0.2) as emu:
        out = io.StringIO()
        code = setup_main(["up", "--endpoint", emu.endpoint, "--regions", ",".join(REGIONS)], out=out,
                          err=io.StringIO())
        assert code == 0, out.getvalue()
        words = out.getvalue().split()
        browser = {w.split(".")[2]: w for w in words if w.startswith("http://") and LOCAL_SUFFIX in w}
        path = {w.split("/_api/")[1].split("/")[0]: w for w in words if w.startswith("http://") and "/_api/" in w}
        assert set(browser) == set(path) == set(REGIONS), out.getvalue()
        yield {"emu": emu, "browser": browser, "path": path}


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    """tests/web served on a loopback port."""
    handler = functools.partial(_QuietHandler, directory=str(WEB))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[tuple[BrowserContext, list[str]]]:
    """A chromium context whose every request must go to loopback; the others are listed."""
    left_loopback: list[str] = []
    with sync_playwright() as p:
        args = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        context = chromium.new_context()

        def only_loopback(route):  # noqa: ANN001 - Playwright's Route
            host = urllib.parse.urlsplit(route.request.url).hostname or ""
            if host in ("127.0.0.1", "localhost") or host.endswith(".localhost"):
                return route.continue_()
            left_loopback.append(route.request.url)
            return route.abort("internetdisconnected")

        context.route("**/*", only_loopback)
        yield context, left_loopback
        chromium.close()
    assert left_loopback == [], f"requests left loopback: {left_loopback}"


def _open(browser: tuple[BrowserContext, list[str]], url: str) -> Page:
    page = browser[0].new_page()
    page.goto(url)
    return page


def test_printed_urls_end_in_a_slash_and_name_the_region_third(printed):
    for region in REGIONS:
        for url in (printed["browser"][region], printed["path"][region]):
            assert url.endswith("/api/")
        assert printed["browser"][region].split(".")[2] == region


def test_two_regions_two_rows_and_a_plus_one_replicates(printed, pages, browser):
    page = _open(browser, f"{pages}/regions.html")
    for region in REGIONS:
        page.evaluate("url => addApi(url)", printed["browser"][region])
    rows = page.locator("#apis tr")
    assert [rows.nth(i).locator(".region").inner_text() for i in range(rows.count())] == list(REGIONS)

    route = "get/user100/AshlandValley"
    before = page.evaluate("([r, p]) => call(r, p)", ["us-west-2", route])
    assert before["status"] == 200 and before["body"]["Region"] == "us-west-2"
    start = int(before["body"]["Item"]["Bookmark"]["N"])
    plus = page.evaluate("([r, p]) => call(r, p)", ["us-west-2", "update/user100/AshlandValley/1"])
    assert plus["status"] == 200 and plus["body"]["Attributes"]["Bookmark"] == {"N": str(start + 1)}

    deadline = time.monotonic() + 10
    while True:
        there = page.evaluate("([r, p]) => call(r, p)", ["eu-west-1", route])
        assert there["status"] == 200 and there["body"]["Region"] == "eu-west-1"
        if there["body"]["Item"]["Bookmark"]["N"] == str(start + 1):
            break
        assert time.monotonic() < deadline, "the +1 never reached eu-west-1"
        time.sleep(0.1)
    assert page.locator("tr[data-region='eu-west-1'] .value").inner_text() == str(start + 1)
    page.close()


def test_catalog_media_and_bookmark_thumbs_load_offline(printed, pages, browser):
    page = _open(browser, f"{pages}/regions.html")
    page.evaluate("url => addApi(url)", printed["browser"]["eu-west-1"])
    images = page.evaluate("r => showLibrary(r)", "eu-west-1")
    assert len([i for i in images if not i["continue"]]) == 12
    assert any(i["continue"] for i in images), "the sample bookmark's thumb decodes with atob()"
    assert all(i["width"] > 0 for i in images), images
    page.close()


def _reserved_concurrency(printed, region: str, value: int | None) -> None:
    client = boto3.client("lambda", region_name=region, endpoint_url=printed["emu"].endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    if value is None:
        client.delete_function_concurrency(FunctionName="global-serverless-dev")
    else:
        client.put_function_concurrency(FunctionName="global-serverless-dev", ReservedConcurrentExecutions=value)


def _bookmark(printed, region: str) -> str:
    client = boto3.client("dynamodb", region_name=region, endpoint_url=printed["emu"].endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    item = client.get_item(TableName="global-serverless", Key={"PK": {"S": "user10"}, "SK": {"S": "03"}},
                           ConsistentRead=True)["Item"]
    return item["bookmark"]["S"]


def _acked(page: Page, region: str) -> int:
    return page.evaluate("r => state.acked.filter(a => a.region === r).length", region)


def test_throttle_fails_the_player_over_with_no_bookmark_lost(printed, pages, browser):
    page = _open(browser, f"{pages}/bookmarks.html")
    urls = [printed["browser"][r] for r in REGIONS]
    video = page.evaluate("([urls]) => start(urls, '03', 6, 150)", [urls])
    assert video["duration"] > 60 and video["src"].startswith(printed["emu"].endpoint)
    page.wait_for_function("() => state.acked.length >= 4", timeout=10_000)
    _reserved_concurrency(printed, "us-west-2", 0)
    try:
        page.wait_for_function("() => state.failovers.length === 1", timeout=15_000)
        page.wait_for_function("() => state.acked.filter(a => a.region === 'eu-west-1').length >= 4",
                               timeout=10_000)
        state = page.evaluate("() => stop()")
    finally:
        _reserved_concurrency(printed, "us-west-2", None)
    assert state["failovers"] == [{"to": "eu-west-1", "afterErrors": 6}]
    # API Gateway's 5XX has no CORS headers: the browser sees a failed fetch, not a readable 500.
    assert {e["region"] for e in state["errors"]} == {"us-west-2"}
    assert all(e["error"].startswith("TypeError") for e in state["errors"]), state["errors"]
    values = [float(a["value"]) for a in state["acked"]]
    assert values == sorted(values) and len(set(values)) == len(values)
    last = state["acked"][-1]
    assert last["region"] == "eu-west-1"
    deadline = time.monotonic() + 10
    while (_bookmark(printed, "eu-west-1"), _bookmark(printed, "us-west-2")) != (last["value"],) * 2:
        assert time.monotonic() < deadline, "the last acknowledged bookmark is not in both regions"
        time.sleep(0.1)
    assert _acked(page, "us-west-2") >= 4
    page.close()


def test_the_emulators_own_workshop_page_fails_over_with_no_bookmark_lost(printed, browser):
    page = _open(browser, f"{printed['emu'].endpoint}/_workshop/")
    rows = page.locator("#apis tbody tr")
    page.wait_for_function("() => document.querySelectorAll('#title option').length === 12")
    assert [rows.nth(i).get_attribute("data-region") for i in range(rows.count())] == list(REGIONS)
    assert [rows.nth(i).locator("code").inner_text() for i in range(2)] == [printed["browser"][r] for r in REGIONS]

    rows.nth(0).locator("button[data-route$='/1']").last.click()
    page.wait_for_function("() => document.querySelector('#apis tr[data-region=\"us-west-2\"] .value')"
                           ".textContent !== '-'")
    plus = int(rows.nth(0).locator(".value").inner_text())
    deadline = time.monotonic() + 10
    while rows.nth(1).locator(".value").inner_text() != str(plus):
        assert time.monotonic() < deadline, "the +1 never showed in eu-west-1"
        rows.nth(1).locator("button[data-route^='get/']").click()
        time.sleep(0.2)

    page.select_option("#title", "03")
    page.click("#play")
    page.wait_for_function("() => document.getElementById('log').textContent.includes('written to us-west-2')")
    _reserved_concurrency(printed, "us-west-2", 0)
    try:
        page.wait_for_function("() => document.getElementById('log').textContent.includes('written to eu-west-1')",
                               timeout=15_000)
        page.click("#pause")
        time.sleep(1.0)  # a write in flight lands
    finally:
        _reserved_concurrency(printed, "us-west-2", None)
    log = page.locator("#log").inner_text()
    assert "failing over to eu-west-1" in log and "cannot write to us-west-2: failed" in log
    last = log.split("bookmark ", 1)[1].split(" ", 1)[0]  # newest line first
    deadline = time.monotonic() + 10
    while (_bookmark(printed, "eu-west-1"), _bookmark(printed, "us-west-2")) != (last, last):
        assert time.monotonic() < deadline, "the last bookmark written is not in both regions"
        time.sleep(0.1)
    page.close()
