"""Region failure: take a region's API down, watch clients fail over, bring it back."""

from __future__ import annotations

import streamlit as st

from ui import session
from ui.failure_view import last_change, region_panels
from ui.layout import page_header

page_header(
    "Region failure",
    "Throttle a region's API the way the workshop does (the Lambda console's *Throttle*): "
    "clients fail over to another region, and the table keeps replicating, so nothing is lost.",
)
choice = session.choice()
read_only = choice.read_only and not choice.is_emulator

last_change()
st.subheader("Regions")
region_panels(read_only)
