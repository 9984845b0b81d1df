"""The dashboard's words and pictures in front of a room (issue 13): errors in the screen's
words, the diff's values and held replication, the conflict lab's numbering and lost increments."""

from __future__ import annotations

import pandas as pd

from gtcore.errors import NotFoundError, RegionUnavailableError
from gtcore.experiments.conflict.checker import TrialResult, WriteOutcome
from gtcore.probes.diff import ItemDiff
from ui import charts
from ui.conflict_view import expected, numbered_from_one
from ui.explorer_view import difference, plural
from ui.messages import error_text, screen_words
from ui.sidebar import lag_words, target_problem


def test_errors_speak_the_screens_words_not_the_clis() -> None:
    isolated = RegionUnavailableError(
        "region not answering (ServiceUnavailable: Region eu-west-1 is isolated by the emulator; "
        "heal it from the Region failure page or `POST /_emulator/heal`)",
        hint="retry later or leave it out with --regions", region="eu-west-1")
    text = error_text(isolated)
    assert "/_emulator" not in text and "--regions" not in text
    assert "**Heal** on **Region failure**" in text
    missing = error_text(NotFoundError("not found (x)", hint="check it (--table, --regions)"))
    assert "--table" not in missing and "**Setup**" in missing
    assert screen_words("not found (--table, --regions)") == "not found"


def test_apply_with_no_region_says_where_to_pick_one() -> None:
    problem = target_problem((), "global-serverless")
    assert problem is not None and "--regions" not in f"{problem.message} {problem.hint}"
    assert "**Regions**" in problem.hint
    assert "**Table**" in target_problem(("us-west-2",), "").hint
    assert target_problem(("us-west-2",), "global-serverless") is None


def test_the_diff_shows_each_regions_value_and_counts_in_words() -> None:
    d = ItemDiff(key={"PK": "user100", "SK": "AshlandValley"}, kind="different", missing_in=(),
                 differing_attributes=("Bookmark",),
                 images={"us-west-2": {"Bookmark": 5}, "eu-west-1": {"Bookmark": 4}})
    assert difference(d) == "Bookmark: us-west-2 5 · eu-west-1 4"
    assert plural(1, "key") == "1 key" and plural(2, "key") == "2 keys"


def _increment_trial(final: int) -> TrialResult:
    writes = [WriteOutcome(region=r, amount=1, tag=None, status="ok", sent=1.0, acked=1.01)
              for r in ("us-west-2", "eu-west-1")]
    return TrialResult(trial=0, mode="increment", base=0, base_tag=None, writes=writes,
                       converged=True, final=final, final_tag=None, final_by_region={},
                       start_skew_ms=0.1, convergence_ms=900, conflict=True)


def test_a_lost_increment_shows_as_a_gap_to_the_expected_line() -> None:
    trial = _increment_trial(final=1)
    assert expected(trial) == 2.0
    events = pd.DataFrame({"t_ms": [0, 0, 50, 60], "region": ["us-west-2", "eu-west-1"] * 2,
                           "value": [1, 1, 1, 1], "kind": ["write", "write", "read", "read"]})
    fig = charts.region_value_timeline(events, ["us-west-2", "eu-west-1"], winner_value=1,
                                       base_value=0, expected_value=expected(trial))
    assert any(s.y0 == 2.0 for s in fig.layout.shapes)
    assert fig.layout.yaxis.range[1] > 2.0
    assert any("had no write been lost: 2" in a.text for a in fig.layout.annotations)


def test_trials_are_numbered_from_one_in_the_csv_as_on_screen() -> None:
    frame = pd.DataFrame({"trial": [0, 1, 2], "winner": ["a", "b", "a"]})
    assert list(numbered_from_one(frame)["trial"]) == [1, 2, 3]
    assert "1,a" in numbered_from_one(frame).to_csv(index=False)


def test_the_lag_model_says_what_it_means() -> None:
    assert lag_words("fixed:300") == "fixed:300 (every write arrives after 0.3 s)"
    assert lag_words("pairs:a>b=5") == "pairs:a>b=5"
