"""Conflict lab: the checker on synthetic histories, and real conflicts on the emulator."""

from __future__ import annotations

import json

import pytest

from gtcore.errors import ConfigError
from gtcore.experiments.conflict import (
    ConflictConfig,
    ConflictLab,
    check_history,
    judge_trial,
    summarize_trials,
)
from gtcore.history import History

# --- pure: the checker ------------------------------------------------------------------------


def _trial(writes, final, *, mode="set", base=0, tagged=True):
    """writes: (region, amount, sent, acked, old, old_tag); returns the judged trial."""
    h = History()
    pairs = []
    for region, amount, sent, acked, old, old_tag in writes:
        inv = h.append(f"w:{region}", "invoke", mode, region, amount,
                       {"trial": 0, "tag": f"t:{region}"}, time=sent, wall=0.0)
        new = amount if mode == "set" else (old or 0) + amount
        done = h.append(f"w:{region}", "ok", mode, region,
                        {"old": old, "old_tag": old_tag, "new": new, "old_known": True},
                        time=acked, wall=0.0)
        pairs.append((inv, done))
    final_value, final_tag = final
    end = {"converged": True, "final": final_value, "final_tag": final_tag, "agreed_at": 10.0,
           "by_region": {}}
    return judge_trial(0, mode, {"base": base, "base_tag": "init"}, end, pairs, tagged)


def test_concurrent_writes_are_a_conflict_with_one_lost() -> None:
    r = _trial([("a", 1001, 1.000, 1.010, 0, "init"), ("b", 1002, 1.001, 1.012, 0, "init")],
               (1002, "t:b"))
    assert r.conflict is True and r.concurrent == [("a", "b")]
    assert r.winner == "b" and r.lost == ["a"]
    assert r.lww == "tie"  # the two requests overlapped
    assert r.verdict == "lost-writes"


def test_sequential_writes_are_no_conflict() -> None:
    r = _trial([("a", 1001, 1.000, 1.010, 0, "init"), ("b", 1002, 1.5, 1.51, 1001, "t:a")],
               (1002, "t:b"))
    assert r.conflict is False and r.lost == [] and r.winner == "b"
    assert r.lww == "ok" and r.verdict == "ok"


def test_last_writer_wins_is_checked() -> None:
    # b was sent after a was acknowledged, neither saw the other, yet a won: a violation
    r = _trial([("a", 1001, 1.000, 1.010, 0, "init"), ("b", 1002, 1.020, 1.030, 0, "init")],
               (1001, "t:a"))
    assert r.conflict is True and r.lww == "violation" and r.verdict == "lww-violation"
    # b clearly later and b won: decisive
    r = _trial([("a", 1001, 1.000, 1.010, 0, "init"), ("b", 1002, 1.020, 1.030, 0, "init")],
               (1002, "t:b"))
    assert r.lww == "ok" and r.lost == ["a"]
    # a write that saw the winner must have won instead
    r = _trial([("a", 1001, 1.000, 1.010, 0, "init"), ("b", 1002, 1.5, 1.51, 1001, "t:a")],
               (1001, "t:a"))
    assert r.lww == "violation"


def test_increment_lost_updates_counted() -> None:
    r = _trial([("a", 1, 1.000, 1.010, 5, "init"), ("b", 1, 1.001, 1.011, 5, "init"),
                ("c", 1, 1.002, 1.012, 5, "init")], (6, "t:c"), mode="increment", base=5)
    assert r.conflict is True and r.lost_increments == 2 and r.lost == ["a", "b"]
    assert r.verdict == "lost-updates"
    # untagged (e.g. through the regional API): the count still works
    r = _trial([("a", 1, 1.000, 1.010, 5, None), ("b", 1, 1.001, 1.011, 5, None)], (6, None),
               mode="increment", base=5, tagged=False)
    assert r.conflict is True and r.lost_increments == 1
    assert sorted(r.winner_candidates) == ["a", "b"] and r.winner is None
    assert r.lost == [] and r.lost_amount == 1  # one was lost, which one cannot be told


def test_plus_one_minus_one_names_the_lost_write() -> None:
    # the workshop's demo through the regional API (no tags): +1 in a, -1 in b, from 5
    r = _trial([("a", 1, 1.000, 1.010, 5, None), ("b", -1, 1.001, 1.011, 5, None)], (4, None),
               mode="increment", base=5, tagged=False)
    assert r.conflict is True and r.winner == "b" and r.lost == ["a"]
    assert r.lost_increments == 1 and r.lost_amount == 1  # +1 - 1 acked, yet 5 -> 4
    assert r.verdict == "lost-updates"
    # sequential: b saw a's 6 and went back to 5; nothing lost
    r = _trial([("a", 1, 1.000, 1.010, 5, None), ("b", -1, 1.5, 1.51, 6, None)], (5, None),
               mode="increment", base=5, tagged=False)
    assert r.conflict is False and r.lost == [] and r.lost_increments == 0
    assert r.lost_amount == 0 and r.winner == "b" and r.lww == "ok"


