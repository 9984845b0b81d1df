"""The sidebar every page shares: what the dashboard talks to, and who it is talking as."""

from __future__ import annotations

from urllib.parse import urlparse

import streamlit as st

from gtcore.emulator.child import EmulatorChild
from gtcore.emulator.errors import EmulatorError
from gtcore.errors import ConfigError, CredentialsError, GtError
from gtcore.regions import REGIONS
from gtcore.target import Target
from ui import aws_access, session
from ui.messages import show_error
from ui.widgets import region_legend

LAG_PRESETS: dict[str, str] = {
    "realistic": "like AWS: 0.5-2.5 s, longer across oceans",
    "fixed:300": "every write arrives after 0.3 s",
    "fixed:1500": "every write arrives after 1.5 s",
    "uniform:100-400": "anywhere between 0.1 and 0.4 s",
}


def lag_words(spec: str) -> str:
    """'fixed:300 (every write arrives after 0.3 s)'; other specs as they are."""
    return f"{spec} ({LAG_PRESETS[spec]})" if spec in LAG_PRESETS else spec
MODE_LABELS = {"emulator": "Local emulator", "aws": "AWS"}


def _region_label(code: str) -> str:
    known = REGIONS.get(code)
    return f"{code} · {known.name}" if known else code


def target_picker() -> None:
    """Mode, regions, table and profile; applied together with one button.

    Each widget also gets the current target as its default: a tab whose page switches began
    before its first run ended can lose a widget's value in the browser, which then draws the
    widget from its default (before, an empty one: blank regions and table, and Apply failed)."""
    current = session.choice()
    session.sync_widgets(current)
    st.sidebar.header("Target")
    st.sidebar.segmented_control(
        "Talk to", options=list(MODE_LABELS), format_func=MODE_LABELS.get, required=True,
        default=current.mode, key="sidebar_mode", label_visibility="collapsed",
        on_change=apply_target,
    )
    with st.sidebar.form("target_form", border=False):
        st.multiselect(
            "Regions (home first)", options=sorted(REGIONS), format_func=_region_label,
            default=list(current.regions), key="sidebar_regions",
            help="Two or more regions. The first one is the home region.",
        )
        st.text_input("Table", value=current.table, key="sidebar_table")
        if current.mode == "aws":
            st.text_input("AWS profile", value=current.profile or "", key="sidebar_profile",
                          help="Empty: the default credential chain.")
            locked = session.read_only_locked()
            if locked:  # shown as it is in force, whatever the widget held before
                st.session_state["sidebar_read_only"] = True
            st.toggle("Read-only (no writes, no setup)", value=current.read_only,
                      key="sidebar_read_only", disabled=locked)
            if locked:
                st.caption(":material/lock: Set by `GT_READ_ONLY`: it cannot be switched off here.")
        st.form_submit_button("Apply", type="primary", width="stretch", key="sidebar_apply",
                              on_click=apply_target)
    failed = st.session_state.pop("sidebar_error", None)
    if failed is not None:
        show_error(failed, st.sidebar)


def target_problem(regions: tuple[str, ...], table: str) -> ConfigError | None:
    """Why Apply cannot use these values, in the sidebar's words (None when it can)."""
    if not regions:
        return ConfigError("no region picked", hint="Pick one or more regions under **Regions** "
                           "(the first is the home region), then press **Apply**.")
    if not table:
        return ConfigError("no table named", hint="Type the table's name under **Table** "
                           "(the workshop's is `global-serverless`), then press **Apply**.")
    try:
        Target(regions=regions, table=table)
    except ConfigError as err:
        return ConfigError(err.message, hint="Correct it under **Table**, then press **Apply**.")
    return None


def apply_target() -> None:
    """Callback of Apply and of the mode switch: validate, then make it the session's target."""
    state = st.session_state
    regions = tuple(state.get("sidebar_regions") or ())
    table = str(state.get("sidebar_table") or "").strip()
    problem = target_problem(regions, table)
    if problem is not None:
        state["sidebar_error"] = problem
        return
    session.update_choice(mode=state.get("sidebar_mode") or "emulator", regions=regions,
                          table=table,
                          profile=(str(state.get("sidebar_profile") or "").strip() or None),
                          read_only=bool(state.get("sidebar_read_only", False)))


def who_am_i() -> None:
    """The identity in use (account and ARN; never keys) or why there is none."""
    try:
        ident = aws_access.identity()
    except CredentialsError:
        st.sidebar.error("No AWS credentials: see the page for what to do.", icon=":material/key_off:")
        return
    except GtError as err:
        show_error(err, st.sidebar)
        return
    c = session.choice()
    where = "local emulator" if c.is_emulator else f"AWS profile {c.profile or '(default)'}"
    st.sidebar.caption(f"Using **{where}** as `{ident.get('Arn', '?')}` "
                       f"(account {ident.get('Account', '?')})")


def emulator_box() -> None:
    """The local emulator (only in emulator mode): its port, whether it runs, its lag model and
    isolated regions; a way to start it again when it stopped."""
    try:
        emu = session.emulator()
        if emu is None:
            return
        state = emu.state()
    except EmulatorError as err:
        emulator_down(session.emulator_child(), err)
        return
    child = session.emulator_child()
    port = urlparse(emu.endpoint).port
    with st.sidebar.expander(f"Emulator · running on port {port}", icon=":material/dns:"):
        owner = (f"a child process of this dashboard (pid {child.state().pid})" if child is not None
                 else "started outside the dashboard (GT_EMULATOR_URL or the config's endpoint)")
        st.caption(f"Serving every region at `{emu.endpoint}`, {owner}")

        def apply_lag() -> None:
            spec = st.session_state.get("sidebar_lag")
            st.session_state["sidebar_lag"] = None
            if spec:
                try:
                    emu.set_lag(spec)
                    st.toast(f"Replication lag is now {lag_words(spec)}: every region, every "
                             "tab, from the next write on.", icon=":material/timer:")
                except EmulatorError as err:
                    st.session_state["sidebar_error"] = err

        st.selectbox("Replication lag model", list(LAG_PRESETS), key="sidebar_lag", index=None,
                     format_func=lag_words, placeholder="change the lag model…",
                     on_change=apply_lag,
                     help="How long a write takes to reach the other regions of the emulator.")
        st.caption(f"Now: {lag_words(str(state.get('lag', '?')))}")
        isolated = state.get("isolated") or []
        st.caption(f"Isolated: {', '.join(isolated)}" if isolated else "No region isolated")


def emulator_down(child: EmulatorChild | None, err: EmulatorError) -> None:
    """The emulator does not answer: say so, why, and (when this server owns it) offer a restart."""
    status = child.state() if child is not None else None
    stopped = status is not None and not status.running
    st.sidebar.error("The local emulator stopped" if stopped else "The local emulator does not answer",
                     icon=":material/dns:")
    st.sidebar.caption((status.problem if status is not None else None) or str(err))
    if child is not None:
        st.sidebar.button("Restart the emulator", key="sidebar_emulator_restart", type="primary",
                          on_click=child.restart, width="stretch",
                          help="A new emulator process on a new port, with no tables: the "
                          "workshop is set up again on the next page load.")


def render() -> None:
    """The whole sidebar, called once per run by the entry script."""
    target_picker()
    c = session.choice()
    with st.sidebar:
        region_legend(c.regions)
    who_am_i()
    emulator_box()
