"""Dashboard timings on this machine.

1. Cold start: from `streamlit run dashboard.py` (a fresh process, its embedded emulator, the
   workshop setup) to a home page that shows every region healthy, in Debian's chromium.
   Target: 10 s on a 2-core machine.
2. Lag-page rerun holding 10,000 samples: the server time of one run of the Replication lag
   page (AppTest, in process) when the session holds a finished probe with 10,000 samples.
   Target: 0.5 s. The samples are synthetic (realistic lags and bounds drawn at random) and the
   probe is a stand-in with LagProbe's read interface: a real 10,000-sample run takes minutes.

    python bench/bench_dashboard.py [--runs 5] [--samples 10000] [--skip-browser]
                                    [--regions us-west-2,eu-west-1]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cold_start() -> dict[str, float]:
    """Seconds from Popen to: server health, first page idle, home showing all regions healthy."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "GTCORE_HOME": tempfile.mkdtemp(prefix="gtcore-bench-"),
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_EC2_METADATA_DISABLED": "true"}
    for name in ("GT_TARGET", "GT_CONFIG", "AWS_PROFILE"):
        env.pop(name, None)
    url = f"http://127.0.0.1:{port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None or time.perf_counter() - t0 > 60:
                        raise SystemExit("streamlit did not come up") from None
                    time.sleep(0.05)
            t_health = time.perf_counter() - t0
            page.goto(url)
            page.get_by_text("All 2 regions healthy").wait_for(timeout=120_000)
            t_ready = time.perf_counter() - t0
        finally:
            browser.close()
            proc.terminate()
            proc.wait(timeout=15)
    return {"server_up_s": t_health, "home_ready_s": t_ready}


# --- the lag page with 10,000 samples -------------------------------------------------------------


@dataclass
class RecordedProbe:
    """A finished probe's read side (what the lag page calls), over given samples."""

    samples_list: list
    run_id: str = "bench"
    state: str = "done"
    running: bool = False
    error: object = None
    warnings: list = field(default_factory=list)

    def samples(self) -> list:
        return list(self.samples_list)

    def frame(self):
        from gtcore.experiments.lag_probe import samples_frame

        return samples_frame(self.samples_list)

    def to_csv(self) -> str:
        return self.frame().to_csv(index=False)

    def progress(self):
        from gtcore.experiments.lag_probe import ProbeProgress

        n = len(self.samples_list)
        ok = sum(1 for s in self.samples_list if s.status == "ok")
        return ProbeProgress(state="done", total=n, done=n, ok=ok, timeouts=n - ok, errors=0,
                             in_flight=0, elapsed_s=n / 20.0)


def synthetic_samples(n: int, pairs: list[tuple[str, str]], seed: int = 5) -> list:
    from gtcore.experiments.lag_probe import LagSample

    rng = random.Random(seed)
    out = []
    start = time.time() - n / 20.0
    for i in range(n):
        src, dst = pairs[i % len(pairs)]
        timeout = rng.random() < 0.002
        lag = rng.triangular(500, 2500, 1000)
        width = rng.uniform(5, 60)
        out.append(LagSample(
            run_id="bench", probe=f"{i}:{src}", seq=i // len(pairs), source=src,
            destination=dst, status="timeout" if timeout else "ok",
            lag_ms=math.nan if timeout else lag, lower_ms=lag - width / 2,
            upper_ms=math.nan if timeout else lag + width / 2, write_rtt_ms=rng.uniform(3, 12),
            reads=6, misses=5, read_errors=0, regressions=0, write_wall=start + i / 20.0,
        ))
    return out


def lag_page_reruns(samples: int, runs: int, regions: tuple[str, ...]) -> dict[str, float]:
    from streamlit.testing.v1 import AppTest

    from ui.session import Choice

    pairs = [(a, b) for a in regions for b in regions if a != b]
    os.environ.pop("GT_EMULATOR_URL", None)  # the dashboard starts its own emulator, as for a user
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.session_state["gt_choice"] = Choice(mode="emulator", regions=regions)
    at.run()  # starts the emulator and sets the workshop up; not timed
    at.switch_page("pages/replication_lag.py").run()
    at.session_state["lag_probe"] = RecordedProbe(synthetic_samples(samples, pairs))
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    assert not at.exception, [e.value for e in at.exception]
    assert at.dataframe and len(at.dataframe[0].value) == len(pairs)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
    assert not at.exception
    return {"first_render_s": first, "rerun_median_s": statistics.median(times),
            "rerun_max_s": max(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--regions", default="us-west-2,eu-west-1",
                        help="regions of the lag page (5 regions = 20 pairs, one panel each)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    if not args.skip_browser:
        if not Path(CHROMIUM).exists():
            raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium) "
                             "or pass --skip-browser")
        cold = cold_start()
        print(f"cold start: server answering after {cold['server_up_s']:.1f} s, home page "
              f"ready (emulator up, workshop set up, every region healthy) after "
              f"{cold['home_ready_s']:.1f} s   [target 10 s]")
    regions = tuple(r.strip() for r in args.regions.split(",") if r.strip())
    lag = lag_page_reruns(args.samples, args.runs, regions)
    print(f"lag page with {args.samples:,} samples over {len(regions)} regions: first render "
          f"{lag['first_render_s']:.2f} s (builds the samples table), rerun median {lag['rerun_median_s']:.3f} s, max "
          f"{lag['rerun_max_s']:.3f} s over {args.runs} runs   [target 0.5 s]")


if __name__ == "__main__":
    main()
