"""Data-explorer pieces: the same query in every region side by side, and the replica diff."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import streamlit as st

from gtcore.background import BackgroundCall
from gtcore.errors import GtError
from gtcore.harness import Harness
from gtcore.probes.diff import DiffProgress, DiffReport, diff_replicas, plain_item
from gtcore.regional_client import ApiReply
from ui import charts, session
from ui.layout import region_columns
from ui.messages import show_error
from ui.widgets import plot, region_header

DIFF_KEY = "explorer_diff"


def items_frame(items: list[dict[str, Any]]) -> pd.DataFrame:
    """DynamoDB-JSON items as a table: PK and SK first, then the other attributes A-Z."""
    rows = [plain_item(i) or {} for i in items]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    first = [c for c in ("PK", "SK") if c in frame.columns]
    rest = sorted(c for c in frame.columns if c not in first)
    frame = frame[first + rest]
    return frame.map(lambda v: v if isinstance(v, str | int | float | bool) or v is None
                     else str(v))


def read_everywhere(pk: str | None, consistent: bool) -> dict[str, ApiReply | GtError]:
    """Query `pk` (or scan when None) through every region's API, concurrently."""
    h = Harness.for_connection(session.connection())
    return h.read_everywhere(session.choice().regions, pk, consistent=consistent)


def read_from_form() -> None:
    """Form callback (and first visit): read with the form's settings, keep the replies."""
    state = st.session_state
    pk = str(state.get("explorer_pk", "library")).strip()
    scan = state.get("explorer_mode", "Query") == "Scan" or not pk
    state["explorer_replies"] = read_everywhere(None if scan else pk,
                                                bool(state.get("explorer_consistent", False)))


def side_by_side(replies: dict[str, ApiReply | GtError]) -> None:
    for region, box in region_columns(list(replies), per_row=min(3, len(replies)),
                                      border=True):
        with box:
            reply = replies[region]
            region_header(region)
            if isinstance(reply, GtError):
                show_error(reply)
                continue
            items = reply.body.get("Items") or []
            frame = items_frame(items)
            more = " (first page only)" if reply.body.get("Truncated") else ""
            st.caption(f"{len(items)} items{more} · DynamoDB "
                       f"{reply.db_latency_ms or 0:.0f} ms · round trip {reply.rtt_ms:.0f} ms")
            st.dataframe(frame, hide_index=True, width="stretch", height=min(420, 38 + 35 *
                                                                              max(1, len(frame))))


# --- the replica diff -----------------------------------------------------------------------------


def start_diff() -> None:
    """Button callback: compare the replicas in a background thread."""
    settle_seconds = float(st.session_state.get("diff_settle", 3.0))
    old: BackgroundCall | None = st.session_state.get(DIFF_KEY)
    if old is not None and old.running:
        old.cancel()
    conn = session.connection()

    def work(progress, cancel: threading.Event) -> DiffReport:
        return diff_replicas(conn, settle_seconds=settle_seconds, progress=progress,
                             cancel=cancel)

    st.session_state[DIFF_KEY] = BackgroundCall("replica diff", work).start()


def diff_job() -> BackgroundCall | None:
    return st.session_state.get(DIFF_KEY)


def diff_progress(job: BackgroundCall) -> None:
    p: DiffProgress | None = job.progress()
    if job.running:
        if p is None:
            st.progress(0.0, text="Starting…")
        else:
            phase = {"scan": "Scanning every replica", "settle": "Waiting for replication "
                     "to settle", "recheck": "Re-reading the keys that differed"}.get(
                         p.phase, p.phase)
            st.progress(min(1.0, p.done / p.total) if p.total else 0.0,
                        text=f"{phase}: {p.done}/{p.total} · {p.items} items · "
                        f"{p.candidates} candidates · {job.elapsed_s:.0f} s")
    if job.error is not None:
        show_error(job.error)


def diff_result(report: DiffReport) -> None:
    if report.cancelled:
        st.warning("The diff was cancelled before it finished.")
        return
    for region, message in report.errors.items():
        st.warning(f"**{region}** could not be compared: {message}", icon=":material/cloud_off:")
    if report.ok:
        st.success(f"All replicas agree: {report.summary()}.", icon=":material/verified:")
    elif report.divergent:
        st.error(f"The replicas disagree: {report.summary()}.", icon=":material/difference:")
    else:
        st.info(report.summary())
    regions = list(report.regions)
    if report.divergent or report.unsettled:
        left, right = st.columns(2)
        with left:
            plot(charts.region_bars(report.missing_by_region(), regions,
                                    title="Divergent keys missing here", unit="keys"),
                 key="diff_missing")
        with right:
            plot(charts.region_bars(report.different_by_region(), regions,
                                    title="Divergent keys different here", unit="keys"),
                 key="diff_different")
        rows = [{"key": ", ".join(f"{k}={v}" for k, v in d.key.items()), "kind": d.kind,
                 "missing in": ", ".join(d.missing_in),
                 "differs in": ", ".join(d.differing_attributes), "state": state}
                for state, diffs in (("divergent", report.divergent),
                                     ("still changing", report.unsettled)) for d in diffs]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(f"{report.candidates} keys differed in the first scan; {report.settled} of them "
               f"were replication in flight and agreed after the settle interval. "
               f"{report.elapsed_ms / 1000:.1f} s.")
