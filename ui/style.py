"""A little CSS for the projector: bigger button labels and progress captions."""

from __future__ import annotations

import streamlit as st

PROJECTOR_CSS = """
<style>
[data-testid^="stBaseButton"] p { font-size: 1.15rem; font-weight: 650; }
[data-testid="stProgress"] p { font-size: 1.1rem; }
[data-testid="stMetricValue"] { font-size: 2.4rem; }
</style>
"""


def inject() -> None:
    """Add the projector CSS to the page (call once per run, from the entry script)."""
    st.html(PROJECTOR_CSS)
