"""Data explorer: every replica's items side by side, and a diff that finds real divergence."""

from __future__ import annotations

import streamlit as st

from ui.catalog_view import catalog_grid
from ui.explorer_view import (
    diff_job,
    diff_progress,
    diff_result,
    read_from_form,
    side_by_side,
    start_diff,
)
from ui.layout import page_header
from ui.live import is_running, live_fragment

page_header(
    "Data explorer",
    "The same query in every region at once, through each region's own API — and a diff that "
    "compares whole replicas and tells in-flight replication from real divergence.",
)

st.subheader("Query every region")
with st.form("explorer_form", border=False):
    mode_col, pk_col = st.columns([1, 2], vertical_alignment="bottom")
    mode_col.segmented_control("Read", ["Query", "Scan"], default="Query", required=True,
                               key="explorer_mode")
    pk_col.text_input("Partition key (PK)", value="library", key="explorer_pk")
    st.toggle("Strongly consistent read", key="explorer_consistent",
              help="The region's latest write, not a replica that may lag.")
    st.form_submit_button("Read in every region", type="primary", icon=":material/search:",
                          key="explorer_read", on_click=read_from_form)
if "explorer_replies" not in st.session_state:
    read_from_form()
side_by_side(st.session_state["explorer_replies"])

st.subheader("Compare the replicas")
settle_col, go_col = st.columns([3, 1], vertical_alignment="bottom")
settle_col.slider("Settle interval before re-checking differences (s)", 0.0, 10.0, 3.0,
                           0.5, key="diff_settle")
go_col.button("Compare replicas", type="primary", icon=":material/difference:", key="diff_go",
              width="stretch", on_click=start_diff)


@live_fragment(0.5, lambda: is_running(diff_job()))
def diff_view() -> None:
    current = diff_job()
    if current is None:
        st.caption("Scans every region in parallel segments, waits for replication to settle, "
                   "then re-reads only the keys that differed.")
        return
    diff_progress(current)
    if current.result is not None:
        diff_result(current.result)


diff_view()

with st.expander("The sample catalog (loaded by Setup)", icon=":material/movie:"):
    catalog_grid()
