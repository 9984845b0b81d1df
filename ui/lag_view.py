"""Replication-lag page pieces: the probe form, its live progress, charts and the table."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from gtcore.errors import GtError
from gtcore.experiments.lag_probe import LagProbe, ProbeConfig, all_pairs, summarize
from ui import charts, session
from ui.messages import show_error
from ui.widgets import plot, region_name

PROBE_KEY = "lag_probe"
FRAME_KEY = "lag_frame_cache"
ERROR_KEY = "lag_error"
VIEW_KEY = "lag_view_cache"
ROW_PX = 38  # a table row at the projector's 18 px base font


def running_probe() -> LagProbe | None:
    return st.session_state.get(PROBE_KEY)


def probe_form(regions: tuple[str, ...]) -> None:
    """Pairs, samples, rate and timeout; Start runs `start_probe` as its callback."""
    pairs = all_pairs(regions)
    if not pairs:
        st.info("Pick at least two regions in the sidebar to measure replication lag.")
        return
    with st.form("probe_form"):
        many = len(regions) > 2  # names only: five "ap-southeast-2 (Sydney)" tags overflow
        src_col, dst_col = st.columns(2) if not many else (st.container(), st.container())
        src_col.multiselect("Write in", options=list(regions), default=list(regions),
                            format_func=str if many else region_name, key="probe_sources")
        dst_col.multiselect("Read in", options=list(regions), default=list(regions),
                            format_func=str if many else region_name, key="probe_destinations",
                            help="Every write region is measured against every other read "
                            "region.")
        a, b, c = st.columns(3)
        a.number_input("Writes per source region", 1, 5000, 20, key="probe_samples")
        b.number_input("Writes per second per source", 0.2, 50.0, 2.0, step=0.5,
                       key="probe_rate")
        c.number_input("Give up after (s)", 1.0, 120.0, 10.0, key="probe_timeout")
        st.form_submit_button("Start the probe", type="primary", icon=":material/play_arrow:",
                              key="probe_start", on_click=start_probe,
                              disabled=session.read_only(),
                              help="writes short-lived probe items (TTL) in the source regions")
    failed = st.session_state.pop(ERROR_KEY, None)
    if failed is not None:
        show_error(failed)


def start_probe() -> None:
    """Form callback: a new probe from the form's values (the old one is cancelled)."""
    state = st.session_state
    old = running_probe()
    if old is not None and old.state == "running":
        old.cancel()
    try:
        pairs = tuple((a, b) for a in state["probe_sources"] for b in state["probe_destinations"]
                      if a != b)
        config = ProbeConfig(pairs=pairs, samples=int(state["probe_samples"]),
                             rate=float(state["probe_rate"]),
                             timeout=float(state["probe_timeout"]))
        state[PROBE_KEY] = LagProbe(session.connection(), config).start()
    except GtError as err:
        state[ERROR_KEY] = err


def samples_frame(probe: LagProbe) -> pd.DataFrame:
    """The probe's samples with `t_s` (seconds into the run), cached per run and size."""
    done = probe.progress().done
    cached = st.session_state.get(FRAME_KEY)
    if cached is not None and cached[0] == (probe.run_id, done):
        return cached[1]
    frame = probe.frame()
    if not frame.empty:
        frame["t_s"] = frame["write_wall"] - frame["write_wall"].min()
    st.session_state[FRAME_KEY] = ((probe.run_id, done), frame)
    return frame


def progress_bar(probe: LagProbe) -> None:
    p = probe.progress()
    words = {"running": "Measuring", "done": "Finished", "cancelled": "Cancelled",
             "failed": "Stopped", "idle": "Waiting"}.get(p.state, p.state)
    text = (f"{words}: {p.done} of {p.total} samples · {p.ok} arrived · {p.timeouts} timed out"
            f" · {p.errors} write errors · {p.elapsed_s:.0f} s")
    st.progress(min(1.0, p.fraction), text=text)
    if probe.error is not None:
        show_error(probe.error)
    for warning in probe.warnings:
        st.warning(warning)


def lag_table(frame: pd.DataFrame) -> pd.DataFrame:
    """p50/p90/p99 per pair with its physics floor and the median as a multiple of it."""
    table = charts.with_physics_floor(summarize(frame))
    table = table.rename(columns={
        "source": "from", "destination": "to", "p50_ms": "p50 ms", "p90_ms": "p90 ms",
        "p99_ms": "p99 ms", "max_ms": "max ms", "distance_km": "km",
        "floor_ms": "light in fiber ms", "p50_x_floor": "p50 ÷ light",
        "mean_width_ms": "± bounds ms", "overloaded": "under overload",
    })
    overload = ["under overload"] if table["under overload"].sum() else []
    return table[["from", "to", "samples", "timeouts", *overload, "p50 ms", "p90 ms", "p99 ms", "max ms",
                  "km", "light in fiber ms", "p50 ÷ light", "± bounds ms"]]


