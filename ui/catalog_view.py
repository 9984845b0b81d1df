"""The workshop's sample catalog as a grid of titles with their shipped thumbnails."""

from __future__ import annotations

import html

import streamlit as st

from gtcore.errors import GtError
from gtcore.workshop import catalog, thumbnail_data_uri
from ui.messages import show_error


def catalog_grid(columns: int = 4) -> None:
    """The twelve sample titles with their shipped thumbnails (no internet needed)."""
    try:
        titles = catalog()
    except GtError as err:
        show_error(err)
        return
    for start in range(0, len(titles), columns):
        cols = st.columns(columns)
        for entry, col in zip(titles[start:start + columns], cols, strict=False):
            uri = thumbnail_data_uri(entry["thumb"])
            image = (f'<img src="{uri}" style="width:100%;border-radius:6px" '
                     f'alt="{html.escape(entry["title"])}"/>' if uri else "")
            col.markdown(f'{image}<div style="font-weight:700;text-align:center;'
                         f'overflow-wrap:normal;word-break:normal">'
                         f'{html.escape(entry["sk"])} · {html.escape(entry["title"])}</div>',
                         unsafe_allow_html=True)
