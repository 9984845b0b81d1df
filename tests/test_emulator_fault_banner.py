"""Issue 9, point 1 on the dashboard: a replication fault shows as a banner beside the figures,
on the Status page and on Replicas live, fed by the status probe (AppTest, session emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_emulator_supervision import _inject_refused_write

from gtcore.target import Connection, Target
from gtcore.target_reads import STATUS_S
from gtcore.workshop import teardown_workshop
from ui import session
from ui.session import Choice

ROOT = Path(__file__).resolve().parents[1]
TWO = ("us-west-2", "eu-west-1")


@pytest.fixture
def choice(emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Choice]:
    monkeypatch.setenv("GT_EMULATOR_URL", emulator.endpoint)  # the dashboard's emulator
    ours = Choice(mode="emulator", regions=TWO, table="gt-fault-banner")  # the app sets it up
    yield ours
    emulator.clear_faults()
    teardown_workshop(Connection(Target(regions=TWO, table=ours.table, endpoint=emulator.endpoint)))


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_a_replication_fault_shows_on_status_and_replicas_live(emulator, choice: Choice, monkeypatch) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.session_state["gt_choice"] = choice
    at.run()
    assert not at.exception and not any("replication into" in e for e in _errors(at))
    _inject_refused_write(emulator, choice.table, "refused")
    assert emulator.wait_replicated(10)
    clock = session.shared_reads().shared.clock
    monkeypatch.setattr(session.shared_reads().shared, "clock", lambda: clock() + STATUS_S)  # next interval
    at.run()
    assert not at.exception
    (banner,) = [e for e in _errors(at) if "eu-west-1 failed" in e]
    assert banner.startswith("Replication into eu-west-1 failed for 1 item: ") and "Number underflow" in banner
    assert any("replication problems" in w.value for w in at.warning)
    at.switch_page("pages/replicas_live.py").run()
    assert not at.exception
    assert any("Replication into eu-west-1 failed for 1 item" in e for e in _errors(at))
