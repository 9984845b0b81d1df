"""Small reusable pieces of screen: region chips, confirmations, plots, timers."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from gtcore.regions import REGIONS
from ui.colours import text_colour_on
from ui.session import colours

PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def region_name(region: str) -> str:
    """'us-west-2 (Oregon)' for known regions, the code otherwise."""
    known = REGIONS.get(region)
    return f"{region} ({known.name})" if known else region


def chip_html(region: str, *, label: str | None = None, big: bool = False) -> str:
    """An inline badge in the region's colour (HTML, escaped)."""
    colour = colours().get(region, "#888888")
    size = "clamp(1rem, 1.6vw, 1.35rem)" if big else "1rem"
    text = html.escape(label or region)
    name = html.escape(region)
    if label and label.startswith(region):  # the region's name never breaks; the words after may
        text = f'<span style="white-space:nowrap">{name}</span>{html.escape(label[len(region):])}'
    elif not label:
        text = f'<span style="white-space:nowrap">{name}</span>'
    return (
        f'<span style="background:{colour};color:{text_colour_on(colour)};padding:0.1em 0.6em;'
        f'border-radius:0.8em;font-weight:700;font-size:{size};display:inline-block;'
        f'max-width:100%;line-height:1.35">{text}</span>'
    )


def region_header(region: str, suffix: str = "") -> None:
    """A column heading: the region's chip and its city."""
    city = REGIONS[region].name if region in REGIONS else ""
    st.markdown(f"{chip_html(region, big=True)} &nbsp; **{html.escape(city)}** {suffix}",
                unsafe_allow_html=True)


def region_legend(regions: Sequence[str]) -> None:
    st.markdown(" ".join(chip_html(r) for r in regions), unsafe_allow_html=True)


def plot(fig: go.Figure, *, key: str | None = None) -> None:
    """Show a Plotly figure with its own projector styling (not Streamlit's theme)."""
    st.plotly_chart(fig, theme=None, width="stretch", config=PLOTLY_CONFIG, key=key)


def confirm(action: str, *, key: str, warning: str, on_confirm: Callable[[], None],
            button_type: str = "secondary", disabled: bool = False,
            help: str | None = None, typed: str | None = None, what: str = "") -> None:
    """A two-step button for destructive actions: click, read the warning, confirm.

    `action` (with `what`, when the button sits under the thing's own heading) names what is
    destroyed: "Remove the replica in eu-west-1"; the confirming button repeats it in full.
    With `typed` (on AWS: the region or table name), the confirmation stays shut until that
    name is typed, as the AWS console asks. `on_confirm` runs as the confirming
    button's callback, before the page reruns, so the page shows its outcome at once.
    """
    pending_key = f"confirm_pending_{key}"
    typed_key = f"{key}_typed"

    def set_pending(value: bool) -> None:
        st.session_state[pending_key] = value
        st.session_state.pop(typed_key, None)

    def yes() -> None:
        if typed is not None and str(st.session_state.get(typed_key, "")).strip() != typed:
            return  # the name changed under the box: nothing is destroyed
        set_pending(False)
        on_confirm()

    if not st.session_state.get(pending_key):
        st.button(action, key=f"{key}_ask", type=button_type, disabled=disabled, help=help,
                  on_click=set_pending, args=(True,))
        return
    with st.container(border=True):
        st.warning(warning, icon=":material/warning:")
        ready = True
        if typed is not None:
            entered = st.text_input(f"Type **{typed}** to confirm", key=typed_key,
                                    placeholder=typed)
            ready = entered.strip() == typed
        yes_col, no_col = st.columns(2)
        named = f"{action[0].lower()}{action[1:]} {what}".strip()
        yes_col.button(f"Yes, {named}", key=f"{key}_yes", type="primary",
                       on_click=yes, disabled=disabled or not ready)
        no_col.button("Cancel", key=f"{key}_no", on_click=set_pending, args=(False,))


def big_number(label: str, value: str, *, region: str | None = None, sub: str = "") -> None:
    """A large value readable from the back of the room, boxed in a region's colour."""
    colour = colours().get(region, "#888888") if region else "#888888"
    st.markdown(
        f'<div style="border-left:0.5rem solid {colour};padding-left:0.7rem;margin:0.3rem 0">'
        f'<div style="font-size:1rem;color:#333">{html.escape(label)}</div>'
        f'<div class="gt-oneline" style="font-size:clamp(1.8rem,3.4vw,2.6rem);font-weight:800;'
        f'line-height:1.15;color:#111;overflow:hidden">{html.escape(value)}</div>'
        f'<div style="font-size:0.95rem;color:#444">{html.escape(sub)}</div></div>',
        unsafe_allow_html=True,
    )


def small_print(text: str, **kwargs: Any) -> None:
    st.caption(text, **kwargs)
