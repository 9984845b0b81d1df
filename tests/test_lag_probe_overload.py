"""Lag probe samples taken while the emulator delivers behind its lag model are marked, not
presented as AWS-like lag: in the samples, their exports and re-checks, and the summaries."""

from __future__ import annotations

import threading
import time

import pytest
from test_lag_probe import REGIONS, _simulate, probe_conn  # noqa: F401  (fixture)

from gtcore.experiments.lag_probe import ProbeConfig, derive_samples, samples_frame, summarize
from gtcore.experiments.lag_probe.checker import OVERLOAD_OP, taken_under_overload
from gtcore.history import History

PAIR = ("src", "dst")
READS = [(t, t + 0.001, t + 0.002) for t in [0.01 * k for k in range(1, 30)]]  # visible at 0.103


def _report(history: History, at: float, *pairs: tuple[str, str]) -> None:
    history.append("overload-watch", "info", OVERLOAD_OP, "", [list(p) for p in pairs], time=at, wall=0.0)


def test_a_report_holds_until_the_next_one() -> None:
    reports = [(1.0, frozenset({PAIR})), (2.0, frozenset())]
    assert taken_under_overload(reports, PAIR, 1.5, 1.6)  # reported before, still in force
    assert taken_under_overload(reports, PAIR, 0.5, 1.2)  # reported during
    assert not taken_under_overload(reports, PAIR, 2.5, 3.0)  # cleared before
    assert not taken_under_overload(reports, ("dst", "src"), 1.5, 1.6)  # another pair
    assert not taken_under_overload((), PAIR, 0.0, 9.0)


@pytest.mark.parametrize(("reports", "marked"), [
    ([(-1.0, [PAIR]), (0.05, [])], True),  # behind when the probe wrote
    ([(-1.0, []), (0.08, [PAIR])], True),  # fell behind while it polled
    ([(-1.0, [PAIR]), (-0.5, [])], False),  # had caught up before the write
    ([(0.5, [PAIR])], False),  # fell behind after the item showed (first hit received 0.112)
    ([(-1.0, [("dst", "src")])], False),  # the other direction only
])
def test_samples_taken_while_the_emulator_was_behind_are_marked(reports, marked) -> None:
    history = _simulate(0.100, (0.0, 0.004), 0.003, READS)
    for at, pairs in reports:
        _report(history, at, *pairs)
    [sample] = derive_samples(history)
    assert sample.status == "ok" and sample.overload is marked
    assert derive_samples(History.from_json(history.to_json())) == [sample]  # JSON re-check
    again = History.from_csv(history.to_csv(), meta=history.meta)
    assert derive_samples(again) == [sample]  # CSV re-check


def test_a_timeout_under_overload_is_marked() -> None:
    history = _simulate(5.0, (0.0, 0.002), 0.001, READS[:3])
    history.append("prober", "info", "give-up", "dst", None, {"probe": "0:src", "reason": "timeout"}, time=0.6,
                   wall=0.0)
    _report(history, 0.4, PAIR)
    [sample] = derive_samples(history)
    assert sample.status == "timeout" and sample.overload


def test_summaries_count_overloaded_samples_and_leave_them_out_of_the_percentiles() -> None:
    fast = derive_samples(_simulate(0.100, (0.0, 0.004), 0.003, READS))[0]
    slow = derive_samples(_simulate(0.250, (0.0, 0.004), 0.003, READS))[0]
    late = [slow.__class__(**{**slow.__dict__, "seq": i, "overload": True}) for i in range(1, 4)]
    frame = samples_frame([fast, *late])
    assert list(frame["overload"]) == [False, True, True, True]
    assert frame.to_csv(index=False).splitlines()[0].endswith(",overload,width_ms")
    row = summarize(frame).iloc[0]
    assert row["samples"] == 4 and row["overloaded"] == 3
    assert row["p99_ms"] == row["max_ms"] == pytest.approx(fast.lag_ms)


@pytest.mark.slow
def test_a_probe_run_marks_what_it_measured_while_the_emulator_was_behind(emulator, probe_conn) -> None:  # noqa: F811
    """eu-west-1's lock held (as by a region busy with requests) stalls delivery into it: the
    run's samples of us-west-2 -> eu-west-1 are marked, in the run and in its re-check."""
    from gtcore.experiments.lag_probe import LagProbe

    cfg = ProbeConfig(pairs=((REGIONS[0], REGIONS[1]),), samples=2, rate=10.0, timeout=5.0, adaptive=False)
    probe = LagProbe(probe_conn, cfg)
    release, held = threading.Event(), threading.Event()

    def busy_region() -> None:
        with emulator.store.region_lock(REGIONS[1]):
            held.set()
            release.wait(10)

    blocker = threading.Thread(target=busy_region)
    blocker.start()
    try:
        held.wait(5)
        probe.start()
        deadline = time.monotonic() + 10  # the probe's writes may start late on a loaded machine
        while not emulator.overload()["behind"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emulator.overload()["behind"], "the held lock never made delivery late"
        threading.Event().wait(1.2)  # two of the probe's overload polls see it
    finally:
        release.set()
        blocker.join()
    assert probe.wait(15)
    frame = probe.frame()
    assert probe.state == "done" and (frame["status"] == "ok").all()
    assert frame["overload"].all(), frame
    assert probe.progress().overloaded == 2 and probe.summary().loc[0, "overloaded"] == 2
    assert samples_frame(derive_samples(History.from_json(probe.history.to_json()))).equals(frame)
    assert any(op.f == OVERLOAD_OP and op.value for op in probe.history.ops)
