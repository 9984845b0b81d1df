"""Page scaffolding: per-region column grids and the page header."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import streamlit as st

from ui import session


def region_columns(regions: Sequence[str], per_row: int = 3,
                   border: bool = True) -> Iterator[tuple[str, Any]]:
    """(region, container) pairs laid out in rows of at most `per_row` columns."""
    per_row = max(1, min(per_row, len(regions) or 1))
    for start in range(0, len(regions), per_row):
        row = regions[start:start + per_row]
        cols = st.columns(per_row)
        for region, col in zip(row, cols, strict=False):
            yield region, col.container(border=border)


def page_header(title: str, story: str) -> None:
    """Title and one sentence saying what this screen shows and why."""
    st.title(title)
    st.markdown(story)
    t = session.target()
    where = "the local emulator" if t.is_local else "AWS"
    st.caption(f"Table `{t.table}` in {', '.join(t.regions)} on {where}"
               + (" · read-only" if t.read_only else ""))
