"""Read-only set by the environment (``GT_READ_ONLY``) is locked in the dashboard; read-only
chosen in the sidebar stays switchable (issue 9, point 8).

The AWS target uses a profile with made-up keys and every AWS endpoint points at a closed
loopback port, so nothing leaves the machine (and the pages draw: they stop only when there are
no credentials at all).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.session import Choice

ROOT = Path(__file__).resolve().parents[1]
AWS = Choice(mode="aws", regions=("us-west-2", "eu-west-1"), table="global-serverless",
             profile="gt-offline", read_only=True)
pytestmark = pytest.mark.usefixtures("offline_aws_profile")
WRITES = {"pages/setup.py": ["setup_run", "setup_add", "teardown_ask"],
          "pages/conflicts.py": ["demo_go", "lab_go"],
          "pages/region_failure.py": ["drill_start"]}


def _open(choice: Choice) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["gt_choice"] = choice
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _apply_read_only(at: AppTest, value: bool) -> None:
    at.toggle(key="sidebar_read_only").set_value(value)
    at.button(key="sidebar_apply").click().run()
    assert not at.exception, [e.value for e in at.exception]


def _writes_disabled(at: AppTest) -> bool:
    disabled = []
    for page, keys in WRITES.items():
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        disabled += [at.button(key=key).disabled for key in keys]
    assert len(set(disabled)) == 1, disabled
    return disabled[0]


@pytest.mark.parametrize("stored", [True, False], ids=["chosen-read-only", "stored-writable"])
def test_read_only_from_the_environment_is_locked(monkeypatch, stored):
    monkeypatch.setenv("GT_READ_ONLY", "1")
    at = _open(Choice(**{**AWS.__dict__, "read_only": stored}))
    toggle = at.toggle(key="sidebar_read_only")
    assert toggle.value is True and toggle.disabled
    assert any("Set by `GT_READ_ONLY`" in c.value for c in at.caption)
    # A browser cannot click a disabled toggle; a forged widget value and Apply change nothing.
    at.session_state["sidebar_read_only"] = False
    at.button(key="sidebar_apply").click().run()
    assert at.session_state["gt_choice"].read_only is True
    assert at.toggle(key="sidebar_read_only").value is True
    assert _writes_disabled(at)


def test_read_only_from_the_environment_survives_a_trip_to_the_emulator(monkeypatch):
    monkeypatch.setenv("GT_READ_ONLY", "yes")
    at = _open(AWS)
    at.session_state["sidebar_mode"] = "emulator"  # the mode switch, then back, then Apply
    at.session_state["sidebar_read_only"] = False
    at.session_state["sidebar_mode"] = "aws"
    at.button(key="sidebar_apply").click().run()
    assert at.session_state["gt_choice"].mode == "aws"
    assert at.session_state["gt_choice"].read_only is True
    assert at.toggle(key="sidebar_read_only").disabled


def test_read_only_chosen_in_the_sidebar_stays_switchable(monkeypatch):
    monkeypatch.delenv("GT_READ_ONLY", raising=False)
    at = _open(AWS)
    toggle = at.toggle(key="sidebar_read_only")
    assert toggle.value is True and not toggle.disabled
    assert not any("GT_READ_ONLY" in c.value for c in at.caption)
    assert _writes_disabled(at)
    _apply_read_only(at, False)
    assert at.session_state["gt_choice"].read_only is False
    assert not _writes_disabled(at)
    _apply_read_only(at, True)
    assert at.session_state["gt_choice"].read_only is True


@pytest.mark.parametrize("value, locked", [("1", True), ("true", True), ("maybe", True),
                                           ("0", False), ("off", False), ("", False)])
def test_which_values_lock_read_only(monkeypatch, value, locked):
    from ui.session import read_only_locked

    monkeypatch.setenv("GT_READ_ONLY", value)
    assert read_only_locked() is locked
