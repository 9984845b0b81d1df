"""Chart builders: right traces, right colours, right numbers, empty inputs handled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gtcore.regions import physics_floor_ms
from ui import charts
from ui.colours import region_colours

REGIONS = ["us-west-2", "eu-west-1", "ap-northeast-1"]


def _samples(n: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for src in REGIONS:
        for dst in REGIONS:
            if src == dst:
                continue
            base = 600 if {src, dst} == {"us-west-2", "eu-west-1"} else 1200
            for i in range(n):
                rows.append((src, dst, base + rng.normal(0, 80), i * 0.1))
    return pd.DataFrame(rows, columns=["source", "destination", "lag_ms", "t_s"])


def _floors() -> dict[tuple[str, str], float]:
    return {(a, b): physics_floor_ms(a, b) for a in REGIONS for b in REGIONS if a != b}


def _two(samples: pd.DataFrame) -> pd.DataFrame:
    """Only the lab's two regions: two pairs, drawn on one set of axes."""
    lab = {"us-west-2", "eu-west-1"}
    return samples[samples.source.isin(lab) & samples.destination.isin(lab)]


def test_ecdf_has_one_line_per_pair_coloured_by_source_ending_at_100() -> None:
    fig = charts.lag_ecdf(_two(_samples()), _floors())
    assert len(fig.data) == 2
    colours = region_colours(REGIONS)
    for trace in fig.data:
        src, dst = trace.name.split(" → ")
        assert trace.line.color == colours[src]
        assert trace.y[-1] == pytest.approx(100.0)
        assert list(trace.x) == sorted(trace.x)
    # the physics band spans the slowest pair's floor
    band = fig.layout.shapes[0]
    assert band.x1 == pytest.approx(_floors()[("us-west-2", "eu-west-1")])


def test_ecdf_thins_big_inputs_but_keeps_extremes() -> None:
    samples = _two(_samples(n=5000))
    fig = charts.lag_ecdf(samples)
    for trace in fig.data:
        assert len(trace.x) <= charts.MAX_POINTS_PER_TRACE
        src, dst = trace.name.split(" → ")
        part = samples[(samples.source == src) & (samples.destination == dst)].lag_ms
        assert trace.x[0] == pytest.approx(part.min())
        assert trace.x[-1] == pytest.approx(part.max())


def test_pair_styles_distinguish_receiving_regions_of_one_source() -> None:
    styles = charts.pair_styles([("us-west-2", "eu-west-1"), ("us-west-2", "ap-northeast-1")])
    a, b = styles.values()
    assert a["color"] == b["color"]
    assert a["dash"] != b["dash"]


def test_timeouts_keep_the_ecdf_below_100_percent() -> None:
    samples = pd.DataFrame({
        "source": ["us-west-2"] * 4,
        "destination": ["eu-west-1"] * 4,
        "lag_ms": [500.0, 700.0, 900.0, np.nan],
        "status": ["ok", "ok", "ok", "timeout"],
    })
    trace = charts.lag_ecdf(samples).data[0]
    assert list(trace.y) == pytest.approx([25.0, 50.0, 75.0])


def test_physics_floor_columns_added_to_a_summary() -> None:
    summary = pd.DataFrame({"source": ["us-west-2", "us-west-2"],
                            "destination": ["eu-west-1", "us-east-1"],
                            "p50_ms": [740.0, 600.0]})
    out = charts.with_physics_floor(summary)
    floor = physics_floor_ms("us-west-2", "eu-west-1")
    assert 30 < floor < 45  # ~7,300 km at 2/3 c
    assert out.loc[0, "floor_ms"] == pytest.approx(floor)
    assert out.loc[0, "p50_x_floor"] == pytest.approx(740.0 / floor)
    assert 3000 < out.loc[1, "distance_km"] < 4000
    assert "p50_x_floor" not in summary.columns  # input untouched


def test_histogram_and_timeseries_cover_every_pair() -> None:
    samples = _samples(n=50)
    assert len(charts.lag_histogram(samples).data) == 6
    ts = charts.lag_timeseries(samples)
    assert len(ts.data) == 6
    assert sum(len(t.x) for t in ts.data) == len(samples)


