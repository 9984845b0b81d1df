"""Region-failure page pieces: health per region, throttle/restore, emulator faults."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from gtcore.actions.throttle import (
    ThrottleState,
    restore_all,
    restore_region,
    throttle_region,
    throttle_states,
)
from gtcore.errors import GtError
from gtcore.probes.status import RegionStatus
from ui import session
from ui.home import verdict
from ui.layout import region_columns
from ui.messages import screen_words, show_error
from ui.widgets import confirm, region_header

RESULT_KEY = "failure_last_change"


def health() -> dict[str, RegionStatus]:
    """Table and regional API status per region (no item counts: this refreshes often)."""
    try:
        return session.shared_reads().status(session.connection(), count=False).by_region()
    except GtError as err:
        show_error(err)
        return {}


def throttles() -> dict[str, ThrottleState]:
    try:
        return {s.region: s for s in throttle_states(session.connection())}
    except GtError as err:
        show_error(err)
        return {}


def emulator_faults() -> dict[str, object]:
    """Isolated regions, paused (table, region) pairs and held deliveries; {} on AWS."""
    try:
        emu = session.emulator()
        if emu is None:
            return {}
        state = emu.state()
        pending = emu.pending()
    except GtError as err:
        show_error(err)
        return {}
    table = session.choice().table
    return {
        "isolated": set(state.get("isolated", [])),
        "paused": {p["region"] for p in state.get("paused", []) if p["table"] == table},
        "pending": pending,
    }


def act(label: str, region: str, fn: Callable[[], object]) -> None:
    """Button callback: run a change and keep its outcome for the page to show."""
    try:
        change = fn()
        note = change if isinstance(change, str) else (getattr(change, "note", None) or "done")
        st.session_state[RESULT_KEY] = (region, f"{region}: {note}", None)
    except GtError as err:
        st.session_state[RESULT_KEY] = (region, None, err)
    finally:  # done or not, the target may have changed: every session reads it anew
        session.wrote()


def last_change() -> None:
    held = st.session_state.get(RESULT_KEY)
    if not held:
        return
    _region, note, err = held
    if err is not None:
        show_error(err)
    else:
        st.success(note, icon=":material/task_alt:")


def throttle_line(t: ThrottleState) -> str:
    """The function's concurrency in the Lambda console's words."""
    if t.error:
        return screen_words(t.error)
    now = ("unreserved account concurrency" if t.reserved is None
           else f"reserved concurrency {t.reserved}")
    text = f"Function `{t.function}`: {now}"
    if t.marked:
        before = (f"reserved concurrency {t.previous}" if str(t.previous).isdigit()
                  else "unreserved account concurrency")
        text += f"; **Restore** puts back {before}, what it had before the throttle"
    return text


def region_panel(region: str, status: RegionStatus | None, throttle: ThrottleState | None,
                 faults: dict[str, object], read_only: bool) -> None:
    region_header(region)
    if status is not None:
        colour, words = verdict(status)
        if region in faults.get("isolated", set()):
            colour, words = "#D55E00", "Isolated"
        st.markdown(f'<span style="color:{colour};font-size:1.8rem;font-weight:800">● '
                    f"{words}</span>", unsafe_allow_html=True)
        api = status.api
        if api is not None and api.ok:
            st.markdown(f"API answers in {api.rtt_ms or 0:.0f} ms")
        elif api is not None:
            st.markdown(f"API answers **HTTP {api.status}**" if api.status
                        else "API does not answer", help=api.error)
    if throttle is not None:
        st.caption(throttle_line(throttle))
    conn = session.connection()
    if throttle is not None and throttle.throttled:
        confirm("Restore", key=f"restore_{region}", button_type="primary", disabled=read_only,
                what=region,
                warning=f"Put back exactly what {region}'s function had before it was "
                "throttled.",
                on_confirm=lambda: act("Restoring", region, lambda: restore_region(conn, region)))
    else:
        confirm("Throttle", key=f"throttle_{region}", disabled=read_only or throttle is None,
                what=region,
                warning=f"{region}'s regional API stops answering (reserved concurrency 0, the "
                "Lambda console's Throttle button). The table keeps replicating.",
                on_confirm=lambda: act("Throttling", region,
                                       lambda: throttle_region(conn, region)))
    emulator_controls(region, faults)


def emulator_controls(region: str, faults: dict[str, object]) -> None:
    """Isolate/heal and pause/resume, sent to the emulator over its control API."""
    if not faults:  # AWS, or an emulator that does not answer (emulator_faults said so)
        return
    emu = session.emulator()
    if emu is None:
        return
    table = session.choice().table

    def fault(change: Callable[[], None], note: str) -> Callable[[], str]:
        def run() -> str:
            change()
            return note
        return run

    left = right = st.container()  # one under the other: side by side, 1024 px cut the labels
    if region in faults.get("isolated", set()):
        left.button("Heal", key=f"heal_{region}", type="primary", width="stretch", on_click=act,
                    args=("Healing", region, fault(lambda: emu.heal(region), "healed")))
    else:
        left.button("Isolate", key=f"isolate_{region}", width="stretch", on_click=act,
                    args=("Isolating", region, fault(lambda: emu.isolate(region), "isolated")),
                    help="Nothing reaches this region or leaves it: its API and DynamoDB "
                    "stop answering and replication to and from it is held.")
    if region in faults.get("paused", set()):
        right.button("Resume replication", key=f"resume_{region}", type="primary", width="stretch",
                     on_click=act, args=("Resuming", region, fault(
                         lambda: emu.resume_replication(table, region), "replication resumed")))
    else:
        right.button("Pause replication", key=f"pause_{region}", width="stretch", on_click=act,
                     args=("Pausing", region, fault(
                         lambda: emu.pause_replication(table, region), "replication paused")),
                     help="Like FIS pause-replication: writes still work here, but nothing "
                     "replicates to or from this region until resumed.")


def restore_everything() -> None:
    """Button callback: restore every throttled region of the target in one action."""
    try:
        results = restore_all(session.connection())
    except GtError as err:
        st.session_state[RESULT_KEY] = (None, None, err)
        return
    finally:
        session.wrote()
    errors = [r for r in results if isinstance(r, GtError)]
    notes = [f"{r.region}: {r.note}" for r in results if not isinstance(r, GtError)]
    st.session_state[RESULT_KEY] = (None, "; ".join(notes) or "nothing was throttled", errors[0] if errors else None)


def region_panels(read_only: bool) -> None:
    regions = list(session.choice().regions)
    statuses, states, faults = health(), throttles(), emulator_faults()
    throttled = [r for r in regions if states.get(r) is not None and states[r].throttled]
    if len(throttled) > 1:
        confirm(f"Restore all {len(throttled)} throttled regions", key="restore_all", button_type="primary",
                disabled=read_only, on_confirm=restore_everything,
                warning=f"Put back exactly what each function had before: {', '.join(throttled)}.")
    for region, box in region_columns(regions):
        with box:
            region_panel(region, statuses.get(region), states.get(region), faults, read_only)
    pending = faults.get("pending") or {}
    if pending:
        rows = [{"from": s, "to": d, "writes waiting": n} for (s, d), n in sorted(pending.items())]
        st.markdown("**Replication held or in flight**")
        st.dataframe(pd.DataFrame(rows), hide_index=True)
