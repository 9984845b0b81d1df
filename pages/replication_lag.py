"""Replication lag: measure it live, compare it with the speed of light, export the samples."""

from __future__ import annotations

import streamlit as st

from ui import session
from ui.lag_view import (
    csv_download,
    headline,
    lag_charts,
    overload_note,
    probe_form,
    progress_bar,
    results_for,
    running_probe,
    show_table,
)
from ui.layout import page_header
from ui.live import live_fragment

page_header(
    "Replication lag",
    "Each probe writes a fresh item in one region and reads the other regions until it shows "
    "up. The time in between is the replication lag, with honest lower and upper bounds.",
)

probe_form(session.choice().regions)

probe = running_probe()
if probe is None:
    st.info("Press **Start the probe**: a few seconds of writes give a first picture.",
            icon=":material/timer:")
    st.stop()

if probe.running:
    st.button("Cancel the probe", icon=":material/stop:", key="probe_cancel",
              on_click=probe.cancel)


@live_fragment(1.0, lambda: probe.running)
def live_results() -> None:
    progress_bar(probe)
    results = results_for(probe)
    if results is None:
        st.caption("Waiting for the first samples…")
    else:
        table, figures = results
        headline(table)
        overload_note(table)
        lag_charts(figures)
        show_table(table)


live_results()
csv_download(probe)