def test_divergence_and_unknown_writes() -> None:
    h = History()
    inv = h.append("w:a", "invoke", "set", "a", 1001, {"trial": 0, "tag": "t:a"}, time=1.0)
    done = h.append("w:a", "info", "set", "a", None, {"error": "timed out"}, time=2.0)
    r = judge_trial(0, "set", {"base": 0, "base_tag": "init"},
                    {"converged": False, "by_region": {"a": 1001, "b": 0}}, [(inv, done)], True)
    assert r.converged is False and r.verdict == "diverged"
    assert r.writes[0].status == "info" and r.acked == 0


def test_summary_counts() -> None:
    a = _trial([("a", 1, 1.0, 1.01, 5, "init"), ("b", 1, 1.001, 1.011, 5, "init")], (6, "t:b"),
               mode="increment", base=5)
    b = _trial([("a", 1, 1.0, 1.01, 6, "t:b"), ("b", 1, 1.5, 1.51, 7, "t:a")], (8, "t:b"),
               mode="increment", base=6)
    s = summarize_trials([a, b])
    assert s["trials"] == 2 and s["conflicts"] == 1 and s["conflict_rate"] == 0.5
    assert s["lost_increments"] == 1 and s["acked_writes"] == 4 and s["diverged"] == 0


def test_config_validation() -> None:
    for kwargs in ({"regions": ("a",)}, {"trials": 0}, {"mode": "add"}, {"path": "http"},
                   {"stagger_ms": -1}, {"path": "api", "attribute": "n"},
                   {"amounts": (1, -1)}, {"mode": "increment", "amounts": (1, 0)},
                   {"mode": "increment", "amounts": (1, 2), "regions": ("a", "b", "c")}):
        with pytest.raises(ConfigError):
            ConflictConfig(**kwargs)


# --- against the emulator over HTTP -----------------------------------------------------------

REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")


@pytest.fixture
def lab_conn(emulator, unique_table):
    from emulator_helpers import make_global

    from gtcore.target import Connection, Target

    make_global(emulator.endpoint, unique_table, REGIONS)
    conn = Connection(Target(regions=REGIONS, table=unique_table, endpoint=emulator.endpoint))
    yield conn
    conn.close()


def _recheck_matches(lab: ConflictLab) -> None:
    again = check_history(History.from_json(lab.history.to_json()))
    assert [r.to_dict() for r in again] == [r.to_dict() for r in lab.results()]


def test_set_mode_conflicts_converge_and_lose_writes(emulator, lab_conn) -> None:
    # lag 100 ms, writes released together: every trial is a real conflict
    lab = ConflictLab(lab_conn, ConflictConfig(regions=REGIONS[:2], trials=6, mode="set"))
    results = lab.run()
    assert lab.state == "done" and len(results) == 6
    for r in results:
        assert r.converged and r.conflict is True
        assert r.winner in REGIONS[:2] and len(r.lost) == 1 and r.winner not in r.lost
        assert r.final in {w.amount for w in r.writes}  # a value one writer wrote
        assert r.lww in ("ok", "tie")
        assert set(r.final_by_region.values()) == {r.final}
        assert r.start_skew_ms < 50
    summary = lab.summary()
    assert summary["conflict_rate"] == 1.0 and summary["lost_writes"] == 6
    assert summary["lww_violations"] == 0 and summary["start_skew_ms_median"] < 20
    _recheck_matches(lab)
    # the dedicated item is removed at the end
    assert emulator.wait_replicated(10.0)
    item = lab_conn.client("dynamodb", "eu-west-1").get_item(
        TableName=lab_conn.target.table, Key={"PK": {"S": "__gtconflict__"},
                                              "SK": {"S": lab.sk}}, ConsistentRead=True)
    assert "Item" not in item


@pytest.mark.slow
def test_increment_loses_updates_where_set_does_not(emulator, lab_conn) -> None:
    inc = ConflictLab(lab_conn, ConflictConfig(trials=4, mode="increment"))
    results = inc.run()
    for r in results:
        assert r.converged and r.conflict is True
        assert r.acked == 3
        # every region added 1, the replicas agree on base + 1: two updates vanished
        assert r.final == r.base + 1 and r.lost_increments == 2
        assert r.verdict == "lost-updates"
    assert inc.summary()["lost_increments"] == 8
    _recheck_matches(inc)

    absolute = ConflictLab(lab_conn, ConflictConfig(trials=4, mode="set"))
    for r in absolute.run():
        assert r.converged and r.conflict is True and r.lost_increments is None
        assert r.final == next(w.amount for w in r.writes if w.region == r.winner)
    assert absolute.summary()["lost_increments"] == 0


