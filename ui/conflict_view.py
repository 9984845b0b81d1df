"""Conflict page pieces: the guided demo, the lab form and progress, per-trial timelines."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from gtcore.errors import GtError
from gtcore.experiments.conflict import ConflictConfig, ConflictLab, TrialResult
from gtcore.harness import DEMO_PK, DEMO_SK
from gtcore.history import History
from ui import charts, session
from ui.messages import show_error
from ui.widgets import chip_html, plot, region_name

DEMO_KEY = "conflict_demo"
LAB_KEY = "conflict_lab"
DEMO_AMOUNTS = (1, -1)  # the workshop: + in region A, − in region B
ERROR_KEY = "conflict_error"
LWW_HELP = ("*ok*: the write made last won. *tie*: the winning write and another were in flight "
            "at the same moment, so neither was last: DynamoDB picked one, and either is "
            "consistent with last writer wins. *violation*: an older write won.")


# --- pure: the history of one trial as chart events ----------------------------------------------


def trial_events(history: History, trial: int, lost: list[str] | tuple[str, ...] = ()
                 ) -> pd.DataFrame:
    """Reads and writes of one trial: t_ms (from its first write), region, value, kind.

    Writes take the value they produced (or the amount they tried, when unacknowledged);
    acknowledged writes from regions in `lost` are marked "write-lost".
    """
    rows: list[dict[str, Any]] = []
    for inv, done in history.pairs():
        if inv.extra.get("trial") != trial:
            continue
        if inv.f in ("set", "increment"):
            ok = done is not None and done.type == "ok"
            result = done.value if ok and isinstance(done.value, dict) else {}
            value = result.get("new", inv.value)
            kind = "write-lost" if ok and inv.region in lost else "write"
            rows.append({"time": inv.time, "region": inv.region, "value": value, "kind": kind})
        elif inv.f == "read" and done is not None and done.type == "ok":
            value = done.value.get("value") if isinstance(done.value, dict) else done.value
            rows.append({"time": done.time, "region": inv.region, "value": value,
                         "kind": "read"})
    frame = pd.DataFrame(rows, columns=["time", "region", "value", "kind"])
    if frame.empty:
        return frame.assign(t_ms=pd.Series(dtype=float))
    writes = frame[frame["kind"] != "read"]
    t0 = writes["time"].min() if not writes.empty else frame["time"].min()
    frame["t_ms"] = (frame["time"] - t0) * 1000.0
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame.sort_values("t_ms").reset_index(drop=True)


def verdict_text(result: TrialResult) -> str:
    """The trial in one or two sentences a room can follow."""
    if not result.converged:
        return ("The replicas **still disagree** at the timeout: "
                + ", ".join(f"{r} shows {v}" for r, v in result.final_by_region.items()) + ".")
    if result.acked == 0:
        return "No write was acknowledged, so nothing changed."
    winner = result.winner or " or ".join(result.winner_candidates) or "no write"
    head = f"Every region now shows **{result.final}** (it started at {result.base})."
    if result.conflict and result.lost:
        if len(result.lost) == 1:
            lost = f"**{result.lost[0]}**'s write was"
        else:
            lost = ("the writes of " + ", ".join(f"**{r}**" for r in result.lost[:-1])
                    + f" and **{result.lost[-1]}** were")
        return (f"**Conflict!** {head} **{winner}**'s write won; {lost} acknowledged and "
                "then silently overwritten — last writer wins.")
    if result.mode == "increment" and result.lost_increments:
        return (f"**Conflict!** {head} {result.acked} increments were acknowledged but only "
                f"{result.acked - result.lost_increments} survived.")
    if result.conflict is False:
        return (f"No conflict this time: {head} One write saw the other before it was made. "
                "Try again: the writes must land within the replication lag.")
    return f"{head} Winner: **{winner}**."


# --- the guided demo ------------------------------------------------------------------------------


def demo_regions() -> tuple[str, str] | None:
    regions = list(session.choice().regions)
    if len(regions) < 2:
        st.info("Pick at least two regions in the sidebar to make them disagree.")
        return None
    a_col, b_col = st.columns(2)
    a = a_col.selectbox("Region A", regions, index=0, format_func=region_name, key="demo_a")
    b_options = [r for r in regions if r != a]
    b = b_col.selectbox("Region B", b_options, index=0, format_func=region_name, key="demo_b")
    return a, b


def start_demo() -> None:
    """Button callback: +1 in region A and −1 in region B at the same moment, through each
    region's regional API, as the workshop's test harness does."""
    pair = (st.session_state.get("demo_a"), st.session_state.get("demo_b"))
    old = st.session_state.get(DEMO_KEY)
    if old is not None and old.state == "running":
        return
    try:
        config = ConflictConfig(regions=pair, trials=1, mode="increment", path="api",
                                pk=DEMO_PK, sk=DEMO_SK, amounts=DEMO_AMOUNTS)
    except GtError as err:
        st.session_state[ERROR_KEY] = err
        return
    start_lab(DEMO_KEY, config)


def demo_status(demo: ConflictLab) -> None:
    """While the demo runs: what it is doing and what every region has shown so far, so the
    room watches the writes land instead of reading one line."""
    if demo.error is not None:
        show_error(demo.error)
        return
    if demo.state != "running":
        return
    a, b = demo.regions[:2]
    st.info(f"**+1 in {a} and −1 in {b} at the same moment**, then every region is read until "
            "they agree…", icon=":material/sync:")
    events = trial_events(demo.history, 0)
    if not events.empty:
        plot(charts.region_value_timeline(events, list(demo.regions), y_title="Bookmark",
                                          title="What each region sees, live"),
             key="demo_live")


def start_lab(key: str, config: ConflictConfig) -> None:
    old: ConflictLab | None = st.session_state.get(key)
    if old is not None and old.state == "running":
        old.cancel()
    try:
        st.session_state[key] = ConflictLab(session.connection(), config).start()
    except GtError as err:
        st.session_state[ERROR_KEY] = err


def show_start_error() -> None:
    failed = st.session_state.pop(ERROR_KEY, None)
    if failed is not None:
        show_error(failed)


def running(key: str) -> ConflictLab | None:
    return st.session_state.get(key)


def expected(result: TrialResult) -> float | None:
    """Increments: where the item would be had every acknowledged increment survived."""
    if result.mode != "increment" or not isinstance(result.base, int | float):
        return None
    total = float(result.base) + sum(w.amount for w in result.writes if w.status == "ok")
    return None if total == result.base else total  # +1 and −1: the start line says it


def trial_view(lab: ConflictLab, result: TrialResult, *, key: str) -> None:
    """Verdict, the writes and the timeline of one trial."""
    st.markdown(f"#### {verdict_text(result)}")
    chips = []
    for w in result.writes:
        outcome = {"ok": "acknowledged", "fail": "refused", "info": "unknown",
                   "pending": "no answer"}[w.status]
        fate = " · lost" if w.region in result.lost else (
            " · won" if w.region == result.winner else "")
        what = f"{w.amount:+d}" if result.mode == "increment" else f"set {w.amount}"
        chips.append(chip_html(w.region, label=f"{w.region}: {what} {outcome}{fate}"))
    st.markdown(" &nbsp; ".join(chips), unsafe_allow_html=True)
    events = trial_events(lab.history, result.trial, result.lost)
    final = float(result.final) if isinstance(result.final, int | float) else None
    base = float(result.base) if isinstance(result.base, int | float) else None
    plot(charts.region_value_timeline(
        events, list(lab.regions), winner_value=final, base_value=base, y_title="Bookmark",
        expected_value=expected(result), title=f"Trial {result.trial + 1}: what each region saw"),
        key=key)
    st.caption(f"Writes started {result.start_skew_ms:.1f} ms apart; replicas agreed "
               f"{result.convergence_ms:.0f} ms after the last acknowledgement.")


def lab_progress(lab: ConflictLab) -> None:
    p = lab.progress()
    text = (f"{p.done} of {p.total} trials · {p.conflicts} conflicts · {p.lost_writes} lost "
            f"writes · {p.lost_increments} lost increments · {p.diverged} diverged")
    st.progress(p.done / p.total if p.total else 1.0, text=text)
    if lab.error is not None:
        show_error(lab.error)


# --- the lab --------------------------------------------------------------------------------------


def lab_form() -> None:
    """Writers, trials, mode and stagger; the submit button starts the lab as its callback."""
    regions = list(session.choice().regions)
    if len(regions) < 2:
        st.info("Pick at least two regions in the sidebar to make them conflict.")
        return
    with st.form("lab_form"):
        st.multiselect("Writing regions", regions, default=regions, format_func=region_name,
                       key="lab_regions")
        a, b, c = st.columns(3)
        a.number_input("Trials", 1, 200, 10, key="lab_trials")
        b.radio("Each region writes", ["set", "increment"], horizontal=True,
                format_func={"set": "its own value (Bookmark = N)",
                             "increment": "Bookmark + 1"}.get, key="lab_mode")
        c.number_input("Start each region later by (ms)", 0, 2000, 0, step=50, key="lab_stagger")
        st.form_submit_button("Run the trials", type="primary", icon=":material/science:",
                              key="lab_go", on_click=start_trials,
                              disabled=session.read_only(),
                              help="writes its own item in every writing region")
    show_start_error()


def start_trials() -> None:
    state = st.session_state
    try:
        config = ConflictConfig(regions=tuple(state["lab_regions"]), trials=int(state["lab_trials"]),
                                mode=state["lab_mode"], stagger_ms=float(state["lab_stagger"]))
    except GtError as err:
        state[ERROR_KEY] = err
        return
    start_lab(LAB_KEY, config)


def lab_summary(lab: ConflictLab) -> None:
    s = lab.summary()
    if not s["trials"]:
        return
    cols = [*st.columns(3), *st.columns(3)]  # five in a row cut their labels at 1024 px
    rate = s["conflict_rate"]
    cols[0].metric("Conflicts", f"{s['conflicts']} / {s['trials']}",
                   f"{rate:.0%} of trials" if rate is not None else None, delta_color="off")
    cols[1].metric("Acknowledged writes lost", s["lost_writes"])
    cols[2].metric("Increments lost", s["lost_increments"])
    cols[3].metric("Last writer wins", f"{s['lww_ok'] + s['lww_tie']} ok",
                   f"{s['lww_violations']} violations", delta_color="off")
    skew = s["start_skew_ms_median"]
    cols[4].metric("Start skew (median)", f"{skew:.1f} ms" if skew is not None else "—")


def lab_table(lab: ConflictLab) -> None:
    frame = lab.frame()
    if frame.empty:
        return
    show = numbered_from_one(frame)[["trial", "conflict", "winner", "lost", "base", "final",
                                     "lww", "verdict", "start_skew_ms", "convergence_ms"]]
    show = show.map(lambda v: "—" if v is None or v == "" or v == [] else v)
    st.dataframe(show, hide_index=True, width="stretch", row_height=38,
                 height=38 * (min(len(show), 12) + 1) + 3,
                 column_config={"lww": st.column_config.TextColumn(
                                    "last writer won?", help=LWW_HELP),
                                "start_skew_ms": st.column_config.NumberColumn(
                                    "skew ms", format="%.1f"),
                                "convergence_ms": st.column_config.NumberColumn(
                                    "converged after ms", format="%.0f")})
    st.caption(f"**Last writer won?** {LWW_HELP}")


def numbered_from_one(frame: pd.DataFrame) -> pd.DataFrame:
    """Trials numbered as the screen numbers them (1, 2, …)."""
    return frame.assign(trial=frame["trial"] + 1) if not frame.empty else frame


def lab_downloads(lab: ConflictLab) -> None:
    csv_col, json_col = st.columns(2)
    csv_col.download_button("Download the trials (CSV)", mime="text/csv",
                            data=lambda: numbered_from_one(lab.frame()).to_csv(index=False),
                            file_name=f"conflict-trials-{lab.run_id}.csv", on_click="ignore",
                            icon=":material/download:", key="lab_csv")
    json_col.download_button("Download the history (JSON, re-checkable)",
                             data=lambda: lab.to_json(include_history=True),
                             mime="application/json", on_click="ignore",
                             file_name=f"conflict-history-{lab.run_id}.json",
                             icon=":material/download:", key="lab_json")
