"""DynamoDB Global Tables, live: the dashboard's entry point and home (status) page.

Run with ``streamlit run dashboard.py``. With no AWS configuration it starts the embedded
multi-region emulator (a child process of this server, see ``ui.session``) and sets up the
workshop's table, so every page works offline.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

# `boot` first: on a fresh server it puts a line on screen while the other modules load.
from ui import boot, session

session.start_emulator_early()  # then the emulator boots while the imports below load

from ui import sidebar, style
from ui.home import next_steps, region_cards, status_report, summary_banner
from ui.layout import page_header
from ui.live import live_fragment
from ui.replication_faults import replication_fault_banner
from ui.setup_view import auto_provision


def home() -> None:
    page_header(
        "Global Tables at a glance",
        "One table, a replica in every region, each region with its own API. "
        "Green means the region can take reads and writes right now.",
    )
    auto = st.toggle("Refresh every 5 s", key="home_auto")

    @live_fragment(5, lambda: auto)
    def live_status() -> None:
        report = status_report()
        if report is None:
            return
        summary_banner(report)
        replication_fault_banner(report.emulator)
        region_cards(report)
        next_steps(report)

    live_status()


PAGES = {
    "Overview": [st.Page(home, title="Status", icon=":material/public:", default=True),
                 st.Page("pages/setup.py", title="Setup", icon=":material/build:")],
    "Show the room": [
        st.Page("pages/replicas_live.py", title="Replicas live", icon=":material/sync:"),
        st.Page("pages/conflicts.py", title="Conflicts", icon=":material/call_split:"),
        st.Page("pages/region_failure.py", title="Region failure",
                icon=":material/power_off:"),
        st.Page("pages/consistency.py", title="MREC vs MRSC", icon=":material/compare:"),
    ],
    "Watch replication": [
        st.Page("pages/replication_lag.py", title="Replication lag", icon=":material/timer:"),
        st.Page("pages/cloudwatch.py", title="CloudWatch", icon=":material/monitoring:"),
        st.Page("pages/data_explorer.py", title="Data explorer",
                icon=":material/table_view:"),
    ],
}

# A local file: a :material/ icon would make every browser fetch it from fonts.gstatic.com.
PAGE_ICON = str(Path(__file__).resolve().parent / "ui" / "assets" / "favicon.png")

st.set_page_config(page_title="Global Tables live", page_icon=PAGE_ICON, layout="wide",
                   initial_sidebar_state="collapsed" if style.presenting() else "auto")
page = st.navigation(PAGES, position="top" if style.presenting() else "sidebar")
style.inject()
boot.done()
session.join_room()
sidebar.render()
session.follow_room()
auto_provision()
page.run()