@pytest.mark.parametrize("builder", [charts.lag_ecdf, charts.lag_histogram, charts.lag_timeseries])
def test_empty_samples_give_an_explaining_empty_chart(builder) -> None:
    empty = pd.DataFrame(columns=["source", "destination", "lag_ms", "t_s"])
    fig = builder(empty)
    assert not fig.data
    assert "No samples" in fig.layout.annotations[0].text


def test_heatmap_rows_are_sources_and_diagonal_blank() -> None:
    values = {("us-west-2", "eu-west-1"): 700.0, ("eu-west-1", "us-west-2"): 900.0}
    fig = charts.pair_heatmap(values, ["us-west-2", "eu-west-1"])
    z = fig.data[0].z
    assert z[0][0] is None and z[1][1] is None
    assert z[0][1] == 700.0 and z[1][0] == 900.0
    assert fig.data[0].text[0][1] == "700"


def test_metric_timeseries_one_trace_per_pair() -> None:
    ts = pd.date_range("2026-01-01", periods=5, freq="1min", tz="UTC")
    points = pd.DataFrame({
        "timestamp": list(ts) * 2,
        "source": ["us-west-2"] * 5 + ["eu-west-1"] * 5,
        "receiving": ["eu-west-1"] * 5 + ["us-west-2"] * 5,
        "value": np.linspace(500, 900, 10),
    })
    fig = charts.metric_timeseries(points)
    assert [t.name for t in fig.data] == ["eu-west-1 → us-west-2", "us-west-2 → eu-west-1"]
    assert charts.metric_timeseries(points.iloc[0:0]).layout.annotations


def test_region_bars_use_region_colours_and_mark_missing() -> None:
    fig = charts.region_bars({"us-west-2": 12, "eu-west-1": None}, ["us-west-2", "eu-west-1"],
                             title="Items", unit="items")
    bar = fig.data[0]
    assert list(bar.marker.color) == ["#E69F00", "#0072B2"]
    assert list(bar.text) == ["12", "n/a"]


def test_value_timeline_marks_writes_and_convergence() -> None:
    events = pd.DataFrame({
        "t_ms": [0, 5, 10, 700, 800],
        "region": ["us-west-2", "eu-west-1", "us-west-2", "eu-west-1", "us-west-2"],
        "value": [10, 10, 11, 9, 9],
        "kind": ["read", "read", "write", "write", "read"],
    })
    fig = charts.region_value_timeline(events, ["us-west-2", "eu-west-1"], winner_value=9)
    names = [t.name for t in fig.data]
    assert "us-west-2 write" in names and "eu-west-1 write" in names
    assert fig.layout.shapes and fig.layout.shapes[0].y0 == 9


def test_latency_timeline_puts_failures_at_zero() -> None:
    writes = pd.DataFrame({
        "t_s": [0.0, 0.5, 1.0],
        "region": ["us-west-2", "us-west-2", "eu-west-1"],
        "latency_ms": [12.0, 3000.0, 15.0],
        "ok": [True, False, True],
    })
    fig = charts.latency_timeline(writes, ["us-west-2", "eu-west-1"])
    failed = [t for t in fig.data if t.name == "us-west-2 failed"][0]
    assert list(failed.y) == [0]


def test_projector_style_is_big() -> None:
    fig = charts.lag_ecdf(_samples(n=10))
    assert fig.layout.font.size >= 18
    assert fig.layout.title.font.size >= 24


def test_many_pairs_get_one_panel_per_source_coloured_by_receiving_region() -> None:
    four = [*REGIONS, "eu-central-1"]
    rows = [(a, b, 900.0 + i, float(i)) for i, (a, b) in
            enumerate((a, b) for a in four for b in four if a != b)]
    samples = pd.DataFrame(rows, columns=["source", "destination", "lag_ms", "t_s"])
    colours = region_colours(four)
    for fig in (charts.lag_ecdf(samples), charts.lag_timeseries(samples)):
        assert len(fig.data) == 12
        titles = [a.text for a in fig.layout.annotations if a.text.startswith("written in")]
        assert sorted(titles) == sorted(f"written in {r}" for r in four)
        shown = [t for t in fig.data if t.showlegend is not False]
        assert sorted(t.name for t in shown) == sorted(f"arriving in {r}" for r in four)
        for trace in fig.data:
            colour = trace.line.color if trace.mode == "lines" else trace.marker.color
            assert colour == colours[trace.legendgroup]


