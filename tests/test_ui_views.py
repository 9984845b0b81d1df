"""Pure helpers of the page views: history -> chart rows, verdict sentences, video times."""

from __future__ import annotations

import pytest

from gtcore.experiments.conflict import TrialResult, WriteOutcome
from gtcore.history import History
from ui.conflict_view import trial_events, verdict_text
from ui.drill_view import short_error, video_time, writes_frame
from ui.explorer_view import items_frame


def _invoke(h: History, process: str, f: str, region: str, value, at: float, **extra):
    return h.append(process, "invoke", f, region, value, extra, time=at)


def _trial_history() -> History:
    h = History()
    a = _invoke(h, "writer:us-west-2", "increment", "us-west-2", 1, 10.000, trial=0)
    b = _invoke(h, "writer:eu-west-1", "increment", "eu-west-1", 1, 10.001, trial=0)
    h.complete(a, "ok", {"old": 5, "new": 6, "old_known": True}, time=10.020)
    h.complete(b, "ok", {"old": 5, "new": 6, "old_known": True}, time=10.025)
    r = _invoke(h, "reader:eu-west-1", "read", "eu-west-1", None, 10.030, trial=0)
    h.complete(r, "ok", {"value": 6, "tag": "x"}, time=10.040)
    other = _invoke(h, "reader:us-west-2", "read", "us-west-2", None, 11.0, trial=1)
    h.complete(other, "ok", {"value": 7, "tag": "y"}, time=11.01)
    return h


def test_trial_events_keep_one_trial_and_mark_the_lost_write() -> None:
    events = trial_events(_trial_history(), 0, lost=["eu-west-1"])
    assert list(events["kind"]) == ["write", "write-lost", "read"]
    assert events["t_ms"].tolist() == pytest.approx([0.0, 1.0, 40.0])
    assert events["value"].tolist() == [6, 6, 6]
    assert trial_events(_trial_history(), 5).empty


def _write(region: str, status: str = "ok") -> WriteOutcome:
    return WriteOutcome(region=region, amount=1, tag=None, status=status, sent=0.0, acked=0.1)


def test_verdict_names_the_winner_and_the_lost_write() -> None:
    result = TrialResult(trial=0, mode="increment", base=5, base_tag=None,
                         writes=[_write("us-west-2"), _write("eu-west-1")], converged=True,
                         final=6, final_tag=None, final_by_region={}, start_skew_ms=1.0,
                         convergence_ms=900.0, conflict=True, winner="us-west-2",
                         lost=["eu-west-1"], lost_increments=1)
    text = verdict_text(result)
    assert "**us-west-2**'s write won" in text and "**eu-west-1**'s write was acknowledged" in text
    assert "started at 5" in text
    result.conflict, result.lost, result.lost_increments = False, [], 0
    assert verdict_text(result).startswith("No conflict")
    result.converged = False
    result.final_by_region = {"us-west-2": 6, "eu-west-1": 4}
    assert "still disagree" in verdict_text(result)


def test_video_time_reads_like_a_player() -> None:
    assert video_time("0.013889", 3600) == "0:50"
    assert video_time("0.5", 3600) == "30:00"
    assert video_time("1", 7200) == "2:00:00"
    assert video_time(None, 3600) == "—"
    assert video_time("garbage", 3600) == "—"


def test_writes_frame_measures_failures_by_their_round_trip() -> None:
    h = History()
    w1 = _invoke(h, "player", "write", "us-west-2", "0.0001", 1.0)
    h.complete(w1, "ok", "0.0001", time=1.02, rtt_ms=18.0)
    w2 = _invoke(h, "player", "write", "us-west-2", "0.0002", 1.5)
    h.complete(w2, "info", None, time=3.5, error="timed out")
    frame = writes_frame(h)
    assert frame["latency_ms"].tolist() == pytest.approx([18.0, 2000.0])
    assert frame["ok"].tolist() == [True, False]
    assert frame["t_s"].tolist() == pytest.approx([0.0, 0.5])
    assert writes_frame(History()).empty


def test_items_frame_puts_keys_and_what_a_room_reads_first() -> None:
    items = [{"SK": {"S": "01"}, "title": {"S": "Spring"}, "PK": {"S": "library"},
              "n": {"N": "3"}, "a": {"S": "x"}}, {"PK": {"S": "library"}, "SK": {"S": "02"}}]
    frame = items_frame(items)
    assert list(frame.columns) == ["PK", "SK", "title", "a", "n"]
    assert frame.iloc[1]["title"] == "—"  # a missing attribute, not "None"
    assert frame.iloc[0]["title"] == "Spring"


def test_short_error_keeps_what_the_room_needs() -> None:
    long = ("call regional API /get/user10/01 in us-west-2: regional API at http://x answered "
            "HTTP 500: Internal server error (hint: API Gateway answers 500 when ...)")
    assert short_error(long) == "API answers HTTP 500"
    assert short_error("regional API did not answer (timed out)") == "timed out"
    assert short_error(None) == "no answer"


def test_error_headlines_fit_on_a_projector() -> None:
    from gtcore.errors import RegionUnavailableError
    from ui.messages import error_text, headline_of

    err = RegionUnavailableError(
        "regional API at http://127.0.0.1:1/_api/eu-west-1/api answered HTTP 503: Region "
        "eu-west-1 is isolated by the emulator", hint="heal it", region="eu-west-1",
        action="call regional API /get/user100/AshlandValley", code="HTTP503")
    assert headline_of(err) == "API answers HTTP 503"
    assert "heal it" in error_text(err) and "**eu-west-1**" in error_text(err)
    slow = RegionUnavailableError("regional API did not answer (timed out)", region="x")
    assert headline_of(slow) == "No answer (timed out)"


def test_the_lag_table_counts_samples_under_overload_and_leaves_them_out() -> None:
    import pandas as pd

    from ui.lag_view import lag_figures, lag_table

    frame = pd.DataFrame({
        "source": ["us-west-2"] * 4, "destination": ["eu-west-1"] * 4, "status": ["ok"] * 4,
        "lag_ms": [500.0, 510.0, 4000.0, 4100.0], "width_ms": [2.0] * 4, "t_s": [0.0, 1.0, 2.0, 3.0],
        "overload": [False, False, True, True],
    })
    table = lag_table(frame)
    (row,) = table.to_dict(orient="records")
    assert row["under overload"] == 2 and row["samples"] == 4 and row["max ms"] == 510.0
    ecdf = lag_figures(frame, table, ("us-west-2", "eu-west-1"))["lag_ecdf"]
    assert max(max(t.x) for t in ecdf.data if t.x is not None and len(t.x)) < 1000  # no backlog in it
    assert "under overload" not in lag_table(frame.assign(overload=False))
