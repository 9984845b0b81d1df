"""Every page of the dashboard, run in process (AppTest) against the session's emulator.

Each test opens the dashboard as a fresh browser session would, on its own table, clicks the
page's main action and checks what the page then shows. The embedded emulator of the app is
the test session's emulator, named by `GT_EMULATOR_URL` as a user names one already running:
the dashboard then starts none and drives this one over HTTP, as it drives its own child.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from gtcore.actions.throttle import restore_region, throttle_region, throttle_state
from gtcore.regional_urls import host_form_url
from gtcore.target import Connection, Target
from gtcore.workshop import teardown_workshop
from ui.session import Choice

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "pages/setup.py": "Setup",
    "pages/replicas_live.py": "Replicas live",
    "pages/conflicts.py": "Conflicts",
    "pages/region_failure.py": "Region failure",
    "pages/replication_lag.py": "Replication lag",
    "pages/cloudwatch.py": "CloudWatch ReplicationLatency",
    "pages/data_explorer.py": "Data explorer",
}
TWO = ("us-west-2", "eu-west-1")


@pytest.fixture(scope="module")
def choice(emulator) -> Iterator[Choice]:
    """The workshop's table, set up by the dashboard itself on the first run (and torn down
    afterwards when this module created it, so the session emulator is left as found)."""
    ours = Choice(mode="emulator", regions=TWO, table="global-serverless")
    conn = Connection(Target(regions=TWO, table=ours.table, endpoint=emulator.endpoint))
    existed = ours.table in conn.client("dynamodb", TWO[0]).list_tables()["TableNames"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GT_EMULATOR_URL", emulator.endpoint)
        yield ours
    if not existed:  # leave the shared emulator as we found it
        teardown_workshop(conn)


@pytest.fixture
def conn(emulator, choice: Choice) -> Connection:
    return Connection(Target(regions=choice.regions, table=choice.table,
                             endpoint=emulator.endpoint))


def open_app(choice: Choice, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.session_state["gt_choice"] = choice
    at.run()
    assert_clean(at)
    if page is not None:
        at.switch_page(page).run()
        assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [s.value for s in at.success] + [i.value for i in at.info]
    parts += [p.proto.text for p in at.get("progress")]
    return "\n".join(str(p) for p in parts)


def figures(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0,
             explain: Callable[[], object] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting: {explain()}"
        time.sleep(0.1)


# --- every page -----------------------------------------------------------------------------------


def test_home_sets_up_the_workshop_and_shows_every_region_healthy(choice: Choice) -> None:
    at = open_app(choice)
    assert at.title[0].value == "Global Tables at a glance"
    shown = texts(at)
    assert shown.count("Healthy") == 2
    assert "All 2 regions healthy" in shown
    bars = [f for f in figures(at) if f["layout"]["title"]["text"] == "Items in each replica"]
    assert bars and bars[0]["data"][0]["y"][0] >= 14  # 12 titles + the demo bookmarks
    assert not at.error


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_without_errors(choice: Choice, page: str) -> None:
    at = open_app(choice, page)
    assert at.title[0].value == PAGES[page]
    assert not at.error, [e.value for e in at.error]


# --- main actions ---------------------------------------------------------------------------------


def test_replicas_live_plus_reaches_the_other_region(choice: Choice) -> None:
    at = open_app(choice, "pages/replicas_live.py")
    at.button(key="plus_us-west-2").click().run()
    assert_clean(at)
    harness = at.session_state["live_harness"][1]
    written = harness.last_write.value
    assert harness.last_write.region == "us-west-2" and written is not None
    assert f"+1 → {written}" in texts(at)

    def caught_up() -> bool:
        at.run()
        return "eu-west-1" in harness.last_write.seen_after

    wait_for(caught_up, 15)
    assert_clean(at)
    assert "Caught up: **eu-west-1** after" in texts(at)
    assert "in sync with the last write" in texts(at)


def test_replicas_live_set_value(choice: Choice) -> None:
    at = open_app(choice, "pages/replicas_live.py")
    at.number_input(key="value_eu-west-1").set_value(42)
    at.button(key="set_eu-west-1").click().run()
    assert_clean(at)
    assert "set 42 → 42" in texts(at)


def test_lag_probe_runs_and_shows_charts_table_and_physics(choice: Choice) -> None:
    at = open_app(choice, "pages/replication_lag.py")
    at.number_input(key="probe_samples").set_value(4)
    at.number_input(key="probe_rate").set_value(10.0)
    at.button(key="probe_start").click().run()
    assert_clean(at)
    probe = at.session_state["lag_probe"]
    assert probe.wait(60)
    at.run()
    assert_clean(at)
    shown = texts(at)
    assert "Finished: 8 of 8 samples" in shown
    assert "Typical write reaches" in shown and "the physics floor" in shown
    table = at.dataframe[0].value
    assert len(table) == 2 and set(table["from"]) == set(TWO)
    assert (table["p50 ms"] > table["light in fiber ms"]).all()
    ecdf = [f for f in figures(at) if "ECDF" in f["layout"]["title"]["text"]][0]
    assert sorted(t["name"] for t in ecdf["data"]) == ["eu-west-1 → us-west-2",
                                                        "us-west-2 → eu-west-1"]
    assert at.get("download_button")


def test_conflict_guided_demo_plus_and_minus_names_the_lost_write(choice: Choice) -> None:
    at = open_app(choice, "pages/conflicts.py")
    at.button(key="demo_go").click().run()
    assert_clean(at)
    demo = at.session_state["conflict_demo"]
    assert demo.wait(60)
    at.run()
    assert_clean(at)
    assert demo.error is None, demo.error
    result = demo.results()[0]
    assert sorted(w.amount for w in result.writes) == [-1, 1]
    assert result.converged and result.final in (result.base - 1, result.base, result.base + 1)
    shown = texts(at)
    assert f"Every region now shows **{result.final}**" in shown
    if result.conflict:
        loser = result.lost[0]
        assert result.final != result.base and loser != result.winner
        assert f"**{loser}**'s write was acknowledged" in shown
    timeline = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("Trial 1")]
    names = {t["name"] for t in timeline[0]["data"]}
    assert {"us-west-2 reads", "eu-west-1 reads"} <= names


def test_conflict_lab_trials_table_and_timeline(choice: Choice) -> None:
    at = open_app(choice, "pages/conflicts.py")
    at.number_input(key="lab_trials").set_value(3)
    at.button(key="lab_go").click().run()
    assert_clean(at)
    lab = at.session_state["conflict_lab"]
    assert lab.wait(90), lab.progress()
    at.run()
    assert_clean(at)
    assert "3 of 3 trials" in texts(at)
    frame = at.dataframe[0].value
    assert list(frame["trial"]) == [1, 2, 3]
    assert {"Trial 3: what each region saw"} <= {f["layout"]["title"]["text"]
                                                  for f in figures(at)}
    assert at.metric[0].label == "Conflicts"
    assert len(at.get("download_button")) == 2  # trials CSV and the re-checkable history


def test_throttle_then_restore_exactly(choice: Choice, conn: Connection) -> None:
    region = "eu-west-1"
    at = open_app(choice, "pages/region_failure.py")  # sets the workshop up when it is not
    before = throttle_state(conn, region).reserved
    try:
        at.button(key=f"throttle_{region}_ask").click().run()
        assert "stops answering" in texts(at)
        at.button(key=f"throttle_{region}_yes").click().run()
        assert_clean(at)
        assert throttle_state(conn, region).throttled
        shown = texts(at)
        assert f"{region}: throttled; will restore" in shown
        assert "API throttled" in shown

        live = open_app(choice, "pages/replicas_live.py")
        assert "HTTP 500" in "\n".join(w.value for w in live.warning)

        at.button(key=f"restore_{region}_ask").click().run()
        at.button(key=f"restore_{region}_yes").click().run()
        assert_clean(at)
        after = throttle_state(conn, region)
        assert not after.throttled and after.reserved == before and not after.marked
        assert f"{region}: restored" in texts(at)
    finally:
        restore_region(conn, region)


def test_restore_all_puts_back_every_throttled_region_in_one_action(choice: Choice, conn: Connection) -> None:
    regions = list(choice.regions)
    at = open_app(choice, "pages/region_failure.py")  # sets the workshop up when it is not
    before = {r: throttle_state(conn, r).reserved for r in regions}
    for region in regions:
        throttle_region(conn, region)
    try:
        at.run()
        at.button(key="restore_all_ask").click().run()
        at.button(key="restore_all_yes").click().run()
        assert_clean(at)
        for region in regions:
            after = throttle_state(conn, region)
            assert not after.throttled and after.reserved == before[region] and not after.marked, region
    finally:
        for region in regions:
            restore_region(conn, region)


def test_isolate_and_heal_show_as_messages(choice: Choice, emulator) -> None:
    at = open_app(choice, "pages/region_failure.py")
    try:
        at.button(key="isolate_eu-west-1").click().run()
        assert_clean(at)
        assert emulator.is_isolated("eu-west-1")
        assert "Heal" in [b.label for b in at.button]
        live = open_app(choice, "pages/replicas_live.py")
        assert live.warning, "an isolated region shows as a warning"
        at.button(key="heal_eu-west-1").click().run()
        assert_clean(at)
        assert not emulator.is_isolated("eu-west-1")
    finally:
        emulator.heal("eu-west-1")


def test_replica_diff_finds_agreement(choice: Choice) -> None:
    at = open_app(choice, "pages/data_explorer.py")
    assert len(at.dataframe) == 2 and len(at.dataframe[0].value) == 12  # the catalog
    at.slider(key="diff_settle").set_value(0.5)
    at.button(key="diff_go").click().run()
    job = at.session_state["explorer_diff"]
    assert job.wait(60)
    at.run()
    assert_clean(at)
    assert job.result is not None and job.result.ok
    assert "All replicas agree" in texts(at)


def test_cloudwatch_page_shows_metric_and_measured_side_by_side(choice: Choice) -> None:
    at = open_app(choice, "pages/cloudwatch.py")
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert "CloudWatch: mean lag (ms)" in titles
    assert "ReplicationLatency, Average per 1 min" in titles
    assert at.dataframe and len(at.dataframe[0].value) == 2  # one row per pair


# --- targets and errors ---------------------------------------------------------------------------


def test_aws_target_without_credentials_is_a_message_not_a_traceback(choice: Choice) -> None:
    aws = Choice(mode="aws", regions=TWO, table=choice.table, profile="no-such-profile-gt")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["gt_choice"] = aws
    at.run()
    assert_clean(at)
    errors = "\n".join(e.value for e in at.error)
    assert "no-such-profile-gt" in errors or "credentials" in errors.lower()
    assert "AWS profile" in texts(at) and "Local emulator" in texts(at)  # what to do, in the screen's words
    assert "--profile" not in texts(at) + errors


@pytest.mark.slow
def test_three_regions_everywhere(choice: Choice) -> None:
    three = Choice(mode="emulator", regions=(*TWO, "ap-northeast-1"),
                   table=f"gt-pages3-{uuid.uuid4().hex[:6]}")
    at = open_app(three)
    assert texts(at).count("Healthy") == 3
    for page in ("pages/replicas_live.py", "pages/region_failure.py", "pages/data_explorer.py"):
        at.switch_page(page).run()
        assert_clean(at)
        assert not at.error, (page, [e.value for e in at.error])


@pytest.mark.slow
def test_setup_adds_and_removes_a_replica_then_tears_everything_down(emulator) -> None:
    own = Choice(mode="emulator", regions=TWO, table=f"gt-setup-{uuid.uuid4().hex[:6]}")
    at = open_app(own, "pages/setup.py")
    at.selectbox(key="setup_add_region").set_value("eu-central-1")
    at.button(key="setup_add").click().run()
    assert_clean(at)
    assert at.session_state["gt_choice"].regions == (*TWO, "eu-central-1")
    assert at.session_state["sidebar_regions"] == [*TWO, "eu-central-1"]
    assert texts(at).count("Healthy") == 3
    conn = Connection(Target(regions=(*TWO, "eu-central-1"), table=own.table,
                             endpoint=emulator.endpoint))
    desc = conn.client("dynamodb", "us-west-2").describe_table(TableName=own.table)["Table"]
    assert {r["RegionName"] for r in desc["Replicas"]} >= {"eu-west-1", "eu-central-1"}

    at.selectbox(key="setup_remove_region").set_value("eu-central-1").run()
    at.button(key="remove_replica_ask").click().run()
    at.button(key="remove_replica_yes").click().run()
    assert_clean(at)
    assert at.session_state["gt_choice"].regions == TWO
    desc = conn.client("dynamodb", "us-west-2").describe_table(TableName=own.table)["Table"]
    assert {r["RegionName"] for r in desc["Replicas"]} == {"eu-west-1"}
    assert texts(at).count("Healthy") == 2

    at.button(key="teardown_ask").click().run()
    assert f"deletes table `{own.table}` and every item in it in **us-west-2, eu-west-1**" in texts(at)
    at.button(key="teardown_yes").click().run()
    assert_clean(at)
    assert texts(at).count("No table here") == 2
    assert not at.exception
    tables = conn.client("dynamodb", "us-west-2").list_tables()["TableNames"]
    assert own.table not in tables


def test_sidebar_apply_changes_the_target(choice: Choice) -> None:
    at = open_app(choice)
    at.multiselect(key="sidebar_regions").set_value(["eu-west-1", "us-west-2"])
    at.button(key="sidebar_apply").click().run()
    assert_clean(at)
    assert at.session_state["gt_choice"].regions == ("eu-west-1", "us-west-2")
    at.multiselect(key="sidebar_regions").set_value([])
    at.button(key="sidebar_apply").click().run()
    assert_clean(at)
    assert at.session_state["gt_choice"].regions == ("eu-west-1", "us-west-2")
    assert any("Pick one or more regions under **Regions**" in e.value for e in at.error)
    assert not any("--regions" in e.value for e in at.error)


@pytest.mark.slow
def test_failover_drill_fails_over_and_loses_nothing(choice: Choice, conn: Connection) -> None:
    at = open_app(choice, "pages/region_failure.py")
    at.button(key="drill_start").click().run()
    assert_clean(at)
    drill = at.session_state["failover_drill"]
    try:
        wait_for(lambda: drill.state().tick >= 2, 15)
        at.button(key="throttle_us-west-2_ask").click().run()
        at.button(key="throttle_us-west-2_yes").click().run()
        assert_clean(at)
        wait_for(lambda: drill.active == "eu-west-1", 20,
                 lambda: (texts(at)[-2000:], [e.message for e in drill.state().log[-8:]]))
        at.run()
        assert_clean(at)
        assert "failed over from us-west-2" in texts(at)
        at.button(key="restore_us-west-2_ask").click().run()
        at.button(key="restore_us-west-2_yes").click().run()
        wait_for(lambda: drill.active == "us-west-2", 30)
        at.button(key="drill_stop").click().run()
        assert drill.wait(60)
        at.run()
        assert_clean(at)
    finally:
        drill.stop()
        restore_region(conn, "us-west-2")
    verdict = drill.verdict
    assert verdict is not None and verdict.passed, verdict.describe()
    shown = texts(at)
    assert "Passed: 0 acknowledged writes lost (RPO)" in shown
    assert verdict.rto_ms is not None and f"recovery time {verdict.rto_ms / 1000:.1f} s" in shown
    latency = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("Write latency")]
    names = {t["name"] for t in latency[0]["data"]}
    assert {"us-west-2 ok", "us-west-2 failed", "eu-west-1 ok"} <= names
    assert at.get("download_button")  # the drill's verdict and history


def test_read_only_aws_target_switches_every_write_off(choice: Choice,
                                                      offline_aws_profile: str) -> None:
    """Made-up keys and a closed loopback endpoint: no traffic beyond loopback."""
    ro = Choice(mode="aws", regions=TWO, table=choice.table, profile=offline_aws_profile,
                read_only=True)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["gt_choice"] = ro
    at.run()
    assert_clean(at)
    for page, keys in {"pages/conflicts.py": ["demo_go", "lab_go"],
                       "pages/replication_lag.py": ["probe_start"],
                       "pages/region_failure.py": ["drill_start"],
                       "pages/setup.py": ["setup_run", "setup_add", "teardown_ask"]}.items():
        at.switch_page(page).run()
        assert_clean(at)
        for key in keys:
            assert at.button(key=key).disabled, (page, key)


def test_sidebar_changes_the_emulators_lag_model(choice: Choice, emulator) -> None:
    before = emulator.lag_description()
    at = open_app(choice)
    try:
        at.selectbox(key="sidebar_lag").set_value("fixed:300").run()
        assert_clean(at)
        assert emulator.lag_description() == "fixed:300"
        assert "Now: fixed:300 (every write arrives after 0.3 s)" in texts(at)
    finally:
        emulator.set_lag(before)


def test_home_shows_each_regions_api_url_to_copy_and_where_to_paste_it(choice: Choice, emulator) -> None:
    at = open_app(choice)
    codes = [c.value for c in at.code]
    for region in choice.regions:
        assert host_form_url(emulator.endpoint, region) in codes
        assert f"{emulator.endpoint}/_api/{region}/api/" in codes
    assert "For the workshop's web pages" in texts(at) and "cannot resolve *.localhost" in texts(at)
