"""Server time of one script run per page, as a session pays it (AppTest, in process).

Each page of the dashboard is opened in a fresh session (the dashboard starts its own emulator
and sets the workshop up first, not timed), then run again and again; printed per page: the
median and the maximum time of a run. Two cases:

- alone: one session rerunning back to back (its reads are its own, or shared with nobody);
- in a room: ``--sessions`` sessions on the page, rerun in turn, as a room's sessions ask at once
  (with shared reads only the first of them in each interval reads; the others only render).

    python bench/bench_reruns.py [--runs 10] [--sessions 5] [--pages replicas_live,...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ("home", "replicas_live", "region_failure", "cloudwatch", "setup", "data_explorer")
REGIONS = ("us-west-2", "eu-west-1")


def open_session(page: str):
    from streamlit.testing.v1 import AppTest

    from ui.session import Choice

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.session_state["gt_choice"] = Choice(mode="emulator", regions=REGIONS)
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def timed_runs(sessions: list, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        for at in sessions:
            t = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t)
            assert not at.exception, [e.value for e in at.exception]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--pages", default=",".join(PAGES))
    args = parser.parse_args()
    os.environ.pop("GT_EMULATOR_URL", None)  # the dashboard starts its own emulator, as for a user
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"{args.runs} runs per session")
    for page in args.pages.split(","):
        alone = timed_runs([open_session(page)], args.runs)
        room = timed_runs([open_session(page) for _ in range(args.sessions)], args.runs)
        print(f"{page:15s} alone: median {1000 * statistics.median(alone):6.0f} ms, max {1000 * max(alone):6.0f} ms"
              f" | {args.sessions} sessions in turn: median {1000 * statistics.median(room):6.0f} ms, "
              f"max {1000 * max(room):6.0f} ms")


if __name__ == "__main__":
    main()
