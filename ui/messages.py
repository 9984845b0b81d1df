"""Expected failures as plain messages with a hint, never a traceback."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from gtcore.errors import (
    AccessDeniedError,
    CredentialsError,
    GtError,
    NotFoundError,
    ReadOnlyError,
    RegionUnavailableError,
    ThrottledError,
)

# What to do, in the dashboard's words, for the errors whose gtcore hint speaks to the CLI.
SCREEN_HINTS: dict[type[GtError], str] = {
    NotFoundError: "Check the table and regions under **Target** in the sidebar, or create them "
    "on **Setup**.",
    AccessDeniedError: "Grant the caller that permission in this region, or pick another "
    "profile under **AWS profile** in the sidebar.",
    CredentialsError: "Pick a profile that works under **AWS profile** in the sidebar, or switch "
    "**Talk to** to **Local emulator**.",
    RegionUnavailableError: "If the region is isolated, press **Heal** on **Region failure**; "
    "otherwise retry in a moment, or take it out of **Regions** in the sidebar.",
    ReadOnlyError: "Switch **Read-only** off in the sidebar to allow changes.",
}
# Command-line flags, commands and control-API paths: true for the CLI, noise on a screen.
_CLI_WORDS = re.compile(r"--[a-z]|python -m|`gtcore|GTCORE_HOME|/_emulator/|AWS_PROFILE")
_CLI_TAILS = (
    re.compile(r"\s+or\s+`POST /_emulator/\w+`"),  # "heal it from the Region failure page or ..."
    re.compile(r"\s*\((?:--[a-z-]+(?:, )?)+\)"),  # "(--table, --regions)"
)


def screen_words(text: str) -> str:
    """`text` without the CLI's flags and the control API's paths."""
    for tail in _CLI_TAILS:
        text = tail.sub("", text)
    return text


def screen_hint(err: GtError) -> str | None:
    """What to do about `err`, said the way the dashboard's screens say it."""
    if err.hint and not _CLI_WORDS.search(err.hint):
        return err.hint
    for kind, hint in SCREEN_HINTS.items():
        if isinstance(err, kind):
            return hint
    return None


def error_text(err: GtError) -> str:
    """Markdown for an error: what failed, where, and what to do (never credentials)."""
    where = f" in **{err.region}**" if err.region else ""
    action = f"Could not {err.action}{where}: " if err.action else (
        f"**{err.region}**: " if err.region else "")
    text = f"{action}{screen_words(err.message)}"
    hint = screen_hint(err)
    if hint:
        text += f"  \n:material/lightbulb: {hint}"
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
    return screen_words(err.message).split(" (")[0][:90]


def show_compact_error(err: GtError, container: Any = None) -> None:
    """A short warning in big letters, the full story and the hint below it in small print."""
    box = container if container is not None else st
    box.warning(f"**{headline_of(err)}**", icon=":material/cloud_off:")
    box.caption(error_text(err))
