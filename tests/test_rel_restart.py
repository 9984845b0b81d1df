"""The dashboard process dies while a function is throttled: the next dashboard start shows it
on the home page and on Region failure, and restoring puts back exactly the previous setting.

(The gtcore-level and CLI halves are in test_faults.py.)
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_helpers import client
from streamlit.testing.v1 import AppTest
from test_faults import _run_child

from gtcore.actions.throttle import TAG, throttled_regions
from gtcore.target import Connection, Target

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ("us-west-2", "eu-west-1")


@pytest.fixture
def workshop(emulator, unique_table) -> Iterator[Connection]:
    from gtcore.workshop import provision_workshop

    conn = Connection(Target(regions=REGIONS, table=unique_table, endpoint=emulator.endpoint))
    assert provision_workshop(conn).ok
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GT_EMULATOR_URL", emulator.endpoint)  # the dashboard's emulator
        yield conn


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [str(p.proto) for p in at.get("page_link")]
    return "\n".join(str(p) for p in parts)


def test_fresh_dashboard_shows_a_throttle_left_by_a_killed_process_and_restores_it(
        workshop, emulator):
    from ui.session import Choice

    conn = workshop
    table, fn = conn.target.table, conn.target.function_name
    lam = client(emulator.endpoint, "lambda", "eu-west-1")
    lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=7)
    # "The dashboard" throttles eu-west-1 and is killed (SIGKILL: no clean-up of any kind).
    rc = _run_child(emulator.endpoint, table, ["eu-west-1"], die_before_set=False,
                    target_regions=REGIONS)
    assert rc == -signal.SIGKILL
    assert throttled_regions(conn) == ["eu-west-1"]

    # The next start: a new session of the dashboard.
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.session_state["gt_choice"] = Choice(mode="emulator", regions=REGIONS, table=table)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    home = _text(at)
    assert "API throttled" in home and "Restore the throttled region" in home

    at.switch_page("pages/region_failure.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "THROTTLED" in _text(at) or "throttled" in _text(at)
    assert "puts back reserved concurrency 7" in _text(at)
    at.button(key="restore_eu-west-1_ask").click().run()
    at.button(key="restore_eu-west-1_yes").click().run()
    assert not at.exception, [e.value for e in at.exception]

    resp = lam.get_function_concurrency(FunctionName=fn)
    assert resp.get("ReservedConcurrentExecutions") == 7  # exactly what was there
    arn = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    assert TAG not in lam.list_tags(Resource=arn).get("Tags", {})
    assert throttled_regions(conn) == []
