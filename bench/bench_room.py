"""The room: many browser sessions on Replicas live at once, against `streamlit run dashboard.py`.

N headless chromium sessions (Debian's chromium, Playwright) open Replicas live at the same
moment, its live refresh on, for a fixed time, against a fresh server on 127.0.0.1 with its own
embedded emulator (lag model ``fixed:500`` unless told otherwise), warmed up by one page load.
Every so often one session presses **+ 1** in a region. Measured:

- render: seconds from opening a session to both regions' readings on screen   [target 15 s]
- /_stcore/health answer time, polled 4 times a second                          [target p95 1 s]
- refresh: the longest gap between two new readings (the "read at" time under each reading
  changes) in each session, after it rendered                                   [target 2 s]
- +1: seconds from a press in one session to the new value in every region of every session
                                                                                [target lag + 2 s]
- the Streamlit server's CPU (share of one core) and RSS, the emulator's CPU, chromium's CPU
  and the machine's load average, so a figure can be read against what else ran.

With ``--py-spy PATH`` (the py-spy binary) the server is sampled for the whole run and the
functions where its time goes are printed.

    python bench/bench_room.py [--sessions 10] [--seconds 60] [--lag fixed:500] [--py-spy PATH]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding"]
TICKS = os.sysconf("SC_CLK_TCK")

# Runs in every session's page: what the readings show, every 200 ms, kept when it changes
# (textContent: no layout forced, the page's own work is what chromium spends its time on).
WATCH_JS = r"""
window.__room = {app: null, title: null, first: null, reads: [], values: [], lastReads: '', lastValues: ''};
setInterval(() => {
  const main = document.querySelector('[data-testid="stMain"]'), now = Date.now(), room = window.__room;
  if (!main) return;
  if (room.app === null) room.app = now;  // Streamlit's page is up in the browser
  const text = main.textContent;
  if (room.title === null && text.includes('Replicas live')) room.title = now;  // the first run's output
  const re = /Bookmark\s*(-?[\d.]+|no item)[\s\S]*?read at (\d\d:\d\d:\d\d\.\d)/g;
  const values = [], reads = [];
  let m;
  while ((m = re.exec(text)) !== null) { values.push(m[1]); reads.push(m[2]); }
  if (values.length < 2) return;
  if (room.first === null) room.first = now;
  if (reads.join('|') !== room.lastReads) { room.lastReads = reads.join('|'); room.reads.push([now, reads]); }
  if (values.join('|') !== room.lastValues) { room.lastValues = values.join('|'); room.values.push([now, values]); }
}, 200);
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, command name, command line) of every live process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        table[int(entry.name)] = (int(rest.split()[1]), name, cmd)
    return table


def processes(named: str, parent: int) -> list[int]:
    """Descendants of ``parent`` whose command name or line contains ``named``."""
    table = process_table()
    found = []
    for pid, (_ppid, name, cmd) in table.items():
        up = pid
        while up in table and up != parent:
            up = table[up][0]
        if up == parent and pid != parent and (named in name or named in cmd):
            found.append(pid)
    return found


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # gone meanwhile
            found[pid] = cpu_seconds(pid)
    return found


def browser_cpu() -> dict[int, float]:
    """CPU seconds of each chromium process this benchmark started (through Playwright)."""
    return cpu_by_pid(processes("chrom", os.getpid()))


def cpu_since(before: dict[int, float], now: dict[int, float]) -> float:
    """CPU seconds used since ``before`` by the processes in ``now`` (new ones from zero)."""
    return sum(used - before.get(pid, 0.0) for pid, used in now.items())


@dataclass
class Health:
    """/_stcore/health answer times, polled in a thread."""

    url: str
    times: list[float] = field(default_factory=list)
    failures: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=30) as r:
                    r.read()
                self.times.append(time.perf_counter() - t)
            except OSError:
                self.failures += 1
            self.stop.wait(0.25)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def read_at_epoch(text: str, near: float) -> float:
    """'HH:MM:SS.s' (local time, as the page shows it) as epoch seconds near ``near``."""
    day = dt.datetime.fromtimestamp(near).date()
    clock = dt.datetime.strptime(text, "%H:%M:%S.%f").time()
    return dt.datetime.combine(day, clock).timestamp()


