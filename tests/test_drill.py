"""Failover drill: the checker on synthetic histories, and drills across an isolated and a
throttled region on a private emulator with the workshop set up (regional API per region).
The conflict lab's regional-API path is tested here too, as it needs the same set-up."""

from __future__ import annotations

import json
import threading
import time

import pytest

from gtcore.errors import ConfigError
from gtcore.experiments.drill import DrillConfig, FailoverDrill, check_drill
from gtcore.experiments.drill.checker import holds_expected
from gtcore.history import History

REGIONS = ("us-west-2", "eu-west-1")

# --- pure: the checker ------------------------------------------------------------------------


def _history(writes, finals, *, agreed=True, reads=()):
    """writes: (region, value, outcome, sent, done); reads: (region, value, sent)."""
    h = History()
    for n, (region, value, outcome, sent, done) in enumerate(writes):
        h.append("player", "invoke", "write", region, value, {"tick": n}, time=sent, wall=sent)
        h.append("player", outcome, "write", region, value if outcome == "ok" else None,
                 time=done, wall=done)
    for n, (region, value, sent) in enumerate(reads):
        h.append(f"r{n}", "invoke", "read", region, None, time=sent, wall=sent)
        h.append(f"r{n}", "ok", "read", region, value, time=sent + 0.001, wall=sent)
    h.append("drill", "info", "converged", "", {"agreed": agreed, "by_region": finals})
    return h


def test_clean_drill_with_failover_passes_and_measures_rto() -> None:
    h = _history(
        [("a", "1", "ok", 0.0, 0.01), ("a", "2", "info", 0.5, 0.51), ("a", "3", "info", 1.0, 1.01),
         ("a", "4", "info", 1.5, 1.51), ("b", "5", "ok", 2.0, 2.02), ("b", "6", "ok", 2.5, 2.51)],
        {"a": "6", "b": "6"},
    )
    v = check_drill(h)
    assert v.passed and v.converged and v.lost_acked == 0 and v.rpo_ms == 0
    assert v.acked == 3 and v.unknown == 3 and v.last_acked == "6"
    [outage] = v.outages
    assert outage.region == "a" and outage.recovered_region == "b" and outage.elsewhere
    assert outage.failed_writes == 3
    assert outage.rto_ms == pytest.approx(1520.0)
    assert v.rto_ms == pytest.approx(1520.0)
    assert "PASSED" in v.describe()


def test_the_final_reads_wait_for_a_value_the_checker_accepts() -> None:
    # acknowledged 1, then 2 with an unknown outcome: 1 or 2 will do, once every region agrees
    h = _history([("a", "1", "ok", 0.0, 0.01), ("a", "2", "info", 0.5, 0.51)], {})
    assert holds_expected(h, ["2", "2"]) and holds_expected(h, ["1", "1"])
    assert not holds_expected(h, ["1", "2"])  # replication still catching up
    assert not holds_expected(h, ["0", "0"])  # agreed, but on something older than acknowledged


def test_lost_acknowledged_writes_fail_the_drill() -> None:
    # b acknowledged 5 and 6, but the replicas converged on 4: two acknowledged writes lost
    h = _history(
        [("a", "4", "ok", 0.0, 0.01), ("b", "5", "ok", 0.5, 0.51), ("b", "6", "ok", 1.0, 1.01)],
        {"a": "4", "b": "4"},
    )
    v = check_drill(h)
    assert not v.passed and v.lost_acked == 2
    assert v.rpo_ms == pytest.approx(1000.0)
    assert any("missing from the final state" in r for r in v.reasons)


def test_a_later_unknown_write_may_be_the_final_value() -> None:
    h = _history([("a", "1", "ok", 0.0, 0.01), ("a", "2", "info", 0.5, 1.5)], {"a": "2", "b": "2"})
    v = check_drill(h)
    assert v.passed and v.accepted_finals == ["1", "2"]
    [outage] = v.outages
    assert outage.rto_ms is None and outage.recovered_region is None


