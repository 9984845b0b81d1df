"""Issue 9, points 1 and 7 (control API): replication is supervised. A delivery a replica cannot
apply is retried, then recorded as a fault, and never stops the others; a dead engine thread
makes the emulator report itself unhealthy; faults and health reach the control API,
EmulatorControl, the status probe, `gtcore status` and its --json; the control API answers bad
JSON with a 400 JSON error."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import AbstractContextManager
from typing import Any

import pytest
from emulator_helpers import client, key, make_global, wait_for
from moto.dynamodb.models.dynamo_type import DynamoType, Item

from gtcore.cli import main as gtcore_main
from gtcore.emulator.client import EmulatorControl
from gtcore.emulator.clock import FakeClock
from gtcore.emulator.engine import RETRY_DELAYS, ReplicationEngine
from gtcore.emulator.faults import FaultLog
from gtcore.emulator.lag import FixedLag
from gtcore.emulator.store import key_of
from gtcore.probes.status import table_status
from gtcore.target import Connection, Target

WEST, EU = "us-west-2", "eu-west-1"


class RefusingStore:
    """Replicas as dicts, refusing (raising) any image marked {"poison": ...}, like a replica
    refusing an item its source accepted."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], Any] = {}
        self._lock = threading.RLock()

    def region_lock(self, region: str) -> AbstractContextManager[Any]:
        return self._lock

    def apply(self, region: str, table: str, key: str, image: Any) -> bool:
        if image is not None and "poison" in image:
            raise ValueError(f"refused {image['poison']}")
        self.data[(region, key)] = image
        return True


def test_a_refused_delivery_is_retried_then_recorded_and_never_stops_the_others():
    store, clock = RefusingStore(), FakeClock()
    engine = ReplicationEngine(store, clock=clock, lag=FixedLag(100), rng=random.Random(1))
    for region in (WEST, EU):
        engine.add_replica("t", region, "ACTIVE")
    engine.local_write(WEST, "t", "bad", {"poison": "1E-200"})
    engine.local_write(WEST, "t", "good", {"v": 1})
    clock.advance(0.1)
    assert engine.pump() == 1 and store.data[(EU, "good")] == {"v": 1}
    for delay in RETRY_DELAYS:  # the refused one is tried again after each back-off
        assert engine.pending_total() == 1 and not engine.faults.faults()
        clock.advance(delay)
        engine.pump()
    assert engine.pending_total() == 0
    (fault,) = engine.faults.faults()
    assert (fault.table, fault.key, fault.source, fault.destination, fault.count) == ("t", "bad", WEST, EU, 1)
    assert "refused 1E-200" in fault.reason and engine.retried_count == len(RETRY_DELAYS)
    # The item's hidden stamp was never set by the refused write: a later, valid one lands.
    engine.local_write(WEST, "t", "bad", {"v": 2})
    clock.advance(0.1)
    assert engine.pump() == 1 and store.data[(EU, "bad")] == {"v": 2}


def test_the_engine_loop_survives_an_error():
    store = RefusingStore()
    engine = ReplicationEngine(store, lag=FixedLag(0))
    for region in (WEST, EU):
        engine.add_replica("t", region, "ACTIVE")
    calls = {"n": 0}
    pump = engine.pump

    def flaky() -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return pump()

    engine.pump = flaky  # type: ignore[method-assign]
    stop = threading.Event()
    runner = threading.Thread(target=engine.run, args=(stop, 0.01), daemon=True)
    runner.start()
    engine.local_write(WEST, "t", "k", {"v": 1})
    wait_for(lambda: store.data.get((EU, "k")) == {"v": 1}, timeout=5)
    assert runner.is_alive() and engine.last_error == "RuntimeError: boom"
    stop.set()
    runner.join(2)


def test_the_fault_log_keeps_memory_bounded_and_counts_everything():
    log = FaultLog(lambda: 1.0, limit=10)
    for i in range(1000):
        log.record("t", f"k{i % 5}", WEST, EU, "refused")
    assert len(log) == 5 and log.faults()[0].key == "k4" and log.faults()[0].count == 200
    for i in range(50):
        log.record("t", f"x{i}", WEST, EU, "refused")
    assert len(log) == 10 and log.total == 1050 and log.faults()[0].key == "x49"


def _inject_refused_write(emulator, table: str, pk: str) -> str:
    """Write an item straight into moto's west table (past the gateway's validation, as a gap in
    it would) and hand it to the engine: the replica refuses to store it."""
    moto_table = emulator.store.table(WEST, table)
    hash_key, range_key = DynamoType({"S": pk}), DynamoType({"S": "0"})
    with emulator.store.region_lock(WEST):
        moto_table.items[hash_key][range_key] = Item(hash_key, range_key,
                                                     {**key(pk), "n": {"N": "1E-200"}})
        item_key = key_of(moto_table, hash_key, range_key)
        emulator.record_writes({(WEST, table, item_key)})
    return item_key


