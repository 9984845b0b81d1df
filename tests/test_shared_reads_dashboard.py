"""Sessions of one dashboard share their reads: two sessions on Replicas live cause one read of
each region's item (through the regional API) and one emulator health check per interval, not
one per session and rerun. The clock under the server's shared reads is a fake one, so "within
the interval" does not depend on how fast the machine runs the script."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gtcore.emulator.client import EmulatorControl
from gtcore.regional_client import RegionalApi
from gtcore.target_reads import HEALTH_S, ITEMS_S
from ui.session import Choice

ROOT = Path(__file__).resolve().parents[1]
TWO = ("us-west-2", "eu-west-1")
pytestmark = pytest.mark.slow  # whole dashboard runs: seconds each


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(emulator, monkeypatch) -> Iterator[FakeClock]:
    from ui import session

    monkeypatch.setenv("GT_EMULATOR_URL", emulator.endpoint)
    fake = FakeClock()
    monkeypatch.setattr(session.shared_reads().shared, "clock", fake)
    yield fake


@pytest.fixture
def requests(monkeypatch) -> Counter:
    """Item GETs per region sent through the regional API, and emulator health checks."""
    seen: Counter = Counter()
    get, faults = RegionalApi.get, EmulatorControl.faults

    def recording_get(self: RegionalApi, pk: str, sk: str, **kwargs):
        seen[("get", self.region)] += 1
        return get(self, pk, sk, **kwargs)

    def recording_faults(self: EmulatorControl):
        seen["health"] += 1
        return faults(self)

    monkeypatch.setattr(RegionalApi, "get", recording_get)
    monkeypatch.setattr(EmulatorControl, "faults", recording_faults)
    return seen


def open_live() -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.session_state["gt_choice"] = Choice(mode="emulator", regions=TWO, table="global-serverless")
    at.run()
    at.switch_page("pages/replicas_live.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def read_at(at: AppTest) -> list[str]:
    return [c.value.rsplit("read at ", 1)[1] for c in at.caption if "read at " in c.value]


def test_two_sessions_on_replicas_live_cause_one_read_per_interval(clock, requests) -> None:
    sessions = [open_live(), open_live()]
    for tick in range(3):
        clock.now += max(ITEMS_S, HEALTH_S)  # the answers read before are now too old
        requests.clear()
        for _ in range(3):
            for at in sessions:
                at.run()
                assert not at.exception, [e.value for e in at.exception]
        assert requests == {("get", "us-west-2"): 1, ("get", "eu-west-1"): 1, "health": 1}, tick
        shown = [read_at(at) for at in sessions]
        assert len(shown[0]) == 2 and shown[0] == shown[1]  # both show the same readings


def test_a_press_in_one_session_is_read_anew_for_every_session(clock, requests) -> None:
    writer, watcher = open_live(), open_live()
    requests.clear()
    writer.button(key="plus_us-west-2").click().run()  # no time passes: only the write forgets
    written = writer.session_state["live_harness"][1].last_write.value
    assert requests[("get", "us-west-2")] == 1
    watcher.run()
    assert requests[("get", "us-west-2")] == 1  # the watcher shares the read made after the write
    assert f"{written}" in " ".join(m.value for m in watcher.markdown)
