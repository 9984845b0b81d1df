"""The projector CSS, and presenter mode (``?present=1``).

The CSS keeps labels whole at 1024 px (a common projector): buttons wrap their label instead of
cutting it ("Start wat…"), region names never break inside ("us-wes/t-2"), and the page starts
near the top instead of under ~130 px of blank space. Presenter mode hides the sidebar (the
target follows the facilitator's own tab, see ``ui.room``), moves the navigation to the top and
enlarges the type for the back of the room.
"""

from __future__ import annotations

import streamlit as st

PROJECTOR_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding: 3.2rem 2rem 3rem 2rem; }
@media (max-width: 1200px) {
  [data-testid="stSidebar"][aria-expanded="true"] { min-width: 17rem; max-width: 17rem; }
  [data-testid="stMainBlockContainer"] { padding-left: 1.2rem; padding-right: 1.2rem; }
}
[data-testid^="stBaseButton"] p { font-size: 1.1rem; font-weight: 650; }
[data-testid^="stBaseButton"] { height: auto; min-height: 2.6rem; }
[data-testid^="stBaseButton"] p, [data-testid^="stBaseButton"] div {
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: normal;
  word-break: normal; }
[data-testid="stProgress"] p { font-size: 1.05rem; }
[data-testid="stMetricValue"] { font-size: 2.2rem; }
[data-testid="stMetricLabel"] p { white-space: normal; }
.gt-oneline { white-space: nowrap; }
h1 { padding-top: 0.25rem; }
</style>
"""

PRESENTER_CSS = """
<style>
html { font-size: 20px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding: 3.6rem 1.2rem 2rem 1.2rem; }
</style>
"""

_PRESENT_KEY = "gt_present"


def presenting() -> bool:
    """True in presenter mode: ``?present=1`` turns it on for the session, ``?present=0`` off.

    Kept in the session, so page switches (which drop the query string) stay in it."""
    asked = st.query_params.get("present")
    if asked is not None:
        st.session_state[_PRESENT_KEY] = asked.strip().lower() not in ("0", "false", "no", "off")
    return bool(st.session_state.get(_PRESENT_KEY, False))


def inject() -> None:
    """Add the projector CSS (and the presenter CSS in presenter mode); once per run."""
    st.html(PROJECTOR_CSS + (PRESENTER_CSS if presenting() else ""))