def test_divergence_regressions_and_no_acks_fail() -> None:
    v = check_drill(_history([("a", "1", "ok", 0, 0.01)], {"a": "1", "b": None}, agreed=False))
    assert not v.passed and not v.converged
    v = check_drill(_history([("a", "1", "fail", 0, 0.01)], {"a": None, "b": None}))
    assert not v.passed and "no write was acknowledged" in v.reasons
    v = check_drill(_history(
        [("a", "1", "ok", 0, 0.01), ("a", "2", "ok", 0.5, 0.51)], {"a": "2", "b": "2"},
        reads=[("b", "2", 0.6), ("b", "1", 0.7)],
    ))
    assert v.regressions == 1 and not v.passed


def test_config_validation() -> None:
    for kwargs in ({"interval": 0}, {"fail_after": 0}, {"user": ""}, {"duration": 0}):
        with pytest.raises(ConfigError):
            DrillConfig(**kwargs)


# --- against a private emulator ----------------------------------------------------------------


@pytest.fixture(scope="module")
def workshop():
    """A private emulator (lag fixed:100) with the workshop's table, data and regional API."""
    from gtcore.target import Connection, Target
    from gtcore.workshop import provision_workshop
    from setup.emulator import spawn

    with spawn("fixed:100", replica_create_seconds=0.2) as emu:
        conn = Connection(Target(regions=REGIONS, endpoint=emu.endpoint))
        report = provision_workshop(conn)
        assert report.ok, report.to_dict()
        yield emu, conn
        conn.close()


def _fail_for(start: float, seconds: float, fail, restore) -> threading.Thread:
    def go() -> None:
        time.sleep(start)
        fail()
        time.sleep(seconds)
        restore()

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def _assert_failover_verdict(drill: FailoverDrill, video: str) -> None:
    v = drill.verdict
    assert v is not None and v.passed, v.describe()
    assert v.lost_acked == 0 and v.rpo_ms == 0
    assert set(v.final_by_region.values()) == {v.last_acked}
    assert [s["to"] for s in v.failovers] == ["eu-west-1", "us-west-2"]  # failover, failback
    outages = [o for o in v.outages if o.region == "us-west-2"]
    assert outages and outages[0].elsewhere and outages[0].recovered_region == "eu-west-1"
    assert outages[0].failed_writes == 3
    # 3 failed writes 100 ms apart, a health check, then a write at once: about 200-300 ms
    assert 195 < v.rto_ms < 1000, v.rto_ms
    assert v.regressions == 0
    # re-check from the exported history
    again = check_drill(History.from_json(drill.history.to_json()))
    assert again.to_dict() == v.to_dict()
    # the item holds the last acknowledged bookmark in every region, read straight from the table
    for region in REGIONS:
        item = drill.conn.client("dynamodb", region).get_item(
            TableName="global-serverless", ConsistentRead=True,
            Key={"PK": {"S": "user10"}, "SK": {"S": video}})["Item"]
        assert item["bookmark"]["S"] == v.last_acked
        assert item["thumb"]["S"] == drill.thumb and drill.thumb.endswith(".svg")


@pytest.mark.slow
def test_drill_across_an_isolated_region(workshop) -> None:
    emu, conn = workshop
    drill = FailoverDrill(conn, DrillConfig(video="02", interval=0.1, health_every=3))
    faults = _fail_for(0.8, 1.2, lambda: emu.isolate("us-west-2"), lambda: emu.heal("us-west-2"))
    drill.start()
    seen_away = False
    for _ in range(60):  # watch the live state while it runs
        time.sleep(0.05)
        state = drill.state()
        seen_away = seen_away or state.active == "eu-west-1"
    faults.join()
    time.sleep(1.2)
    state = drill.state()
    assert state.phase == "running" and state.tick > 20
    assert state.regions["eu-west-1"].ok and state.write_latency_ms is not None
    assert any(e.kind == "failover" for e in state.log)
    drill.stop()
    assert drill.wait(30)
    assert seen_away and drill.phase == "done"
    _assert_failover_verdict(drill, "02")


