"""The first seconds of a fresh server: a line on screen while the dashboard's modules load.

`dashboard.py` imports this module before any other of its own. The first import (once per
server) puts a notice at the top of the page, so the first visitor sees progress from the first
second instead of a blank page while pandas, Plotly and boto3 load; `done()` removes it once the
page can draw. Later runs import nothing new and show nothing.
"""

from __future__ import annotations

import streamlit as st

_notice = st.empty()
_notice.info("Starting the dashboard: loading its parts, then the local emulator and the "
             "workshop's table…", icon=":material/hourglass_top:")


def done() -> None:
    """Remove the notice (only in the run that drew it)."""
    global _notice
    if _notice is not None:
        _notice.empty()
        _notice = None
