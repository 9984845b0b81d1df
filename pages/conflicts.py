"""Conflicts: two regions write the same item at once; last writer wins, one write vanishes."""

from __future__ import annotations

import streamlit as st

from ui import session
from ui.conflict_view import (
    DEMO_KEY,
    LAB_KEY,
    demo_regions,
    demo_status,
    lab_downloads,
    lab_form,
    lab_progress,
    lab_summary,
    lab_table,
    running,
    show_start_error,
    start_demo,
    trial_view,
)
from ui.layout import page_header
from ui.live import is_running, live_fragment

page_header(
    "Conflicts",
    "Replication takes a second or two. Write the same item in two regions inside that window "
    "and both writes are acknowledged — but only one survives. Nobody is told.",
)

guided, lab_tab = st.tabs(["Guided demo", "Conflict lab"])

with guided:
    st.markdown("The workshop's bookmark `user100 / AshlandValley`: read it, then press **+** "
                "in region A and **−** in region B at the same moment. If neither region saw "
                "the other's write, one of them is silently undone: the bookmark ends one above "
                "or one below where it started, never back at the start.")
    if demo_regions() is not None:
        st.button("Read, then +1 in A and −1 in B at once", type="primary",
                  icon=":material/call_split:", key="demo_go", on_click=start_demo,
                  disabled=session.read_only(), help="writes the demo bookmark in two regions")
        show_start_error()

    @live_fragment(0.5, lambda: is_running(running(DEMO_KEY)))
    def demo_result() -> None:
        demo = running(DEMO_KEY)
        if demo is None:
            return
        demo_status(demo)
        results = demo.results()
        if not results:
            return
        trial_view(demo, results[0], key="demo_timeline")

    demo_result()

with lab_tab:
    st.markdown("Many trials in a row: every writing region writes at the same moment, then the "
                "lab reads every replica until they agree and names the winner and the lost "
                "writes. *Set* writes absolute values; *increment* shows lost updates.")
    lab_form()
    lab = running(LAB_KEY)
    if is_running(lab):
        st.button("Stop after this trial", icon=":material/stop:", key="lab_cancel",
                  on_click=lab.cancel)

    @live_fragment(1.0, lambda: is_running(running(LAB_KEY)))
    def lab_results() -> None:
        current = running(LAB_KEY)
        if current is None:
            return
        lab_progress(current)
        lab_summary(current)
        lab_table(current)
        results = current.results()
        if results:
            pick = st.selectbox("Show trial", [r.trial for r in results],
                                index=len(results) - 1, format_func=lambda t: f"Trial {t + 1}",
                                key="lab_pick")
            trial_view(current, results[pick], key="lab_timeline")
        if not current.running:
            lab_downloads(current)

    lab_results()
