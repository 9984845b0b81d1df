"""A region's regional API URL, ready to copy, and which form to paste where."""

from __future__ import annotations

import streamlit as st

from gtcore.regional_urls import browser_url


def api_url_block(url: str | None) -> None:
    """The URL in a code box (Streamlit's copy button); both forms for the emulator's API."""
    if not url:
        return
    browser = browser_url(url)
    st.code(browser or url, language=None, wrap_lines=True)
    if browser is None:
        st.caption("Paste it into the workshop's web pages (Add API).")
        return
    st.caption("For the workshop's web pages (Add API): browsers resolve any name under "
               "*.localhost to this machine.")
    st.code(url, language=None, wrap_lines=True)
    st.caption("For tools that cannot resolve *.localhost (Python, most command-line clients).")
