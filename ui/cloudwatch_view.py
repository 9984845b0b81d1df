"""CloudWatch page pieces: pickers, the ReplicationLatency charts and the measured comparison."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from gtcore.errors import GtError
from gtcore.experiments.lag_probe import summarize
from gtcore.probes.cloudwatch import LatencyResult
from ui import charts, session
from ui.lag_view import running_probe, samples_frame
from ui.messages import show_error
from ui.widgets import plot

WINDOWS = {"15 minutes": timedelta(minutes=15), "1 hour": timedelta(hours=1),
           "3 hours": timedelta(hours=3), "1 day": timedelta(days=1)}
PERIODS = {"1 minute": 60, "5 minutes": 300, "1 hour": 3600}
STATS = ("Average", "Maximum", "Minimum")


def pickers() -> tuple[timedelta, int, str]:
    a, b, c = st.columns(3)
    window = a.selectbox("Window", list(WINDOWS), index=0, key="cw_window")
    period = b.selectbox("Period", list(PERIODS), index=0, key="cw_period")
    stat = c.selectbox("Statistic", STATS, index=0, key="cw_stat")
    return WINDOWS[window], PERIODS[period], stat


def fetch(window: timedelta, period: int) -> LatencyResult | None:
    try:
        with st.spinner("Reading CloudWatch in every source region…"):
            return session.shared_reads().replication_latency(
                session.connection(), window=window, period=period,
                stats=("Average", "Minimum", "Maximum", "SampleCount"))
    except GtError as err:
        show_error(err)
        return None


def explain_gaps(result: LatencyResult) -> None:
    for source, message in result.errors.items():
        st.warning(f"CloudWatch in **{source}**: {message}", icon=":material/cloud_off:")
    empty = result.no_datapoints()
    if empty and len(empty) == len(result.pairs):
        st.info("No ReplicationLatency datapoints in this window yet. DynamoDB publishes the "
                "metric only while writes replicate: press + on **Replicas live** or run the "
                "lag probe, then refresh.", icon=":material/hourglass_empty:")
    elif empty:
        names = ", ".join(charts.pair_label(*p) for p in empty)
        st.caption(f"No datapoints yet for {names}.")


def metric_chart(result: LatencyResult, stat: str) -> None:
    points = result.frame[result.frame["stat"] == stat]
    minutes = result.period // 60
    every = f"{minutes} min" if minutes < 60 else "hour"
    plot(charts.metric_timeseries(points, title=f"ReplicationLatency, {stat} per {every}",
                                  x_range=(result.start, result.end), period_s=result.period,
                                  order=session.choice().regions), key="cw_ts")


def measured_p50() -> dict[tuple[str, str], float]:
    """The lag probe's median per pair from this session's last run (empty when none)."""
    probe = running_probe()
    if probe is None:
        return {}
    frame = samples_frame(probe)
    if frame.empty:
        return {}
    summary = summarize(frame)
    return {(str(r.source), str(r.destination)): float(r.p50_ms)
            for r in summary.itertuples() if pd.notna(r.p50_ms) and r.p50_ms != float("inf")}


def side_by_side(result: LatencyResult) -> None:
    """CloudWatch's mean lag per pair, then the lag probe's median: one under the other, so
    each keeps the page's width (side by side, a 1024 px projector cut them)."""
    regions = list(session.choice().regions)
    plot(charts.pair_heatmap(result.mean_by_pair(), regions,
                             title="CloudWatch: mean lag (ms)"), key="cw_heat")
    measured = measured_p50()
    if measured:
        plot(charts.pair_heatmap(measured, regions, title="Measured by the lag probe: median (ms)"),
             key="cw_measured")
    else:
        st.info("Run the lag probe to compare CloudWatch with what the dashboard measures.",
                icon=":material/timer:")
        st.page_link("pages/replication_lag.py", label="Measure lag now", icon=":material/timer:")


def pair_table(result: LatencyResult) -> None:
    rows = [{"pair": charts.pair_label(p.source, p.receiving),
             "datapoints": p.datapoints if p.state != "error" else None,
             "latest mean ms": p.latest.get("Average"),
             "latest max ms": p.latest.get("Maximum"),
             "at (UTC)": p.latest_at.strftime("%H:%M") if p.latest_at else "—"}
            for p in result.pairs]
    frame = pd.DataFrame(rows).astype({"latest mean ms": float, "latest max ms": float})
    st.dataframe(frame, hide_index=True, width="stretch", row_height=38,
                 height=38 * (len(rows) + 1) + 3, column_config={
                     "latest mean ms": st.column_config.NumberColumn(format="%.0f"),
                     "latest max ms": st.column_config.NumberColumn(format="%.0f")})
    st.caption(f"{result.calls} GetMetricData calls (one per source region) in "
               f"{result.elapsed_ms:.0f} ms. The metric lives in the source region's CloudWatch; "
               "an empty cell: no datapoint yet.")
