"""Delivery that keeps to the lag model under load, and an emulator that says when it cannot.

Engine behaviours on a fake clock (batches per destination, newest image only, deliveries landed
by the request path, lateness per pair); then the report through the control API, the client and
`gtcore status`, on a real emulator made late by holding a region's lock as a busy request does.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any

import pytest
from emulator_helpers import client, key, make_global, wait_for
from test_emulator_engine import DictStore, make, write

from gtcore.emulator.client import EmulatorControl
from gtcore.emulator.overload import BEHIND_SECONDS
from gtcore.probes.status import EmulatorHealth, StatusReport, emulator_health
from gtcore.target import Connection, Target

WEST, EU = "us-west-2", "eu-west-1"


class CountingStore(DictStore):
    """Counts region-lock acquisitions and applies per region."""

    def __init__(self) -> None:
        super().__init__()
        self.locks: dict[str, int] = {}
        self.applies: dict[str, int] = {}

    @contextmanager
    def region_lock(self, region: str) -> Any:
        self.locks[region] = self.locks.get(region, 0) + 1
        with self._lock:
            yield

    def apply(self, region: str, table: str, key: str, image: Any) -> bool:
        self.applies[region] = self.applies.get(region, 0) + 1
        return super().apply(region, table, key, image)


def counting_engine() -> tuple[Any, CountingStore, Any, list[Any]]:
    engine, _, clock, applied = make()
    store = CountingStore()
    engine._store = store
    return engine, store, clock, applied


def test_what_is_due_for_a_destination_lands_under_one_lock_acquisition() -> None:
    engine, store, clock, _ = counting_engine()
    for i in range(50):
        write(engine, store, WEST, f"k{i}", {"v": i})
    clock.advance(1)
    assert engine.pump() == 50
    assert store.locks == {EU: 1}  # not one acquisition per delivery, each behind the requests
    assert all(store.get(EU, f"k{i}") == {"v": i} for i in range(50))


def test_a_batch_applies_only_the_newest_image_of_each_item() -> None:
    engine, store, clock, applied = counting_engine()
    for i in range(5):
        write(engine, store, WEST, "k", {"v": i})
        clock.advance(0.001)
    clock.advance(1)
    assert engine.pump() == 1
    assert store.get(EU, "k") == {"v": 4} and store.applies[EU] == 1
    assert engine.superseded_count == 4 and engine.pending_total() == 0
    assert [d.write.image for d, _ in applied] == [{"v": 4}]


def test_the_newest_image_wins_a_batch_whichever_region_wrote_it() -> None:
    engine, store, clock, _ = make(regions=(WEST, EU, "ap-southeast-2"))
    write(engine, store, "ap-southeast-2", "k", {"v": "older"})
    clock.advance(0.01)
    write(engine, store, WEST, "k", {"v": "newer"})
    clock.advance(1)
    engine.pump()
    assert store.get(EU, "k") == {"v": "newer"}


def test_a_request_path_lands_what_is_due_for_its_region_and_listeners_hear_later() -> None:
    engine, store, clock, applied = make()
    write(engine, store, WEST, "k", {"v": 1})
    clock.advance(0.099)
    assert engine.deliver_due(EU) == 0 and store.get(EU, "k") is None  # not due yet
    clock.advance(0.001)
    assert engine.deliver_due(WEST) == 0  # nothing for the source region
    assert engine.deliver_due(EU) == 1 and store.get(EU, "k") == {"v": 1}
    assert applied == []  # never told under the request's region lock
    clock.advance(0.5)
    engine.pump()
    (delivery, at), = applied
    assert at - delivery.write.ts == pytest.approx(0.1)  # when it landed, not when it was told
    assert engine.pending_total() == 0


def pair_report(engine: Any, source: str = WEST, destination: str = EU) -> dict[str, Any]:
    """The pair's entry; a pair with nothing delivered in the window, due or pending is not listed."""
    report = engine.overload()
    quiet = {"behind": False, "behind_ms": 0.0, "deliveries": 0, "pending": 0}
    return next((p for p in report["pairs"] if (p["source"], p["destination"]) == (source, destination)), quiet)


def test_a_pair_delivering_behind_its_model_is_reported_now_and_over_the_last_minute() -> None:
    engine, store, clock, _ = make()
    write(engine, store, WEST, "k", {"v": 1})
    clock.advance(0.1 + 2.0)  # due 2 s ago, the replication thread has not come round
    now = pair_report(engine)
    assert now["behind"] and now["behind_ms"] == pytest.approx(2000) and now["pending"] == 1
    assert engine.overload()["behind"]
    engine.pump()
    landed = pair_report(engine)  # landed 2 s late: still how late the pair is now
    assert landed["behind"] and landed["p99_ms"] == pytest.approx(2000) and landed["pending"] == 0
    clock.advance(2)
    later = pair_report(engine)
    assert not later["behind"] and later["behind_ms"] == 0 and later["max_ms"] == pytest.approx(2000)
    clock.advance(60)
    assert engine.overload() == {**engine.overload(), "behind": False, "pairs": []}


