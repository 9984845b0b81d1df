"""Destructive actions name what they destroy, nothing destructive is preselected, and on AWS the
region or table name must be typed first (issue 13, point 2). AWS here is an offline profile:
made-up keys, every endpoint a closed loopback port."""

from __future__ import annotations

import uuid
from pathlib import Path

from streamlit.testing.v1 import AppTest

from gtcore.target import Connection, Target
from gtcore.workshop import teardown_workshop
from ui.session import Choice

ROOT = Path(__file__).resolve().parents[1]
TWO = ("us-west-2", "eu-west-1")


def _setup_page(choice: Choice) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["gt_choice"] = choice
    at.run()
    at.switch_page("pages/setup.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_on_aws_removing_a_replica_asks_for_its_name(offline_aws_profile: str) -> None:
    at = _setup_page(Choice(mode="aws", regions=TWO, table="global-serverless",
                            profile=offline_aws_profile))
    assert at.selectbox(key="setup_remove_region").value is None  # nothing picked for you
    assert not [b for b in at.button if b.key == "remove_replica_ask"]
    at.selectbox(key="setup_remove_region").set_value("eu-west-1").run()
    ask = at.button(key="remove_replica_ask")
    assert ask.label == "Remove the replica in eu-west-1"
    ask.click().run()
    warning = [w.value for w in at.warning if "real deletion" in w.value]
    assert warning and "eu-west-1 (Ireland)" in warning[0]
    yes = at.button(key="remove_replica_yes")
    assert yes.label == "Yes, remove the replica in eu-west-1" and yes.disabled
    at.text_input(key="remove_replica_typed").input("us-west-2").run()
    assert at.button(key="remove_replica_yes").disabled  # the wrong name opens nothing
    at.text_input(key="remove_replica_typed").input("eu-west-1").run()
    assert not at.button(key="remove_replica_yes").disabled


def test_on_aws_teardown_asks_for_the_table_name(offline_aws_profile: str) -> None:
    at = _setup_page(Choice(mode="aws", regions=TWO, table="global-serverless",
                            profile=offline_aws_profile))
    at.button(key="teardown_ask").click().run()
    assert at.button(key="teardown_yes").disabled
    at.text_input(key="teardown_typed").input("global-serverless").run()
    assert not at.button(key="teardown_yes").disabled
    assert at.button(key="teardown_yes").label == "Yes, delete table global-serverless everywhere"


def test_on_the_emulator_one_confirmation_is_enough(emulator, monkeypatch) -> None:
    monkeypatch.setenv("GT_EMULATOR_URL", emulator.endpoint)
    table = f"gt-confirm-{uuid.uuid4().hex[:6]}"
    try:
        at = _setup_page(Choice(mode="emulator", regions=TWO, table=table))
        at.selectbox(key="setup_remove_region").set_value("eu-west-1").run()
        at.button(key="remove_replica_ask").click().run()
        assert not [t for t in at.text_input if t.key == "remove_replica_typed"]
        assert not at.button(key="remove_replica_yes").disabled
    finally:  # the dashboard set the workshop up in the shared emulator: leave it as found
        teardown_workshop(Connection(Target(regions=TWO, table=table, endpoint=emulator.endpoint)))
