"""Shared pieces of the browser tests: a `streamlit run dashboard.py` server on loopback with
its own environment, Debian's chromium through Playwright, and checks a facilitator cares about
(the script run is over, no exception, nothing wider than its container, no request off loopback).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Every page by URL path and its title.
PAGES = {
    "": "Global Tables at a glance",
    "setup": "Setup",
    "replicas_live": "Replicas live",
    "conflicts": "Conflicts",
    "region_failure": "Region failure",
    "replication_lag": "Replication lag",
    "cloudwatch": "CloudWatch ReplicationLatency",
    "data_explorer": "Data explorer",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def dashboard(log_dir: Path, root: Path = ROOT, **env: str | None) -> Iterator[str]:
    """`streamlit run dashboard.py` (of the checkout at `root`) on a free loopback port; `env`
    adds (or, with None, removes) environment variables. Yields the base URL; the server (and
    its emulator) stop afterwards."""
    port = free_port()
    full = {**os.environ, "GTCORE_HOME": str(log_dir / "home")}
    for name in ("GT_TARGET", "GT_CONFIG", "GT_REGIONS", "GT_EMULATOR_URL"):
        full.pop(name, None)
    for name, value in env.items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    log = (log_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=root, env=full, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, "streamlit exited; see its log"
                assert time.monotonic() < deadline, "streamlit did not come up in 60 s"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def is_loopback(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    host = parsed.hostname or ""
    return host in LOOPBACK or host.endswith(".localhost")


def settle(page, timeout_s: float = 90) -> None:  # noqa: ANN001 (a Playwright Page)
    """Wait until the script run is over (fragments may start new ones afterwards)."""
    page.wait_for_selector(IDLE, timeout=timeout_s * 1000)


# Elements whose right edge passes their container's, buttons and labels cut with an ellipsis,
# and big values or chips that do not fit their box (a region name broken over two lines).
OVERFLOW_JS = """
() => {
  const main = document.querySelector("[data-testid='stMain']");
  const limit = main.getBoundingClientRect().right + 1;
  const bad = [];
  const name = (el) => (el.getAttribute('data-testid') || el.className.baseVal || el.className
                        || el.tagName) + ': ' + (el.innerText || '').slice(0, 40);
  for (const el of main.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (el.closest('[data-testid="stDataFrame"] .dvn-scroller, pre, code, .stCode')) continue;
    const seen = (el.innerText || '').trim() || ['IMG', 'CANVAS', 'svg'].includes(el.tagName);
    if (seen && r.right > limit) bad.push('past the page: ' + name(el));
  }
  for (const el of main.querySelectorAll('button, [data-testid="stWidgetLabel"] p')) {
    if (el.scrollWidth > el.clientWidth + 1) bad.push('spills out: ' + name(el));
  }
  for (const el of main.querySelectorAll('*')) {  // labels cut with an ellipsis ("Start wat…")
    if (el.closest('[data-testid="stDataFrame"], .js-plotly-plot')) continue;
    if (getComputedStyle(el).textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1)
      bad.push('cut: ' + name(el));
  }
  for (const el of main.querySelectorAll('.gt-oneline')) {
    const line = parseFloat(getComputedStyle(el).lineHeight) || 30;
    if (el.getBoundingClientRect().height > line * 1.5) bad.push('wraps: ' + name(el));
    if (el.scrollWidth > el.clientWidth + 1) bad.push('cut: ' + name(el));
  }
  for (const el of main.querySelectorAll('[data-testid="stMarkdownContainer"] span')) {
    if (getComputedStyle(el).whiteSpace !== 'nowrap') continue;  // region chips
    const box = el.closest('[data-testid="stColumn"], [data-testid="stVerticalBlock"]');
    if (box && el.getBoundingClientRect().right > box.getBoundingClientRect().right + 1)
      bad.push('chip past its column: ' + name(el));
  }
  for (const plot of main.querySelectorAll('.js-plotly-plot')) {
    const box = plot.parentElement.getBoundingClientRect();
    const svg = plot.querySelector('svg.main-svg');
    if (svg && svg.getBoundingClientRect().right > box.right + 1) bad.push('chart cut: ' + name(plot));
  }
  return bad;
}
"""


def overflowing(page) -> list[str]:  # noqa: ANN001
    return page.evaluate(OVERFLOW_JS)