def test_delivering_on_time_is_not_overload() -> None:
    engine, store, clock, _ = make()
    for i in range(20):
        write(engine, store, WEST, f"k{i}", {"v": i})
        clock.advance(0.1)
        engine.pump()
    report = pair_report(engine)
    assert not report["behind"] and report["max_ms"] < BEHIND_SECONDS * 1000 and report["deliveries"] >= 19


def test_one_delivery_that_met_a_busy_moment_is_not_a_backlog() -> None:
    engine, store, clock, _ = make()
    for i in range(5):
        write(engine, store, WEST, f"k{i}", {"v": i})
    clock.advance(0.1)
    engine.pump()
    write(engine, store, WEST, "late", {"v": 1})
    clock.advance(0.1 + 2 * BEHIND_SECONDS)
    engine.pump()
    report = pair_report(engine)
    assert not report["behind"] and report["max_ms"] == pytest.approx(2 * BEHIND_SECONDS * 1000)


def test_deliveries_held_by_a_fault_are_not_overload() -> None:
    engine, store, clock, _ = make()
    engine.pause("t", EU)
    write(engine, store, WEST, "k", {"v": 1})
    clock.advance(10)
    assert not engine.overload()["behind"]  # overdue, but paused
    engine.pump()
    engine.resume("t", EU)
    engine.pump()
    assert store.get(EU, "k") == {"v": 1}
    assert not engine.overload()["behind"] and pair_report(engine)["deliveries"] == 0


def test_emulator_health_turns_behind_pairs_into_a_warning() -> None:
    behind = {"source": WEST, "destination": EU, "behind": True, "behind_ms": 3200.0, "p99_ms": 5100.0,
              "pending": 812}
    health = EmulatorHealth(endpoint="http://127.0.0.1:1", healthy=True, behind=(behind,))
    assert not health.ok
    (line,) = health.summaries()
    assert "overloaded" in line and f"{WEST} -> {EU}" in line and "3.2 s" in line and "5.1 s" in line
    assert "812 pending" in line
    assert EmulatorHealth(endpoint="http://127.0.0.1:1", healthy=True).ok
    report = StatusReport(table="t", regions=[], checked_at="now", elapsed_ms=1.0, emulator=health)
    as_json = report.to_dict()  # what `gtcore status --json` prints
    assert as_json["ok"] is False and as_json["emulator"]["behind"][0]["behind_ms"] == 3200.0


@pytest.mark.slow
def test_a_late_emulator_says_so_in_its_api_and_in_status(emulator, unique_table) -> None:
    """A request holding eu-west-1's lock stalls delivery into it (as a busy region does)."""
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    control = EmulatorControl(emulator.endpoint)
    conn = Connection(Target(regions=(WEST, EU), endpoint=emulator.endpoint, table=unique_table))
    release = threading.Event()
    held = threading.Event()

    def busy_region() -> None:
        with emulator.store.region_lock(EU):
            held.set()
            release.wait(10)

    blocker = threading.Thread(target=busy_region)
    blocker.start()
    try:
        held.wait(5)
        clients[WEST].put_item(TableName=unique_table, Item={**key("late"), "v": {"S": "1"}})
        time.sleep(0.1 + BEHIND_SECONDS + 0.15)  # past the model (fixed:100) and the threshold
        report = control.overload()
        pair = next(p for p in report["pairs"] if (p["source"], p["destination"]) == (WEST, EU))
        assert report["behind"] and pair["behind"] and pair["behind_ms"] > BEHIND_SECONDS * 1000
        assert pair["pending"] >= 1
        assert control.state()["overload"]["behind"]
        health = emulator_health(conn)
        assert health is not None and not health.ok
        assert any("overloaded" in line and f"{WEST} -> {EU}" in line for line in health.summaries())
    finally:
        release.set()
        blocker.join()
    eu = client(emulator.endpoint, "dynamodb", EU)
    wait_for(lambda: eu.get_item(TableName=unique_table, Key=key("late")).get("Item"))
    wait_for(lambda: not control.overload()["behind"], timeout=5)


def test_a_request_does_not_list_motos_package_folder(emulator, monkeypatch) -> None:
    """moto listed its package folder on every request, under its one process-wide lock."""
    import moto.backends

    def no_listing(path: str) -> list[str]:
        raise AssertionError(f"listed {path} during a request")

    ddb = client(emulator.endpoint, "dynamodb", WEST)
    ddb.list_tables()
    monkeypatch.setattr(moto.backends.os, "listdir", no_listing)
    assert "TableNames" in ddb.list_tables()
