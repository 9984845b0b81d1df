"""Region failure: take a region's API down, watch clients fail over, bring it back."""

from __future__ import annotations

import streamlit as st

from ui import session
from ui.drill_view import controls, current, player
from ui.failure_view import last_change, region_panels
from ui.layout import page_header
from ui.live import is_running, live_fragment

page_header(
    "Region failure",
    "Throttle a region's API the way the workshop does (the Lambda console's *Throttle*): "
    "clients fail over to another region, and the table keeps replicating, so nothing is lost.",
)
read_only = session.read_only()

last_change()
st.subheader("Regions")
region_panels(read_only)

st.subheader("Failover drill")
st.markdown("The workshop's video player: it saves the bookmark through the active region's API "
            "twice a second and reads it back from every region. Throttle the active region "
            "above and watch it fail over after three failed writes — then check that no "
            "acknowledged write was lost.")
controls(current())


@live_fragment(0.5, lambda: is_running(current()))
def drill_view() -> None:
    drill = current()
    if drill is not None:
        player(drill)


drill_view()