def test_value_timeline_keeps_close_values_legible_when_the_start_is_far() -> None:
    events = pd.DataFrame({
        "t_ms": [0, 1, 50, 60],
        "region": ["us-west-2", "eu-west-1", "us-west-2", "eu-west-1"],
        "value": [1001, 1002, 1001, 1002],
        "kind": ["write", "write", "read", "read"],
    })
    fig = charts.region_value_timeline(events, ["us-west-2", "eu-west-1"], base_value=0,
                                       winner_value=1002)
    low, high = fig.layout.yaxis.range
    assert 990 < low < 1001 and 1002 < high < 1010
    assert any("started at 0" in a.text for a in fig.layout.annotations)
    near = charts.region_value_timeline(events, ["us-west-2", "eu-west-1"], base_value=1000)
    assert near.layout.yaxis.range[0] < 1000


def test_three_regions_already_get_panels_not_six_overlaid_lines() -> None:
    fig = charts.lag_ecdf(_samples(n=10))
    titles = sorted(a.text for a in fig.layout.annotations if a.text.startswith("written in"))
    assert titles == sorted(f"written in {r}" for r in REGIONS)
    assert len([t for t in fig.data if t.showlegend is not False]) == 3


def test_the_legend_sits_below_the_axis_titles_and_the_figure_grows_for_it() -> None:
    fig = charts.lag_ecdf(_samples(n=10))
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0
    assert fig.layout.margin.b >= 70 + charts.LEGEND_ROW_PX
    assert fig.layout.font.family.startswith('"Source Sans"')


def test_histogram_bars_stand_side_by_side_instead_of_blending() -> None:
    fig = charts.lag_histogram(_two(_samples(n=20)))
    assert fig.layout.barmode == "group"


def test_heatmap_colours_span_the_data_not_zero_to_max() -> None:
    values = {("us-west-2", "eu-west-1"): 1994.0, ("eu-west-1", "us-west-2"): 2161.0}
    heat = charts.pair_heatmap(values, ["us-west-2", "eu-west-1"]).data[0]
    assert (heat.zmin, heat.zmax) == (1994.0, 2161.0)
    same = charts.pair_heatmap({("us-west-2", "eu-west-1"): 500.0}, ["us-west-2", "eu-west-1"])
    assert same.data[0].zmin < 500 < same.data[0].zmax


def test_metric_lines_break_where_periods_have_no_datapoint() -> None:
    times = pd.to_datetime(["2026-01-01 10:00", "2026-01-01 10:01", "2026-01-01 10:05"])
    points = pd.DataFrame({"source": "us-west-2", "receiving": "eu-west-1", "timestamp": times,
                           "value": [900.0, 950.0, 990.0]})
    trace = charts.metric_timeseries(points, period_s=60).data[0]
    assert len(trace.y) == 4 and np.isnan(trace.y[2]) and trace.connectgaps is False


def test_samples_under_emulator_overload_are_grey_crosses_of_their_own() -> None:
    samples = pd.DataFrame({
        "source": ["us-west-2"] * 4, "destination": ["eu-west-1"] * 4, "t_s": [0.0, 1.0, 2.0, 3.0],
        "lag_ms": [510.0, 505.0, 4200.0, 3900.0], "overload": [False, False, True, True],
    })
    traces = charts.lag_timeseries(samples).data
    regular = [t for t in traces if t.legendgroup != "overload"]
    late = [t for t in traces if t.legendgroup == "overload"]
    assert [list(t.y) for t in regular] == [[510.0, 505.0]]
    assert len(late) == 1 and list(late[0].y) == [4200.0, 3900.0] and late[0].marker.symbol == "x"
    assert late[0].name == "under emulator overload" and late[0].marker.color == charts.OVERLOAD_GREY
