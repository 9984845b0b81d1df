"""The failover drill as the workshop's video player: active region, per-region progress,
write latency, a live log, then the verdict (RTO, acknowledged writes lost)."""

from __future__ import annotations

import html
import re
import time

import pandas as pd
import streamlit as st

from gtcore.errors import GtError
from gtcore.experiments.drill import DrillConfig, DrillState, DrillVerdict, FailoverDrill
from gtcore.history import History
from ui import charts, session
from ui.messages import show_error
from ui.widgets import big_number, chip_html, plot

DRILL_KEY = "failover_drill"
ERROR_KEY = "drill_error"
LOG_LINES = 12


# --- pure helpers ---------------------------------------------------------------------------------


def video_time(fraction: str | None, video_seconds: float) -> str:
    """'0.013889' of a one-hour video -> '0:50' (or '—' when unknown)."""
    try:
        seconds = float(fraction) * video_seconds if fraction is not None else None
    except ValueError:
        seconds = None
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def writes_frame(history: History) -> pd.DataFrame:
    """One row per player write: t_s (since the first), region, latency_ms, ok."""
    rows = []
    for inv, done in history.pairs():
        if inv.f != "write" or done is None:
            continue
        ok = done.type == "ok"
        latency = done.extra.get("rtt_ms") if ok else None
        if latency is None:
            latency = (done.time - inv.time) * 1000.0
        rows.append({"time": inv.time, "region": inv.region, "latency_ms": float(latency),
                     "ok": ok})
    frame = pd.DataFrame(rows, columns=["time", "region", "latency_ms", "ok"])
    frame["t_s"] = frame["time"] - frame["time"].min() if not frame.empty else []
    return frame


def short_error(error: str | None) -> str:
    """'... answered HTTP 500: Internal server error (hint: ...)' -> 'API answers HTTP 500'."""
    if not error:
        return "no answer"
    found = re.search(r"HTTP (\d{3})", error)
    if found:
        return f"API answers HTTP {found.group(1)}"
    if "timed out" in error:
        return "timed out"
    return error.split(" (hint:")[0][-80:]


def verdict_line(v: DrillVerdict) -> str:
    rto = f"{v.rto_ms / 1000:.1f} s" if v.rto_ms is not None else "no outage"
    head = "Passed" if v.passed else "Failed"
    return (f"{head}: {v.lost_acked} acknowledged writes lost (RPO), recovery time {rto}, "
            f"{len(v.failovers)} region switches, {v.acked} of {v.writes} writes acknowledged.")


# --- controls -------------------------------------------------------------------------------------


def current() -> FailoverDrill | None:
    return st.session_state.get(DRILL_KEY)


def start_drill() -> None:
    old = current()
    if old is not None and old.phase == "running":
        old.stop()
    try:
        st.session_state[DRILL_KEY] = FailoverDrill(session.connection(), DrillConfig()).start()
    except GtError as err:
        st.session_state[ERROR_KEY] = err


def controls(drill: FailoverDrill | None) -> None:
    running = drill is not None and drill.phase == "running"
    a, b, c = st.columns(3)
    a.button("Start watching", type="primary", icon=":material/play_arrow:", key="drill_start",
             on_click=start_drill, disabled=running or session.read_only(), width="stretch",
             help="writes the player's bookmark twice a second")
    b.button("Fail back home now", icon=":material/home:", key="drill_failback",
             disabled=not running or drill.active == drill.home,
             on_click=drill.request_failback if drill is not None else None, width="stretch")
    c.button("Stop and judge", icon=":material/stop:", key="drill_stop", disabled=not running,
             on_click=drill.stop if drill is not None else None, width="stretch")
    failed = st.session_state.pop(ERROR_KEY, None)
    if failed is not None:
        show_error(failed)


# --- the player -----------------------------------------------------------------------------------


def headline(s: DrillState, video_seconds: float) -> None:
    """Four big numbers in two rows of two: four in a row cut "us-west-2" at 1024 px."""
    top, bottom = st.columns(2), st.columns(2)
    cols = [*top, *bottom]
    with cols[0]:
        big_number("Active region", s.active, region=s.active,
                   sub="home" if s.active == s.home else f"failed over from {s.home}")
    with cols[1]:
        big_number("Video progress", video_time(s.last_acked, video_seconds),
                   sub=f"{s.phase} · {s.elapsed_s:.0f} s")
    with cols[2]:
        latency = f"{s.write_latency_ms:.0f} ms" if s.write_latency_ms is not None else "—"
        big_number("Write latency", latency,
                   sub=f"{s.consecutive_failures} failed in a row" if s.consecutive_failures
                   else "last write acknowledged")
    with cols[3]:
        rto = f"{max(s.rto_ms) / 1000:.1f} s" if s.rto_ms else "—"
        big_number("Region switches", str(s.failovers), sub=f"longest recovery {rto}")


def _fraction(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def region_progress(s: DrillState, video_seconds: float) -> None:
    """Each region's bookmark as a bar, full for the region furthest ahead."""
    values = {r: _fraction(v.value) for r, v in s.regions.items() if v.ok}
    ahead = max([v for v in values.values() if v is not None] or [0.0]) or 1.0
    for region, view in s.regions.items():
        value = values.get(region)
        if view.ok:
            behind = (ahead - (value or 0.0)) * video_seconds
            lag = f", {behind:.1f} s behind" if behind > 0.05 else ""
            text = (f"{video_time(view.value, video_seconds)} (read in "
                    f"{view.latency_ms or 0:.0f} ms{lag})")
        else:
            text = f"cannot read: {short_error(view.error)}"
        st.markdown(f"{chip_html(region)} &nbsp; {html.escape(text)}", unsafe_allow_html=True)
        st.progress(min(1.0, (value or 0.0) / ahead) if view.ok else 0.0)


def live_log(s: DrillState) -> None:
    rows = [{"time": time.strftime("%H:%M:%S", time.localtime(e.wall)), "what": e.kind,
             "region": e.region, "": "✓" if e.ok else "✕", "message": e.message}
            for e in reversed(s.log[-LOG_LINES:])]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def verdict(s: DrillState) -> None:
    if s.error:
        st.error(s.error)
        return
    if s.verdict is None:
        if s.phase == "converging":
            st.info("Waiting for every region to agree on the last bookmark…",
                    icon=":material/hourglass_top:")
        return
    v = s.verdict
    (st.success if v.passed else st.error)(f"#### {verdict_line(v)}", icon=":material/gavel:")
    for reason in v.reasons:
        st.warning(reason)


def player(drill: FailoverDrill) -> None:
    s = drill.state()
    video_seconds = drill.config.video_seconds
    headline(s, video_seconds)
    region_progress(s, video_seconds)
    verdict(s)
    plot(charts.latency_timeline(writes_frame(drill.history), list(drill.regions)),
         key="drill_latency")
    live_log(s)
    if s.phase in ("done", "failed"):
        st.download_button("Download the drill: verdict and every operation (JSON)",
                           data=drill.to_json, file_name="failover-drill.json",
                           mime="application/json", on_click="ignore",
                           icon=":material/download:", key="drill_json")
