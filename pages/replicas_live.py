"""Replicas live: the workshop's test harness, one column per region, refreshing by itself."""

from __future__ import annotations

import streamlit as st

from ui.layout import page_header
from ui.live import live_fragment
from ui.replicas_live_view import button_columns_view, harness, item_picker, region_columns_view

REFRESH_S = 0.5

page_header(
    "Replicas live",
    "Press **+** in one region and watch the other regions catch up a second or two later. "
    "Every column reads the same item from its own region's API.",
)

live = st.toggle("Live (re-read every region twice a second)", value=True, key="live_on")


@live_fragment(REFRESH_S, lambda: live)
def live_view() -> None:
    region_columns_view(harness())


live_view()
button_columns_view(harness())  # outside the live refresh: a rerun redraws only the readings

with st.expander("Which item?"):
    item_picker(harness())
