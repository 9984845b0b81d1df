"""MREC vs MRSC page pieces: start the side-by-side demo, its progress, the verdicts next to each other."""

from __future__ import annotations

from typing import Any

import streamlit as st

from gtcore.experiments.side_by_side import LABELS, MODES, US, ModeResult, SideBySide
from gtcore.target import Target
from ui import session
from ui.messages import show_error

KEY = "consistency_demo"
PHASES = {"setup": 0.1, "conflict": 0.4, "drill": 0.7, "done": 1.0, "failed": 1.0}
PROMISE = {"EVENTUAL": "one acknowledged write silently lost", "STRONG": "one write rejected and retried, nothing lost"}


def current() -> SideBySide | None:
    return st.session_state.get(KEY)


def start() -> None:
    """Button callback: a new demo on the emulator's two demo tables (set up first when missing)."""
    old = current()
    if old is not None and old.running:
        return
    emulator = session.emulator()
    if emulator is None:
        return
    endpoint = session.emulator_endpoint()
    demo = SideBySide(lambda table: session.connection_for(Target(regions=US, table=table, endpoint=endpoint)),
                      emulator)
    st.session_state[KEY] = demo.start()


def intro() -> None:
    tables = " and ".join(f"`{table}` ({LABELS[mode]})" for mode, table in MODES.items())
    st.markdown(f"Two copies of the workshop's table in the same three US regions ({', '.join(US)}): {tables}. "
                "**Run the demo** sets them up on the local emulator when they are missing (running it again "
                "reuses them), then runs the same conflict and the same region failure on both.")


def progress(demo: SideBySide) -> None:
    state = demo.state()
    st.progress(PHASES.get(state.phase, 0.0), text=state.message if state.phase != "failed" else "stopped")
    if demo.error is not None:
        show_error(demo.error)


def _ms(value: Any) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def verdict_column(result: ModeResult) -> None:
    """One mode's figures, large: what the conflict and the region failure did to it."""
    st.markdown(f"## {result.label} · `{result.table}`")
    st.caption(f"{'strong' if result.consistency == 'STRONG' else 'eventual'} consistency — "
               f"expected: {PROMISE[result.consistency]}")
    c = result.conflict
    if c is None:
        st.caption("conflict: waiting")
        return
    lost, rejected = c["lost_writes"], c["writes_rejected"]
    left, right = st.columns(2)
    left.metric("Writes lost", lost, border=True)
    right.metric("Writes rejected", rejected, border=True)
    left.metric("Write latency p50", _ms(c["write_latency_ms_p50"]), border=True)
    right.metric("Write latency p99", _ms(c["write_latency_ms_p99"]), border=True)
    (st.error if lost else st.success)(c["said"])
    d = result.drill
    if d is None:
        st.caption("region failure: waiting")
        return
    left, right = st.columns(2)
    left.metric("RPO at failover", f"{d['failover_lost']} writes", _ms(d["failover_rpo_ms"]),
                delta_color="off", border=True)
    right.metric("RTO", _ms(d["rto_ms"]), border=True)
    (st.error if d["lost_acked"] or d["failover_lost"] else st.success)(d["said"])


def verdicts(demo: SideBySide) -> None:
    state = demo.state()
    for column, mode in zip(st.columns(2, gap="large"), MODES, strict=True):
        with column:
            verdict_column(state.results[mode])


def aws_notice() -> None:
    st.info("This demo runs on the local emulator only: it takes a region off the network, which cannot be "
            "done to AWS, and it creates two global tables (one of them MRSC, in three US regions). "
            "Switch the sidebar's target to the emulator to run it.", icon=":material/info:")
