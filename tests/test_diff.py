"""Replica diff against the emulator: real divergence found, in-flight replication not reported."""

from __future__ import annotations

import threading
import time

import pytest
from emulator_helpers import make_global

from gtcore.errors import ConfigError
from gtcore.probes.diff import DiffProgress, diff_replicas, plain_item
from gtcore.target import Connection, Target

REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")


def _global_table(emulator, table: str, regions=REGIONS) -> Connection:
    make_global(emulator.endpoint, table, regions)
    return Connection(Target(regions=regions, table=table, endpoint=emulator.endpoint))


def _put(conn: Connection, region: str, sk: str, **attrs) -> None:
    item = {"PK": {"S": "library"}, "SK": {"S": sk}}
    item.update({k: ({"N": str(v)} if isinstance(v, int) else {"S": v}) for k, v in attrs.items()})
    conn.client("dynamodb", region).put_item(TableName=conn.target.table, Item=item)


def _seed(conn: Connection, emulator, n: int = 30) -> None:
    for i in range(n):
        _put(conn, "us-west-2", f"{i:02d}", title=f"movie {i}", views=i)
    assert emulator.wait_replicated(10)


def test_identical_replicas_report_nothing(emulator, unique_table):
    conn = _global_table(emulator, unique_table)
    _seed(conn, emulator)
    report = diff_replicas(conn, segments=3, settle_seconds=0.2)
    assert report.ok and not report.diverged and report.complete
    assert report.scanned == dict.fromkeys(REGIONS, 30)
    assert report.candidates == 0 and report.settled == 0


@pytest.mark.slow
def test_changes_behind_replications_back_are_found(emulator, unique_table):
    conn = _global_table(emulator, unique_table)
    _seed(conn, emulator)
    emulator.pause_replication(unique_table, "eu-west-1")
    try:
        _put(conn, "eu-west-1", "05", title="edited in Ireland only", views=5)
        conn.client("dynamodb", "eu-west-1").delete_item(
            TableName=unique_table, Key={"PK": {"S": "library"}, "SK": {"S": "07"}}
        )
        _put(conn, "eu-west-1", "99", title="only in Ireland")
        assert emulator.wait_replicated(0.5) is False  # held: replication really is paused

        events: list[DiffProgress] = []
        report = diff_replicas(conn, segments=2, settle_seconds=0.3, progress=events.append)
    finally:
        emulator.resume_replication(unique_table, "eu-west-1")

    assert report.diverged and not report.ok
    by_key = {d.key["SK"]: d for d in report.divergent}
    assert set(by_key) == {"05", "07", "99"}

    edited = by_key["05"]
    assert edited.kind == "different" and edited.differing_attributes == ("title",)
    assert edited.images["eu-west-1"]["title"] == "edited in Ireland only"
    assert edited.images["us-west-2"]["title"] == "movie 5"
    assert edited.key == {"PK": "library", "SK": "05"}

    deleted = by_key["07"]
    assert deleted.kind == "missing" and deleted.missing_in == ("eu-west-1",)
    only = by_key["99"]
    assert only.kind == "missing" and set(only.missing_in) == {"us-west-2", "ap-southeast-2"}
    assert report.missing_by_region() == {"us-west-2": 1, "eu-west-1": 1, "ap-southeast-2": 1}
    assert report.different_by_region()["eu-west-1"] == 1
    assert "missing in eu-west-1" in deleted.describe()

    phases = [e.phase for e in events]
    assert phases[0] == "scan" and "settle" in phases and "recheck" in phases
    assert phases[-1] == "done"
    scan_done = [e.done for e in events if e.phase == "scan"]
    assert scan_done == sorted(scan_done) and scan_done[-1] == len(REGIONS) * 2

    # After replication resumes, last writer wins everywhere and the replicas agree again.
    assert emulator.wait_replicated(10)
    again = diff_replicas(conn, settle_seconds=0.2)
    assert again.ok, again.summary()


