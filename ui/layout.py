"""Page scaffolding: per-region column grids and the page header."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from ui import session
from ui.aws_access import stop_without_credentials
from ui.consistency_view import header_mode


def region_columns(regions: Sequence[str], per_row: int = 3,
                   border: bool = True) -> Iterator[tuple[str, Any]]:
    """(region, container) pairs laid out in rows of at most `per_row` columns."""
    per_row = max(1, min(per_row, len(regions) or 1))
    for start in range(0, len(regions), per_row):
        row = regions[start:start + per_row]
        cols = st.columns(per_row)
        for region, col in zip(row, cols, strict=False):
            yield region, col.container(border=border)


def ensure_shell() -> None:
    """Make sure this page runs inside `dashboard.py` (sidebar, setup, navigation).

    When the very first request a fresh server gets is a page URL, Streamlit 1.67 runs that
    file on its own, the legacy way, because a `pages/` folder exists (`PagesManager`'s
    class-wide `uses_pages_directory` flag). Switching the flag off and rerunning makes the
    entry script run instead, and it resolves the same page through `st.navigation`.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_header(title: str, story: str) -> None:
    """Title and one sentence saying what this screen shows and why (first call of a page)."""
    ensure_shell()
    st.title(title)
    st.markdown(story)
    c = session.choice()
    where = "the local emulator" if c.is_emulator else "AWS"
    st.caption(f"Table `{c.table}` in {', '.join(c.regions)} on {where}" + header_mode()
               + (" · read-only" if session.read_only() else ""))
    stop_without_credentials()