def test_per_region_amounts(lab_conn) -> None:
    lab = ConflictLab(lab_conn, ConflictConfig(regions=REGIONS[:2], trials=3, mode="increment",
                                               amounts=(1, -1)))
    for r in lab.run():
        winner = next(w for w in r.writes if w.region == r.winner)
        loser = next(w for w in r.writes if w.region != r.winner)
        assert r.conflict is True and r.lost == [loser.region]
        assert r.final == r.base + winner.amount and r.lost_amount == loser.amount
    with pytest.raises(ConfigError):
        ConflictLab(lab_conn, ConflictConfig(mode="increment", amounts=(1, -1)))  # 3 regions
    _recheck_matches(lab)


def test_stagger_makes_the_order_known_and_the_last_writer_wins(lab_conn) -> None:
    lab = ConflictLab(lab_conn, ConflictConfig(regions=REGIONS[:2], trials=3, stagger_ms=30))
    for r in lab.run():
        assert r.conflict is True and r.winner == REGIONS[1] and r.lww == "ok"
        assert r.start_skew_ms < 20  # measured net of the deliberate stagger


@pytest.mark.slow
def test_writes_further_apart_than_the_lag_do_not_conflict(lab_conn) -> None:
    # 400 ms apart with 100 ms lag: the second write saw the first
    lab = ConflictLab(lab_conn, ConflictConfig(regions=REGIONS[:2], trials=2, stagger_ms=400))
    for r in lab.run():
        assert r.conflict is False and r.lost == [] and r.winner == REGIONS[1]
        assert r.verdict == "ok"


def test_export_and_cancel(lab_conn, tmp_path) -> None:
    lab = ConflictLab(lab_conn, ConflictConfig(regions=REGIONS[:2], trials=200)).start()
    while lab.progress().done < 2:
        lab.wait(0.05)
    lab.cancel()
    assert lab.wait(20.0) and lab.state == "cancelled"
    done = lab.progress().done
    assert 2 <= done < 200
    doc = json.loads(lab.to_json(tmp_path / "c.json", include_history=True))
    assert doc["summary"]["trials"] == done and len(doc["trials"]) == done
    assert len(check_history(History.from_dict(doc["history"]))) == done
    assert lab.to_csv(tmp_path / "c.csv").splitlines()[0].startswith("trial,mode,regions")


def test_read_only_target_is_refused(emulator, unique_table) -> None:
    from gtcore.errors import ReadOnlyError
    from gtcore.target import Connection, Target

    conn = Connection(Target(regions=REGIONS, table=unique_table, endpoint=emulator.endpoint,
                             read_only=True))
    with pytest.raises(ReadOnlyError):
        ConflictLab(conn, ConflictConfig(trials=1)).run()


@pytest.mark.slow
def test_conflict_cli(emulator, lab_conn, capsys, tmp_path) -> None:
    from gtcore.cli import main

    base = ["--endpoint", emulator.endpoint, "--regions", ",".join(REGIONS[:2]),
            "--table", lab_conn.target.table, "conflict"]
    assert main([*base, "--trials", "2", "--mode", "increment"]) == 0
    text = capsys.readouterr().out
    assert "lost-updates" in text and "use absolute values" in text
    out = tmp_path / "c.json"
    assert main([*base, "--trials", "2", "--json", "--out", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["trials"] == 2 and doc["summary"]["conflicts"] == 2
    assert json.loads(out.read_text())["summary"]["lost_writes"] == 2
    assert main([*base, "--trials", "1", "--mode", "increment", "--amounts", "1,-1"]) == 0
    assert "lost-updates" in capsys.readouterr().out
    assert main([*base, "--amounts", "1,x"]) == 2
    assert main([*base, "--amounts", "1,-1"]) == 2  # set mode takes no amounts


@pytest.mark.slow
def test_isolated_writer_is_recorded_unknown_and_the_trial_diverges(emulator, lab_conn) -> None:
    lab = ConflictLab(lab_conn, ConflictConfig(regions=REGIONS[:2], trials=3,
                                               converge_timeout=0.5, settle=0.2)).start()
    try:
        while lab.progress().done < 1 and not lab.wait(0.01):
            pass
        emulator.isolate("eu-west-1")
        assert lab.wait(30)
    finally:
        emulator.heal("eu-west-1")
    results = lab.results()
    assert lab.state == "done" and len(results) == 3
    assert results[0].converged and results[0].conflict
    for r in results[1:]:
        assert r.verdict == "diverged" and not r.converged
        status = {w.region: w.status for w in r.writes}
        assert status == {"us-west-2": "ok", "eu-west-1": "info"}  # 503: outcome unknown
        assert r.final_by_region["eu-west-1"] is None
    assert lab.summary()["diverged"] == 2
    _recheck_matches(lab)
    assert emulator.wait_replicated(10.0)