@pytest.mark.slow
def test_in_flight_replication_is_not_reported_as_divergence(emulator, unique_table):
    conn = _global_table(emulator, unique_table, REGIONS[:2])
    _seed(conn, emulator, n=10)
    emulator.set_lag("fixed:700")
    try:
        for i in range(10):
            _put(conn, "us-west-2", f"{i:02d}", title=f"new title {i}")
        report = diff_replicas(conn, segments=2, settle_seconds=1.2)
    finally:
        emulator.set_lag("fixed:100")
    # The scan saw all ten in flight; the consistent re-read after settling saw them arrive.
    assert report.candidates == 10, report.summary()
    assert report.settled == 10
    assert not report.diverged and report.ok


@pytest.mark.slow
def test_keys_that_keep_changing_are_unsettled_not_divergent(emulator, unique_table):
    conn = _global_table(emulator, unique_table, REGIONS[:2])
    _seed(conn, emulator, n=3)
    emulator.set_lag("fixed:1000")
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            _put(conn, "us-west-2", "01", title=f"player write {n}")
            time.sleep(0.05)

    th = threading.Thread(target=writer)
    th.start()
    try:
        time.sleep(0.2)
        report = diff_replicas(conn, settle_seconds=0.2, rechecks=2)
    finally:
        stop.set()
        th.join()
        emulator.set_lag("fixed:100")
    assert not report.diverged
    assert [d.key["SK"] for d in report.unsettled] == ["01"]
    assert not report.ok
    assert emulator.wait_replicated(10)


def test_cancel_stops_quickly(emulator, unique_table):
    conn = _global_table(emulator, unique_table, REGIONS[:2])
    _seed(conn, emulator, n=40)
    cancel = threading.Event()

    def on_progress(ev: DiffProgress) -> None:
        if ev.phase == "scan" and ev.items > 0:
            cancel.set()

    start = time.perf_counter()
    report = diff_replicas(
        conn, segments=1, page_size=5, settle_seconds=5, progress=on_progress, cancel=cancel
    )
    assert report.cancelled and not report.complete
    assert sum(report.scanned.values()) == 0
    assert time.perf_counter() - start < 2


def test_cancel_during_settle(emulator, unique_table):
    conn = _global_table(emulator, unique_table, REGIONS[:2])
    _seed(conn, emulator, n=3)
    emulator.pause_replication(unique_table, "eu-west-1")
    cancel = threading.Event()
    try:
        _put(conn, "eu-west-1", "01", title="x")
        timer = threading.Timer(0.3, cancel.set)
        timer.start()
        start = time.perf_counter()
        report = diff_replicas(conn, settle_seconds=30, cancel=cancel)
        timer.cancel()
    finally:
        emulator.resume_replication(unique_table, "eu-west-1")
    assert report.cancelled and time.perf_counter() - start < 5
    assert emulator.wait_replicated(10)


def test_unreachable_region_is_reported_not_raised(emulator, unique_table):
    conn = _global_table(emulator, unique_table)
    _seed(conn, emulator, n=5)
    emulator.isolate("ap-southeast-2")
    try:
        report = diff_replicas(conn, settle_seconds=0.1)
    finally:
        emulator.heal("ap-southeast-2")
    assert set(report.errors) == {"ap-southeast-2"}
    assert "isolated" in report.errors["ap-southeast-2"]
    assert not report.complete and not report.ok and not report.diverged
    assert report.scanned == {"us-west-2": 5, "eu-west-1": 5}


def test_bad_parameters(emulator):
    conn = Connection(Target(regions=REGIONS, endpoint=emulator.endpoint))
    with pytest.raises(ConfigError):
        diff_replicas(conn, segments=0)
    with pytest.raises(ConfigError):
        diff_replicas(conn, settle_seconds=-1)


def test_plain_item_is_json_friendly():
    img = {
        "PK": {"S": "a"},
        "n": {"N": "1.50"},
        "i": {"N": "3"},
        "b": {"B": b"\x00\x01"},
        "ss": {"SS": ["b", "a"]},
        "m": {"M": {"x": {"L": [{"N": "1"}, {"BOOL": True}]}}},
    }
    out = plain_item(img)
    assert out == {"PK": "a", "n": 1.5, "i": 3, "b": "AAE=", "ss": ["a", "b"],
                   "m": {"x": [1, True]}}