def start_server(lag: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="gt-room-")) / "server.log"
    env = {**os.environ, "GTCORE_HOME": str(log.parent), "GT_EMULATOR_LAG": lag,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_EC2_METADATA_DISABLED": "true"}
    for name in ("GT_TARGET", "GT_CONFIG", "GT_EMULATOR_URL", "AWS_PROFILE"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return proc, url, log
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"streamlit did not come up; see {log}") from None
            time.sleep(0.1)


def start_py_spy(binary: str, pid: int, seconds: float) -> tuple[subprocess.Popen, Path]:
    out = Path(tempfile.mkdtemp(prefix="gt-room-spy-")) / "server.txt"
    proc = subprocess.Popen([binary, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                             "--rate", "50", "--format", "raw", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, out


def where_time_goes(collapsed: Path, top: int = 18) -> list[str]:
    """Inclusive share of samples per function (``name (file)``), from py-spy's raw output."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f.strip()) for f in stack.split(";")[1:]]  # drop the thread
        frames = [re.sub(r"\(/.*?/(site-packages|lib/python3\.\d+|wt-[^/]+|main)/", "(", f) for f in frames]
        for f in set(frames):
            inclusive[f] += n
        if frames:
            leaf[frames[-1]] += n
    if not total:
        return ["(no samples)"]
    lines = [f"{total} samples; inclusive share (functions on the stack):"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    lines += ["leaf share (where the CPU was when sampled):"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in leaf.most_common(top // 2)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--lag", default="fixed:500")
    parser.add_argument("--presses", type=int, default=4, help="+1 presses, spread over the run")
    parser.add_argument("--py-spy", dest="py_spy", default=None, help="path of the py-spy binary")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    lag_s = float(args.lag.split(":", 1)[1]) / 1000 if args.lag.startswith("fixed:") else None
    load_before = os.getloadavg()
    proc, url, log = start_server(args.lag)
    print(f"machine: {os.cpu_count()} cores; load average before {load_before[0]:.2f} "
          f"(1 min) {load_before[1]:.2f} (5 min); server log {log}")
    health = Health(url)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            warm = browser.new_page()
            t = time.perf_counter()
            warm.goto(url)
            warm.get_by_text("All 2 regions healthy").wait_for(timeout=120_000)
            print(f"warm-up: home page healthy {time.perf_counter() - t:.1f} s after the first visit")
            warm.close()
            emulators = processes("setup.emulator", parent=proc.pid)
            threading.Thread(target=health.run, daemon=True).start()
            spy = start_py_spy(args.py_spy, proc.pid, args.seconds + 15) if args.py_spy else None

            cpu0 = (cpu_seconds(proc.pid), cpu_by_pid(emulators), browser_cpu(), time.time())
            pages, opened = [], []
            for _ in range(args.sessions):
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                page.add_init_script(WATCH_JS)
                opened.append(time.time())
                page.goto(f"{url}/replicas_live", wait_until="commit")
                pages.append(page)
            t_open = time.time()
            rss: list[float] = []
            presses: list[tuple[float, int, int, str]] = []  # (at, session, region index, value)
            press_at = [t_open + args.seconds * (k + 1.5) / (args.presses + 2) for k in range(args.presses)]
            while time.time() < t_open + args.seconds:
                rss.append(rss_mb(proc.pid))
                if press_at and time.time() >= press_at[0]:
                    press_at.pop(0)
                    k = len(presses)
                    who, region = k % args.sessions, k % 2
                    page = pages[who]
                    before = set(re.findall(r"\+1 → (-?\d+)", page.inner_text("[data-testid='stMain']")))
                    at = time.time()
                    page.locator("button", has_text="+ 1").nth(region).click()
                    value = None
                    deadline = time.time() + 15
                    while value is None and time.time() < deadline:
                        now = set(re.findall(r"\+1 → (-?\d+)", page.inner_text("[data-testid='stMain']")))
                        value = next(iter(now - before), None)
                        time.sleep(0.05)
                    presses.append((at, who, region, value or "?"))
                time.sleep(0.5)
            t_end = time.time()
            cpu1 = (cpu_seconds(proc.pid), cpu_by_pid(emulators), browser_cpu(), t_end)
            logs = [page.evaluate("window.__room") for page in pages]
            exceptions = sum(page.locator("[data-testid='stException']").count() for page in pages)
            unrendered = [" ".join(page.inner_text("body").split())[:300]
                          for page, log in zip(pages, logs, strict=True) if not log["first"]]
            browser.close()
    finally:
        health.stop.set()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    load_after = os.getloadavg()
    wall = cpu1[3] - cpu0[3]

    def since_open(what: str) -> list[float]:
        return [(log[what] / 1000 - t0) if log[what] else float("inf") for log, t0 in zip(logs, opened, strict=True)]

    renders = since_open("first")
    gaps, staleness = [], []
    for log in logs:
        reads = [(at / 1000, shown) for at, shown in log["reads"]]
        changes = [at for (at, shown), (_, prev) in zip(reads[1:], reads, strict=False) if shown[0] != prev[0]]
        times = ([reads[0][0]] if reads else []) + changes
        gaps.append(max((b - a for a, b in zip(times, times[1:], strict=False)), default=float("inf")))
        staleness += [at - read_at_epoch(shown[0], at) for at, shown in reads]
    delays = []
    for at, _who, _region, value in presses:
        for log in logs:
            seen = [t / 1000 for t, values in log["values"] if t / 1000 >= at and all(v == value for v in values)]
            delays.append((seen[0] - at) if seen else float("inf"))

    print(f"sessions: {args.sessions} on Replicas live (live refresh on) for {wall:.0f} s; lag model {args.lag}; "
          f"page exceptions {exceptions}")
    print(f"render: max {max(renders):.1f} s, median {statistics.median(renders):.1f} s; "
          f"{sum(r == float('inf') for r in renders)} never rendered   [target 15 s]; of which the page "
          f"up in chromium: median {statistics.median(since_open('app')):.1f} s, the page's title (its first "
          f"script output) median {statistics.median(since_open('title')):.1f} s")
    print(f"health: p50 {percentile(health.times, 0.5):.3f} s, p95 {percentile(health.times, 0.95):.3f} s, "
          f"max {max(health.times, default=float('nan')):.3f} s over {len(health.times)} polls, "
          f"{health.failures} failed   [target p95 1 s]")
    print(f"refresh: longest gap between new readings per session: max {max(gaps):.1f} s, median "
          f"{statistics.median(gaps):.1f} s; reading age on screen p50 {percentile(staleness, 0.5):.2f} s, "
          f"p95 {percentile(staleness, 0.95):.2f} s   [target 2 s]")
    target = f"lag + 2 s = {lag_s + 2:.1f} s" if lag_s is not None else "lag + 2 s"
    print(f"+1 in one session shown in every session: {len(presses)} presses x {args.sessions} sessions, max "
          f"{max(delays, default=float('nan')):.2f} s, "
          f"median {statistics.median(delays) if delays else float('nan'):.2f} s, "
          f"{sum(d == float('inf') for d in delays)} never   [target {target}]")
    print(f"server: CPU {100 * (cpu1[0] - cpu0[0]) / wall:.0f}% of one core, RSS max {max(rss):.0f} MB; "
          f"emulator CPU {100 * cpu_since(cpu0[1], cpu1[1]) / wall:.0f}%; "
          f"chromium CPU {100 * cpu_since(cpu0[2], cpu1[2]) / wall:.0f}%")
    print(f"load average after: {load_after[0]:.2f} (1 min), {load_after[1]:.2f} (5 min)")
    for shown in unrendered[:3]:
        print(f"a session that never rendered shows: {shown!r}")
    if spy is not None:
        spy[0].wait(timeout=60)
        print("\n".join(where_time_goes(spy[1])) if spy[1].exists() else "py-spy wrote nothing")


if __name__ == "__main__":
    main()
