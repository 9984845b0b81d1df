"""Expected failures as plain messages with a hint, never a traceback."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from gtcore.errors import GtError, RegionUnavailableError, ThrottledError


def error_text(err: GtError) -> str:
    """Markdown for an error: what failed, where, and what to do (never credentials)."""
    where = f" in **{err.region}**" if err.region else ""
    action = f"Could not {err.action}{where}: " if err.action else (
        f"**{err.region}**: " if err.region else "")
    text = f"{action}{err.message}"
    if err.hint:
        text += f"  \n:material/lightbulb: {err.hint}"
    return text


def show_error(err: GtError, container: Any = None) -> None:
    """Show `err` as a warning (a region that may come back) or an error (anything else)."""
    box = container if container is not None else st
    if isinstance(err, RegionUnavailableError | ThrottledError):
        box.warning(error_text(err), icon=":material/cloud_off:")
    else:
        box.error(error_text(err), icon=":material/error:")


def headline_of(err: GtError) -> str:
    """A few words for a projector: 'API answers HTTP 503', 'timed out', or the message."""
    found = re.search(r"HTTP (\d{3})", f"{err.code or ''} {err.message}")
    if found:
        return f"API answers HTTP {found.group(1)}"
    if "timed out" in err.message:
        return "No answer (timed out)"
    return err.message.split(" (")[0][:90]


def show_compact_error(err: GtError, container: Any = None) -> None:
    """A short warning in big letters, the full story and the hint below it in small print."""
    box = container if container is not None else st
    box.warning(f"**{headline_of(err)}**", icon=":material/cloud_off:")
    box.caption(error_text(err))
