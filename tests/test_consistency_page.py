"""The MREC vs MRSC page (AppTest, against the session's emulator) and the Setup page making an MRSC table."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from gtcore.consistency import read_mode
from gtcore.experiments.side_by_side import MODES, US, ModeResult
from gtcore.target import Connection, Target
from gtcore.workshop import teardown_workshop
from tests.test_pages import assert_clean, open_app, texts
from ui.consistency_view import WAITING, verdict_rows
from ui.session import Choice

PAGE = "pages/consistency.py"


@pytest.fixture
def emulator_env(emulator) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GT_EMULATOR_URL", emulator.endpoint)
        yield


def verdict(at: AppTest, cell: str) -> str | None:
    """A cell of the verdict table, e.g. ``MRSC-lost`` (None while the table is not shown)."""
    found = re.search(rf"data-verdict='{cell}'>([^<]*)<", texts(at))
    return found.group(1) if found else None


@pytest.mark.slow
def test_side_by_side_demo_shows_mrec_losing_and_mrsc_rejecting(emulator, emulator_env) -> None:
    at = open_app(Choice(mode="emulator", regions=US, table="gt-demo-mrec"), PAGE)
    assert "MREC vs MRSC" in texts(at) or at.title
    at.button(key="consistency_go").click().run()
    assert_clean(at)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        time.sleep(2)
        at.run()
        assert_clean(at)
        if verdict(at, "MRSC-rto") not in (None, WAITING) and verdict(at, "MREC-rto") not in (None, WAITING):
            break
    else:
        pytest.fail(f"no verdicts within 240 s: {texts(at)}")
    assert int(verdict(at, "MREC-lost")) >= 1  # MREC: acknowledged writes silently lost
    assert int(verdict(at, "MRSC-lost")) == 0  # MRSC: nothing lost
    assert int(verdict(at, "MRSC-rejected")) >= 1  # ... because one write was rejected and retried
    assert int(verdict(at, "MREC-rejected")) == 0
    assert verdict(at, "MRSC-rpo").startswith("0 writes")
    assert verdict(at, "MRSC-lost_acked") == "0"
    assert "silently lost" in texts(at)


def test_demo_page_on_aws_creates_nothing(emulator_env, offline_aws_profile: str) -> None:
    # made-up keys and a closed loopback endpoint: the page draws, and no traffic leaves loopback
    at = open_app(Choice(mode="aws", regions=US, table="global-serverless", profile=offline_aws_profile), PAGE)
    assert "emulator only" in texts(at)
    assert not [b for b in at.button if b.key == "consistency_go"]


@pytest.mark.slow
def test_setup_page_creates_an_mrsc_table_and_every_page_names_its_mode(emulator, emulator_env) -> None:
    own = Choice(mode="emulator", regions=US, table=f"gt-mrsc-{uuid.uuid4().hex[:6]}")
    conn = Connection(Target(regions=US, table=own.table, endpoint=emulator.endpoint))
    try:
        at = open_app(own, "pages/setup.py")  # the dashboard sets the table up by itself, as MREC
        assert "MREC (eventual consistency)" in at.caption[0].value
        at.button(key="teardown_ask").click().run()
        at.button(key="teardown_yes").click().run()
        assert_clean(at)
        at.radio(key="setup_consistency").set_value("STRONG").run()
        at.button(key="setup_run").click().run()
        assert_clean(at)
        assert not at.error, [e.value for e in at.error]
        desc = conn.client("dynamodb", "us-east-1").describe_table(TableName=own.table)["Table"]
        assert desc["MultiRegionConsistency"] == "STRONG"
        assert read_mode(conn, own.table, "us-east-2").strong
        at.run()  # the header comes before the job on the page: the next run reads the new mode
        assert "MRSC (strong consistency)" in at.caption[0].value
        at = open_app(own)  # Status says so too
        assert "MRSC (strong consistency)" in texts(at)
    finally:
        teardown_workshop(conn)


def test_setup_page_says_why_mrsc_cannot_span_two_region_sets(emulator, emulator_env) -> None:
    at = open_app(Choice(mode="emulator", regions=("us-west-2", "eu-west-1"), table="global-serverless"),
                  "pages/setup.py")
    at.radio(key="setup_consistency").set_value("STRONG").run()
    assert "exactly 3 Regions" in texts(at)
    assert at.button(key="setup_run").disabled
    at.selectbox(key="setup_witness").set_value("us-east-1").run()
    assert "must all be in one Region set" in texts(at)
    assert at.button(key="setup_run").disabled


@pytest.mark.slow
def test_setup_page_creates_an_mrsc_table_of_two_replicas_and_a_witness(emulator, emulator_env) -> None:
    two = US[:2]
    own = Choice(mode="emulator", regions=two, table=f"gt-witness-{uuid.uuid4().hex[:6]}")
    conn = Connection(Target(regions=two, table=own.table, endpoint=emulator.endpoint))
    try:
        at = open_app(own, "pages/setup.py")
        at.button(key="teardown_ask").click().run()
        at.button(key="teardown_yes").click().run()
        at.radio(key="setup_consistency").set_value("STRONG").run()
        at.selectbox(key="setup_witness").set_value(US[2]).run()
        at.button(key="setup_run").click().run()
        assert_clean(at)
        assert not at.error, [e.value for e in at.error]
        mode = read_mode(conn, own.table, US[0])
        assert mode.strong and list(mode.witnesses) == [US[2]]
        at.run()
        assert f"witness {US[2]} active" in at.caption[0].value
    finally:
        teardown_workshop(conn)


def test_verdict_rows_wait_for_each_part_and_show_zero_as_zero() -> None:
    results = {mode: ModeResult(mode, table) for mode, table in MODES.items()}
    assert all(values == [WAITING, WAITING] for _, _, values in verdict_rows(results))
    results["STRONG"].conflict = {"conflicts": 3, "lost_writes": 0, "writes_rejected": 4,
                                  "write_latency_ms_p50": 104.6, "write_latency_ms_p99": None}
    rows = {key: values for _, key, values in verdict_rows(results)}
    assert rows["lost"] == [WAITING, "0"] and rows["rejected"] == [WAITING, "4"]
    assert rows["p50"] == [WAITING, "105 ms"] and rows["p99"] == [WAITING, "–"]
    assert rows["rto"] == [WAITING, WAITING]