@pytest.mark.slow
def test_drill_across_a_throttled_region(workshop) -> None:
    from gtcore.actions.throttle import restore_region, throttle_region

    emu, conn = workshop
    drill = FailoverDrill(conn, DrillConfig(video="03", interval=0.1, health_every=3))
    faults = _fail_for(0.8, 1.2, lambda: throttle_region(conn, "us-west-2"),
                       lambda: restore_region(conn, "us-west-2"))
    try:
        drill.start()
        faults.join()
        time.sleep(1.5)
    finally:
        restore_region(conn, "us-west-2")
        drill.stop()
    assert drill.wait(30)
    _assert_failover_verdict(drill, "03")


@pytest.mark.slow
def test_manual_switch_and_failback(workshop) -> None:
    _, conn = workshop
    drill = FailoverDrill(conn, DrillConfig(video="04", interval=0.1, auto_failback=False)).start()
    time.sleep(0.5)
    drill.request_failover("eu-west-1")
    time.sleep(0.6)
    assert drill.active == "eu-west-1"
    drill.request_failback()
    time.sleep(0.4)
    assert drill.active == "us-west-2"
    drill.stop()
    assert drill.wait(30)
    v = drill.verdict
    assert v.passed and v.outages == [] and [s["reason"] for s in v.failovers] == [
        "asked to switch", "asked to fail back"]
    with pytest.raises(ConfigError):
        drill.request_failover("ap-south-1")


@pytest.mark.slow
def test_drill_cli_throttles_and_restores(workshop, capsys, tmp_path) -> None:
    from gtcore.actions.throttle import throttle_state
    from gtcore.cli import main

    emu, conn = workshop
    history = tmp_path / "drill.json"
    code = main(["--endpoint", emu.endpoint, "--regions", ",".join(REGIONS), "drill",
                 "--seconds", "3", "--interval", "0.1", "--video", "05", "--fail-region",
                 "us-west-2", "--fail-after", "0.6", "--restore-after", "1.2", "--json",
                 "--history", str(history)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["verdict"]["passed"] and out["verdict"]["lost_acked"] == 0
    assert out["verdict"]["rto_ms"] is not None
    assert not throttle_state(conn, "us-west-2").throttled  # restored
    assert check_drill(History.from_json(history)).passed
    # bad usage exits 2
    assert main(["--endpoint", emu.endpoint, "--regions", ",".join(REGIONS), "drill",
                 "--fail-region", "ap-south-1"]) == 2


@pytest.mark.slow
def test_conflict_through_the_regional_api(workshop) -> None:
    """The dashboard's guided demo: user100/AshlandValley, +1 in every region at once."""
    from gtcore.experiments.conflict import ConflictConfig, ConflictLab

    _, conn = workshop
    inc = ConflictLab(conn, ConflictConfig(trials=3, mode="increment", path="api", pk="user100",
                                           sk="AshlandValley"))
    for r in inc.run():
        assert r.converged and r.conflict is True and r.lost_increments == 1
        assert r.final == r.base + 1
    demo = ConflictLab(conn, ConflictConfig(trials=3, mode="increment", path="api", pk="user100",
                                            sk="AshlandValley", amounts=(1, -1)))
    for r in demo.run():  # the workshop's +/- demo: the loser is named
        assert r.converged and r.conflict is True and r.winner in REGIONS
        assert r.lost == [next(x for x in REGIONS if x != r.winner)]
    absolute = ConflictLab(conn, ConflictConfig(trials=2, mode="set", path="api", pk="user100",
                                                sk="AshlandValley"))
    for r in absolute.run():
        assert r.converged and r.conflict is None  # the API does not return the old value
        assert r.winner in REGIONS and r.lww in ("ok", "tie")
