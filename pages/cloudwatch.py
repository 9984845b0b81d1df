"""CloudWatch: what AWS itself reports about replication, next to what we measured."""

from __future__ import annotations

import streamlit as st

from ui.cloudwatch_view import explain_gaps, fetch, metric_chart, pair_table, pickers, side_by_side
from ui.layout import page_header
from ui.live import live_fragment

page_header(
    "CloudWatch ReplicationLatency",
    "DynamoDB publishes one metric for replication: how long a write took to reach each other "
    "region, per source and receiving region.",
)

window, period, stat = pickers()
auto = st.toggle("Refresh every 30 s", key="cw_auto")


@live_fragment(30, lambda: auto)
def metric_view() -> None:
    result = fetch(window, period)
    if result is None:
        return
    explain_gaps(result)
    metric_chart(result, stat)
    side_by_side(result)
    pair_table(result)


metric_view()
