"""Load: eight lag-probe runs, a conflict batch and a failover drill at once against one
emulator (small sizes). Nothing fails, everything completes, and what the emulator and this
process hold afterwards is bounded (queues drained, no leaked threads). Longer runs and growth
figures: ``bench/bench_soak.py``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from gtcore.experiments.conflict import ConflictConfig, ConflictLab
from gtcore.experiments.drill import DrillConfig, FailoverDrill
from gtcore.experiments.lag_probe import LagProbe, ProbeConfig, all_pairs
from gtcore.target import Connection, Target
from gtcore.workshop import provision_workshop

pytestmark = pytest.mark.slow  # one load run, seconds long; its modules have fast tests elsewhere

REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


DRILL_MIN_S = 5.0  # the probes may finish fast; the drill still writes this long


def test_eight_probes_a_conflict_batch_and_a_drill_at_once(make_emulator):
    emu = make_emulator()
    conn = Connection(Target(regions=REGIONS, endpoint=emu.endpoint))
    assert provision_workshop(conn).ok
    threads_before = threading.active_count()
    rss_before = _rss_kb(emu.process.pid)

    cfg = ProbeConfig(pairs=all_pairs(REGIONS), samples=3, rate=4.0, timeout=15.0,
                      threads_per_region=2, max_in_flight=4)
    probes = [LagProbe(conn, cfg) for _ in range(8)]
    lab = ConflictLab(conn, ConflictConfig(trials=3, converge_timeout=20.0))
    drill = FailoverDrill(conn, DrillConfig(video="11", interval=0.2, api_timeout=5.0,
                                            converge_timeout=30.0))
    t0 = time.monotonic()
    for p in probes:
        p.start()
    lab.start()
    drill.start()
    peak_threads = threading.active_count()
    for p in probes:
        assert p.wait(120), f"probe {p.run_id} did not finish: {p.progress()}"
    assert lab.wait(120), f"conflict batch did not finish: {lab.progress()}"
    time.sleep(max(0.0, DRILL_MIN_S - (time.monotonic() - t0)))  # the drill needs time to write
    drill.stop()
    assert drill.wait(120), "the drill did not finish"
    elapsed = time.monotonic() - t0

    # No errors, all complete.
    samples = 0
    for p in probes:
        assert p.state == "done" and p.error is None, (p.state, p.error)
        frame = p.frame()
        assert len(frame) == p.total == 3 * 6
        assert set(frame["status"]) == {"ok"}, frame["status"].value_counts().to_dict()
        assert p.warnings == []
        samples += len(frame)
    assert lab.state == "done" and lab.error is None, lab.error
    results = lab.results()
    assert len(results) == 3 and all(r.converged for r in results), [r.to_row() for r in results]
    assert all(r.lww != "violation" and r.acked == len(REGIONS) for r in results), [
        r.to_row() for r in results]
    v = drill.verdict
    assert drill.error is None and v is not None and v.passed, drill.error or v.describe()
    assert v.lost_acked == 0 and v.acked > 5 and v.failed == 0, v.describe()

    # Bounded afterwards: the emulator's queues drain, nothing piles up, no thread leaks here.
    assert emu.wait_replicated(30)
    sizes = emu.state()["sizes"]
    assert sizes["queue"] == 0 and sizes["held"] == 0, sizes
    assert sizes["metric_aggregates"] <= 3 * 2 * 2, sizes  # (source, receiving, table) at most
    assert sizes["api_environments"] <= 64, sizes  # warm "Lambda" environments, reused
    # The probes cleaned up after themselves: only the workshop's items and the drill's bookmark.
    probe_items = [
        item for r in REGIONS for item in conn.client("dynamodb", r).query(
            TableName=conn.target.table, KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": {"S": "__gtprobe__"}}, ConsistentRead=True)["Items"]
    ]
    assert probe_items == []
    deadline = time.monotonic() + 10
    while threading.active_count() > threads_before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert threading.active_count() <= threads_before + 2, [t.name for t in threading.enumerate()]
    rss_after = _rss_kb(emu.process.pid)
    print(f"load: 8 probes ({samples} samples), 3 conflict trials, drill {v.writes} writes "
          f"(lost: {v.lost_acked}) in {elapsed:.1f}s; peak threads here {peak_threads}; "
          f"emulator RSS {rss_before // 1024} -> {rss_after // 1024} MB; sizes {sizes}")
