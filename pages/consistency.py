"""MREC vs MRSC: the same conflict and the same region failure on an eventual and a strong table."""

from __future__ import annotations

import streamlit as st

from ui import session
from ui.consistency_view import aws_notice, current, intro, progress, start, verdicts
from ui.layout import page_header
from ui.live import is_running, live_fragment

page_header(
    "MREC vs MRSC",
    "Eventual consistency (MREC) acknowledges both conflicting writes and keeps one: the other is "
    "silently lost. Strong consistency (MRSC) rejects one; the writer retries and nothing is lost.",
)

if not session.choice().is_emulator:
    aws_notice()
else:
    st.button("Run the demo", type="primary", icon=":material/compare:", key="consistency_go",
              on_click=start, disabled=is_running(current()))

    @live_fragment(1.0, lambda: is_running(current()))
    def demo_view() -> None:
        demo = current()
        if demo is None:
            return
        progress(demo)
        verdicts(demo)

    demo_view()
    intro()