@pytest.fixture
def faulty_table(emulator, unique_table):
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    item_key = _inject_refused_write(emulator, unique_table, "refused")
    clients[WEST].put_item(TableName=unique_table, Item={**key("fine"), "n": {"N": "1"}})
    wait_for(lambda: "Item" in clients[EU].get_item(TableName=unique_table, Key=key("fine")))
    wait_for(lambda: any(f["table"] == unique_table for f in emulator.faults()["faults"]))
    yield unique_table, item_key
    emulator.clear_faults()


def test_faults_reach_the_control_api_and_emulator_control(emulator, faulty_table):
    table, item_key = faulty_table
    with urllib.request.urlopen(f"{emulator.endpoint}/_emulator/faults", timeout=5) as reply:
        answer = json.loads(reply.read())
    (fault,) = [f for f in answer["faults"] if f["table"] == table]
    assert (fault["key"], fault["source"], fault["destination"]) == (item_key, WEST, EU)
    assert "Number underflow" in fault["reason"] and fault["count"] == 1 and fault["first_at"] > 0
    assert answer["healthy"] and answer["total"] >= 1
    control = EmulatorControl(emulator.endpoint)
    assert any(f["table"] == table for f in control.faults()["faults"])
    assert control.health()["healthy"] and control.state()["faults"] >= 1
    control.clear_faults()
    assert control.faults()["faults"] == []


def test_faults_reach_the_status_probe_and_gtcore_status(emulator, faulty_table, capsys):
    table, _ = faulty_table
    conn = Connection(Target(regions=(WEST, EU), table=table, endpoint=emulator.endpoint))
    report = table_status(conn, check_api=False, check_function=False)
    assert report.emulator is not None and not report.ok
    (line,) = report.emulator.summaries()
    assert line.startswith("replication into eu-west-1 failed for 1 item: ") and "Number underflow" in line
    flags = ["--endpoint", emulator.endpoint, "--regions", f"{WEST},{EU}", "--table", table]
    assert gtcore_main(["status", "--no-api", "--no-function", *flags]) == 1
    out = capsys.readouterr().out
    assert "replication into eu-west-1 failed for 1 item" in out and "status: NOT OK" in out
    assert gtcore_main(["--json", "status", "--no-api", "--no-function", *flags]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["ok"] is False and answer["emulator"]["faults"][0]["destination"] == EU
    # Another table's status is not affected by this table's faults.
    other = Connection(Target(regions=(WEST,), table="gt-no-such-table", endpoint=emulator.endpoint))
    assert table_status(other, check_api=False, check_function=False).emulator.faults == ()


_DYING_ENGINE = """
import json, sys
from gtcore.emulator import Emulator
from gtcore.emulator.client import EmulatorControl
emu = Emulator(port=0, lag="fixed:10").start()
def die(): raise SystemExit("replication killed")
emu.engine.pump = die
import time
for _ in range(100):
    answer = EmulatorControl(emu.endpoint).faults()
    if not answer["healthy"]:
        break
    time.sleep(0.05)
print(json.dumps({"faults": answer, "state": EmulatorControl(emu.endpoint).state()}))
emu.stop()
"""


def test_a_dead_engine_thread_makes_the_emulator_unhealthy():
    # On main the replication thread died with a traceback in the log and nothing else said so.
    done = subprocess.run([sys.executable, "-c", _DYING_ENGINE], capture_output=True, text=True, timeout=60)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["faults"]["healthy"] is False and answer["state"]["healthy"] is False
    assert answer["faults"]["threads"]["gt-replication"] is False
    (problem,) = answer["faults"]["problems"]
    assert "gt-replication stopped" in problem and "replication killed" in problem


@pytest.mark.parametrize("body, words", [
    (b"[" * 60_000, "nested too deeply"),
    (b"[" * 100_000, "takes at most 65536"),
    (b"{not json", "not JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b"\xff\xfe", "not JSON"),
])
def test_the_control_api_answers_bad_json_with_a_400_json_error(emulator, body, words):
    # On main 100,000 nested '[' answered an HTML 500.
    request = urllib.request.Request(f"{emulator.endpoint}/_emulator/lag", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code == 400 and err.value.headers["Content-Type"] == "application/json"
    assert words in json.loads(err.value.read())["error"]
    assert client(emulator.endpoint, "dynamodb", WEST).list_tables()  # still serving
