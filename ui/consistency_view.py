"""MREC vs MRSC page pieces: start the side-by-side demo, its progress, the verdicts next to each other."""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

from gtcore.consistency import REGION_SETS, read_mode_anywhere, strong_members_problem
from gtcore.errors import GtError
from gtcore.experiments.side_by_side import LABELS, MODES, US, ModeResult, SideBySide
from gtcore.target import Target
from ui import session
from ui.messages import show_error

KEY = "consistency_demo"
PHASES = {"setup": 0.1, "conflict": 0.4, "drill": 0.7, "done": 1.0, "failed": 1.0}


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
                "reuses them), then runs the same conflict and the same region failure on both. The failure is the "
                f"emulator's: {US[0]} goes off the network for a few seconds, for every table on it.")


def progress(demo: SideBySide) -> None:
    state = demo.state()
    st.progress(PHASES.get(state.phase, 0.0), text=state.message if state.phase != "failed" else "stopped")
    if demo.error is not None:
        show_error(demo.error)


def _ms(value: Any) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


ROWS: list[tuple[str, str, Any]] = [  # (label, key, pick from a ModeResult)
    ("Conflicts seen", "conflicts", lambda r: r.conflict and r.conflict["conflicts"]),
    ("Writes lost", "lost", lambda r: r.conflict and r.conflict["lost_writes"]),
    ("Writes rejected (retried)", "rejected", lambda r: r.conflict and r.conflict["writes_rejected"]),
    ("Write latency p50", "p50", lambda r: r.conflict and _ms(r.conflict["write_latency_ms_p50"])),
    ("Write latency p99", "p99", lambda r: r.conflict and _ms(r.conflict["write_latency_ms_p99"])),
    ("RPO at failover", "rpo", lambda r: r.drill and f"{r.drill['failover_lost']} writes · "
     f"{_ms(r.drill['failover_rpo_ms'])}"),
    ("Acknowledged, lost for good", "lost_acked", lambda r: r.drill and r.drill["lost_acked"]),
    ("RTO", "rto", lambda r: r.drill and _ms(r.drill["rto_ms"])),
]
WAITING = "…"


def verdict_rows(results: dict[str, ModeResult]) -> list[tuple[str, str, list[str]]]:
    """(label, key, [MREC value, MRSC value]) for every figure; '…' until that part has run."""
    def shown(value: Any) -> str:
        return WAITING if value is None else str(value)

    return [(label, key, [shown(pick(results[mode])) for mode in MODES]) for label, key, pick in ROWS]


def verdict_table_html(results: dict[str, ModeResult]) -> str:
    """One large table, MREC next to MRSC, readable from the back of a room at 1024x768."""
    head = "".join(f"<th style='text-align:right' title='table {MODES[m]}'>{LABELS[m]}</th>" for m in MODES)
    body = ""
    for label, key, values in verdict_rows(results):
        cells = "".join(f"<td style='text-align:right' data-verdict='{LABELS[m]}-{key}'>{html.escape(v)}</td>"
                        for m, v in zip(MODES, values, strict=True))
        body += f"<tr><td>{html.escape(label)}</td>{cells}</tr>"
    return (f"<table style='width:100%;font-size:1.35rem'><tr><th></th>{head}</tr>{body}</table>")


def verdicts(demo: SideBySide) -> None:
    state = demo.state()
    st.markdown(verdict_table_html(state.results), unsafe_allow_html=True)
    for column, mode in zip(st.columns(2, gap="large"), MODES, strict=True):
        result = state.results[mode]
        with column:
            for part in (result.conflict, result.drill):
                if part is not None:
                    lost = part.get("lost_writes") or part.get("lost_acked") or part.get("failover_lost")
                    (st.error if lost else st.success)(f"**{result.label}:** {part['said']}")


def aws_notice() -> None:
    st.info("This demo runs on the local emulator only: it takes a region off the network, which cannot be "
            "done to AWS, and it creates two global tables (one of them MRSC, in three US regions). "
            "Switch the sidebar's target to the emulator to run it.", icon=":material/info:")


def mode_words(consistency: str | None, witnesses: dict[str, str] | None = None) -> str:
    """How a table's mode reads on a screen: 'MRSC (strong consistency), witness us-east-2'."""
    if consistency is None:
        return ""
    kind = "strong" if consistency == "STRONG" else "eventual"
    words = f"{LABELS.get(consistency, consistency)} ({kind} consistency)"
    if witnesses:
        words += ", witness " + ", ".join(f"{r} {s.lower()}" for r, s in sorted(witnesses.items()))
    return words


def report_mode(report: Any) -> str:
    """The mode the status report read (from the first region that could read the table)."""
    readable = [r for r in report.regions if not r.error and r.consistency]
    return mode_words(readable[0].consistency, readable[0].witnesses) if readable else ""


@st.cache_data(ttl=30, show_spinner=False)
def _mode_of(endpoint: str | None, table: str, regions: tuple[str, ...], profile: str | None) -> str:
    conn = session.connection_for(Target(regions=regions, table=table, endpoint=endpoint, profile=profile))
    try:
        mode = read_mode_anywhere(conn, table, regions)
    except GtError:  # the header says nothing rather than fail: the page shows the real error
        return ""
    return mode_words("STRONG" if mode.strong else "EVENTUAL", mode.witnesses)


def forget_modes() -> None:
    """After setup or teardown: the next header reads the mode again."""
    _mode_of.clear()


def header_mode() -> str:
    """' · MRSC (strong consistency)' for the page header's table line (re-read every 30 s)."""
    try:
        t = session.target()
    except GtError:  # no target yet (e.g. a bad profile): the page says why
        return ""
    words = _mode_of(t.endpoint, t.table, t.regions, t.profile)
    return f" · {words}" if words else ""


NO_WITNESS = "no witness"


def mode_picker(regions: tuple[str, ...], disabled: bool) -> str | None:
    """The Setup page's choice of MREC (default) or MRSC, with a witness; returns why the chosen
    mode cannot be set up on ``regions`` (None when it can)."""
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    left.radio("Consistency mode", list(LABELS), format_func=mode_words,
               key="setup_consistency", horizontal=True, disabled=disabled,
               help="fixed when the replicas are created: to change it, tear the table down first")
    strong = st.session_state.get("setup_consistency") == "STRONG"
    spare = [r for regions_ in REGION_SETS.values() for r in regions_ if r not in regions]
    right.selectbox("MRSC witness", [NO_WITNESS, *spare], key="setup_witness", disabled=disabled or not strong,
                    help="two replicas and a witness (it holds no readable table) instead of three replicas")
    if not strong:
        return None
    return strong_members_problem(regions, chosen_mode()[1])


def chosen_mode() -> tuple[str, str | None]:
    """(consistency, witness) as the Setup page's picker says."""
    consistency = st.session_state.get("setup_consistency", "EVENTUAL")
    witness = st.session_state.get("setup_witness", NO_WITNESS)
    return consistency, (witness if consistency == "STRONG" and witness != NO_WITNESS else None)
