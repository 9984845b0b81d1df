"""Replicas-live pieces: this session's harness, the catch-up banner, one column per region.

The harness itself (reads, writes, who has caught up) is :mod:`gtcore.harness`; this module only
keeps one per browser session and draws it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from gtcore.errors import GtError
from gtcore.harness import Harness, Reading, format_number
from ui import session
from ui.layout import region_columns
from ui.messages import show_compact_error, show_error
from ui.replication_faults import replication_fault_banner
from ui.widgets import big_number, region_header

HARNESS_KEY = "live_harness"
ERRORS_KEY = "live_errors"


def harness() -> Harness:
    """This session's harness for the current target (rebuilt when the target changes)."""
    conn = session.connection()
    held = st.session_state.get(HARNESS_KEY)
    if held is None or held[0] != conn.target:
        held = (conn.target, Harness.for_connection(conn))
        st.session_state[HARNESS_KEY] = held
    return held[1]


def press(region: str, call: Callable[[], object]) -> None:
    """Button callback: runs before the rerun, so the new value shows at once; a failure is
    kept for the region's column to show."""
    try:
        call()
        session.wrote()
    except GtError as err:
        st.session_state.setdefault(ERRORS_KEY, {})[region] = err


def last_write_banner(h: Harness) -> None:
    progress = h.catch_up()
    if progress is None:
        st.info("No write yet: press **+** or **−** in any region.", icon=":material/touch_app:")
        return
    w = progress.write
    caught = ", ".join(f"**{r}** after {s:.1f} s" for r, s in progress.caught.items())
    st.markdown(f"## {progress.since_s:.1f} s since the last write: {w.what} in {w.region} "
                f"→ {format_number(w.value)}")
    if progress.waiting:
        st.markdown(f"Still catching up: **{', '.join(progress.waiting)}**. "
                    + (f"Caught up: {caught}." if caught else ""))
    elif caught:
        st.markdown(f"Caught up: {caught} (checked twice a second).")


def reading_box(h: Harness, reading: Reading) -> None:
    """The item as one region sees it, or why it cannot be read."""
    if reading.error is not None:
        show_compact_error(reading.error)
        return
    sub = {True: "✓ in sync with the last write", False: "↻ catching up…",
           None: "as this region sees it"}[h.in_sync(reading)]
    big_number("Bookmark", format_number(reading.value) if reading.item else "no item",
               region=reading.region, sub=sub)
    read_at = time.strftime("%H:%M:%S", time.localtime(reading.wall or 0)) + f".{int((reading.wall or 0) * 10) % 10}"
    st.caption(f"DynamoDB {reading.db_latency_ms or 0:.0f} ms · round trip "
               f"{reading.rtt_ms or 0:.0f} ms · read at {read_at}")


def region_buttons(h: Harness, region: str) -> None:
    """−1, +1, ping, get and set through the region's API, and what the last one did."""
    no_writes = session.read_only()
    why = "The target is read-only" if no_writes else None
    minus, plus = st.columns(2)
    minus.button("− 1", key=f"minus_{region}", width="stretch", disabled=no_writes, help=why,
                 on_click=press, args=(region, lambda: h.increment(region, -1)))
    plus.button("+ 1", key=f"plus_{region}", width="stretch", type="primary",
                disabled=no_writes, help=why,
                on_click=press, args=(region, lambda: h.increment(region, 1)))
    ping, get = st.columns(2)
    ping.button("Ping", key=f"ping_{region}", width="stretch",
                on_click=press, args=(region, lambda: h.ping(region)))
    get.button("Get item", key=f"get_{region}", width="stretch",
               on_click=press, args=(region, lambda: h.get(region)))
    value_col, set_col = st.columns([3, 2], vertical_alignment="bottom")
    value_col.number_input("Set Bookmark to", value=0, step=1, key=f"value_{region}")
    set_col.button("Set", key=f"set_{region}", width="stretch", disabled=no_writes, help=why,
                   on_click=press, args=(region, lambda: h.set_value(
                       region, int(st.session_state.get(f"value_{region}", 0)))))
    failed = st.session_state.get(ERRORS_KEY, {}).pop(region, None)
    if failed is not None:
        show_error(failed)
    elif region in h.last_action:
        st.markdown(f"Last: {h.last_action[region]}")


def region_columns_view(h: Harness) -> None:
    """Every region read now, side by side, under the catch-up banner (what the live refresh
    redraws: the buttons are drawn once per page run, by :func:`button_columns_view`)."""
    try:
        readings = session.shared_reads().items(session.connection(), h, session.choice().regions)
    except GtError as err:
        show_error(err)
        return
    last_write_banner(h)
    replication_fault_banner(session.shared_reads().emulator_health(session.connection()))
    for region, box in region_columns(list(readings)):
        with box:
            region_header(region)
            reading_box(h, readings[region])


def button_columns_view(h: Harness) -> None:
    """Each region's buttons, under its reading."""
    regions = [r for r in session.choice().regions if r in h.apis]
    for region, box in region_columns(regions, border=False):
        with box:
            region_buttons(h, region)


def item_picker(h: Harness) -> None:
    """Which item the harness follows (PK and SK)."""
    pk = st.text_input("PK", value=h.pk, key="live_pk")
    sk = st.text_input("SK", value=h.sk, key="live_sk")
    if (pk, sk) != (h.pk, h.sk) and pk and sk:
        h.watch(pk, sk)
        st.rerun()
    st.caption("The workshop's demo bookmark is PK `user100`, SK `AshlandValley`; its "
               "`Bookmark` number is what + and − change.")
