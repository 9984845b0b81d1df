"""Replicas live: the workshop's test harness, one column per region, refreshing by itself."""

from __future__ import annotations

import time

import streamlit as st

from gtcore.errors import GtError
from gtcore.probes.status import emulator_health
from ui import session
from ui.harness import Harness, Reading, format_number
from ui.layout import page_header, region_columns
from ui.messages import show_compact_error, show_error
from ui.replication_faults import replication_fault_banner
from ui.widgets import big_number, region_header

REFRESH_S = 0.5

page_header(
    "Replicas live",
    "Press **+** in one region and watch the other regions catch up a second or two later. "
    "Every column reads the same item from its own region's API.",
)


def harness() -> Harness:
    """This session's harness for the current target (rebuilt when the target changes)."""
    conn = session.connection()
    held = st.session_state.get("live_harness")
    if held is None or held[0] != conn.target:
        held = (conn.target, Harness.for_connection(conn))
        st.session_state["live_harness"] = held
    return held[1]


def last_write_banner(h: Harness) -> None:
    w = h.last_write
    if w is None:
        st.info("No write yet: press **+** or **−** in any region.", icon=":material/touch_app:")
        return
    ago = time.monotonic() - w.at
    waiting = [r for r in h.apis if r not in w.seen_after]
    caught = ", ".join(f"**{r}** after {s:.1f} s" for r, s in w.seen_after.items()
                       if r != w.region)
    st.markdown(f"## {ago:.1f} s since the last write: {w.what} in {w.region} "
                f"→ {format_number(w.value)}")
    if waiting:
        st.markdown(f"Still catching up: **{', '.join(waiting)}**. "
                    + (f"Caught up: {caught}." if caught else ""))
    elif caught:
        st.markdown(f"Caught up: {caught} (checked twice a second).")


def region_view(h: Harness, reading: Reading) -> None:
    region = reading.region
    region_header(region)
    if reading.error is not None:
        show_compact_error(reading.error)
    else:
        sync = h.in_sync(reading)
        sub = {True: "✓ in sync with the last write", False: "↻ catching up…",
               None: "as this region sees it"}[sync]
        big_number("Bookmark", format_number(reading.value) if reading.item else "no item",
                   region=region, sub=sub)
        st.caption(f"DynamoDB {reading.db_latency_ms or 0:.0f} ms · round trip "
                   f"{reading.rtt_ms or 0:.0f} ms")
    if region not in h.apis:
        return
    no_writes = session.read_only()
    why = "The target is read-only" if no_writes else None
    minus, plus = st.columns(2)
    minus.button("− 1", key=f"minus_{region}", width="stretch", disabled=no_writes,
                 help=why, on_click=act, args=(h, region, "minus"))
    plus.button("+ 1", key=f"plus_{region}", width="stretch", type="primary",
                disabled=no_writes, help=why, on_click=act, args=(h, region, "plus"))
    ping, get = st.columns(2)
    ping.button("Ping", key=f"ping_{region}", width="stretch",
                on_click=act, args=(h, region, "ping"))
    get.button("Get item", key=f"get_{region}", width="stretch",
               on_click=act, args=(h, region, "get"))
    value_col, set_col = st.columns([3, 2], vertical_alignment="bottom")
    value_col.number_input("Set Bookmark to", value=0, step=1, key=f"value_{region}")
    set_col.button("Set", key=f"set_{region}", width="stretch", disabled=no_writes, help=why,
                   on_click=act, args=(h, region, "set"))
    failed = st.session_state.get("live_errors", {}).pop(region, None)
    if failed is not None:
        show_error(failed)
    elif region in h.last_action:
        st.markdown(f"Last: {h.last_action[region]}")


def act(h: Harness, region: str, action: str) -> None:
    """Button callback: runs before the rerun, so the new value shows at once."""
    try:
        if action == "ping":
            h.ping(region)
        elif action == "get":
            h.get(region)
        elif action == "minus":
            h.increment(region, -1)
        elif action == "plus":
            h.increment(region, 1)
        elif action == "set":
            h.set_value(region, int(st.session_state.get(f"value_{region}", 0)))
    except GtError as err:
        h.last_action[region] = f"{action} failed: {err.message}"
        st.session_state.setdefault("live_errors", {})[region] = err


live = st.toggle("Live (re-read every region twice a second)", value=True, key="live_on")


@st.fragment(run_every=REFRESH_S if live else None)
def live_view() -> None:
    h = harness()
    try:
        readings = h.read_all(session.choice().regions)
    except GtError as err:
        show_error(err)
        return
    last_write_banner(h)
    replication_fault_banner(emulator_health(session.connection()))
    for region, box in region_columns(list(readings)):
        with box:
            region_view(h, readings[region])


live_view()

with st.expander("Which item?"):
    h = harness()
    pk = st.text_input("PK", value=h.pk, key="live_pk")
    sk = st.text_input("SK", value=h.sk, key="live_sk")
    if (pk, sk) != (h.pk, h.sk) and pk and sk:
        h.pk, h.sk, h.last_write = pk, sk, None
        st.rerun()
    st.caption("The workshop's demo bookmark is PK `user100`, SK `AshlandValley`; its "
               "`Bookmark` number is what + and − change.")