def overload_note(table: pd.DataFrame) -> None:
    """Said next to the figures when the emulator was behind its lag model during the run."""
    if "under overload" not in table:
        return
    count = int(table["under overload"].sum())
    st.warning(f"{count} sample{'s were' if count != 1 else ' was'} taken while the emulator delivered "
               "behind its lag model (too much load on this machine): they measure its backlog, not "
               "replication lag, so the percentiles leave them out and the time chart shows them as "
               "grey crosses.", icon=":material/speed:")


def show_table(table: pd.DataFrame) -> None:
    """Every pair on screen (no inner scrolling up to 20 pairs), rows tall enough for the
    18 px base font."""
    fmt = {c: "{:,.0f}" for c in ("p50 ms", "p90 ms", "p99 ms", "max ms", "± bounds ms")}
    fmt["light in fiber ms"] = "{:.1f}"
    fmt["p50 ÷ light"] = "{:.0f}×"
    shown = table.drop(columns=["km"])
    styled = shown.style.format(fmt, na_rep="—").format(
        lambda v: "never" if isinstance(v, float) and math.isinf(v) else f"{v:,.0f}",
        subset=["p50 ms", "p90 ms", "p99 ms", "max ms"])
    st.dataframe(styled, hide_index=True, width="stretch", row_height=ROW_PX,
                 height=ROW_PX * (min(len(table), 20) + 1) + 3)


def headline(table: pd.DataFrame) -> None:
    """One sentence the room can read: the typical lag and how far above physics it is."""
    finite = table[table["p50 ms"].apply(lambda v: not math.isinf(v) and not math.isnan(v))]
    if finite.empty:
        return
    row = finite.sort_values("p50 ms").iloc[len(finite) // 2]
    st.markdown(
        f"### Typical write reaches **{row['to']}** from **{row['from']}** in "
        f"**{row['p50 ms']:,.0f} ms** — light in fiber needs {row['light in fiber ms']:.0f} ms "
        f"for those {row['km']:,.0f} km, so replication takes **{row['p50 ÷ light']:.0f}×** "
        "the physics floor."
    )


def lag_figures(frame: pd.DataFrame, table: pd.DataFrame,
                order: tuple[str, ...]) -> dict[str, go.Figure]:
    """ECDF, time series and histogram; with many pairs, panels per source and matrices."""
    # The ECDF and histogram leave out what the percentiles leave out: samples under overload.
    clean = frame[~frame["overload"].fillna(False).astype(bool)] if "overload" in frame else frame
    ok = clean[clean["status"] == "ok"]
    pairs = {(str(a), str(b)) for a, b in zip(frame["source"], frame["destination"],
                                                strict=True)}
    figures = {"lag_ecdf": charts.lag_ecdf(clean, charts.physics_floors(pairs), order=order),
               "lag_ts": charts.lag_timeseries(frame[frame["status"] == "ok"], order=order)}
    if len(pairs) <= charts.MAX_OVERLAID_PAIRS:
        figures["lag_hist"] = charts.lag_histogram(ok)
        return figures  # beyond two pairs, matrices say more than a histogram per pair
    regions = [r for r in order if any(r in p for p in pairs)]
    finite = table[table["p50 ms"].apply(math.isfinite)]
    cells = list(zip(finite["from"], finite["to"], strict=True))
    figures["lag_p50"] = charts.pair_heatmap(dict(zip(cells, finite["p50 ms"], strict=True)),
                                             regions, title="Median lag (ms)")
    figures["lag_ratio"] = charts.pair_heatmap(
        dict(zip(cells, finite["p50 ÷ light"], strict=True)), regions, unit="×",
        title="Median lag ÷ light in fiber")
    return figures


def results_for(probe: LagProbe) -> tuple[pd.DataFrame, dict[str, go.Figure]] | None:
    """Table and figures of the probe's samples so far, built once per run, size and regions."""
    frame = samples_frame(probe)
    if frame.empty:
        return None
    order = session.choice().regions
    key = (probe.run_id, len(frame), order)
    cached = st.session_state.get(VIEW_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    table = lag_table(frame)
    built = (table, lag_figures(frame, table, order))
    st.session_state[VIEW_KEY] = (key, built)
    return built


def lag_charts(figures: dict[str, go.Figure]) -> None:
    """One chart under the other: each keeps the page's width (side by side, a 1024 px projector
    cut them)."""
    for key in ("lag_ecdf", "lag_hist", "lag_p50", "lag_ratio", "lag_ts"):
        if key in figures:
            plot(figures[key], key=key)


def csv_download(probe: LagProbe) -> None:
    st.download_button("Download the samples (CSV)", data=probe.to_csv,
                       file_name=f"lag-samples-{probe.run_id}.csv", mime="text/csv",
                       icon=":material/download:", key="lag_csv", on_click="ignore")
