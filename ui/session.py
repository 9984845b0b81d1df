"""Long-lived objects shared by pages: the embedded emulator, the target and its connection.

The *choice* (emulator or AWS, regions, table, profile) is the room's (``ui.room``): every tab of
the server shows the same target, and a change in one tab reaches the others. The
emulator and the per-target connections are process-wide (`st.cache_resource`): every tab of the
same server sees the same emulator, as a room sees one projector. The embedded emulator is a child
process of the server (`python -m setup.emulator`, stopped with the server), driven only over
HTTP through `EmulatorControl`, as the CLI drives one.

Environment (read once, for the first choice of a session):

- ``GT_TARGET``: ``emulator`` (default) or ``aws``; ``aws`` is also the default when
  ``GT_CONFIG`` names a config file (see :meth:`gtcore.target.Target.from_sources`).
- ``GT_REGIONS``, ``GT_TABLE``, ``AWS_PROFILE``, ``GT_READ_ONLY``: the usual target settings;
  read-only set by ``GT_READ_ONLY`` is locked (see :func:`read_only_locked`).
- ``GT_EMULATOR_LAG``: the embedded emulator's lag model (default ``realistic``).
- ``GT_EMULATOR_URL`` (or an ``endpoint`` in the ``GT_CONFIG`` file): an emulator that already
  runs (``python -m setup.emulator``): the dashboard uses it and starts none.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import streamlit as st

from gtcore.emulator.child import EmulatorChild
from gtcore.emulator.client import EmulatorControl
from gtcore.errors import GtError
from gtcore.target import DEFAULT_REGIONS, DEFAULT_TABLE, Connection, Target
from gtcore.target_reads import TargetReads
from setup.emulator import MODULE as EMULATOR_LAUNCHER
from ui import room
from ui.colours import region_colours

Mode = Literal["emulator", "aws"]
_CHOICE_KEY = "gt_choice"
_VERSION_KEY = "gt_choice_version"  # the room's version this session shows
_WIDGETS_KEY = "gt_choice_widgets"  # the version the sidebar's widgets show
# A new replica of the embedded emulator stays CREATING this long: long enough to be seen.
REPLICA_CREATE_SECONDS = 1.0


@dataclass(frozen=True)
class Choice:
    """What the person picked in the sidebar (plain values, safe to keep in session state)."""

    mode: Mode = "emulator"
    regions: tuple[str, ...] = DEFAULT_REGIONS
    table: str = DEFAULT_TABLE
    profile: str | None = None
    read_only: bool = False

    @property
    def is_emulator(self) -> bool:
        return self.mode == "emulator"


def default_choice(env: dict[str, str] | None = None) -> Choice:
    """The first choice of a session, from the environment (see the module docstring)."""
    env = dict(os.environ) if env is None else env
    mode: Mode = "aws" if env.get("GT_CONFIG") else "emulator"
    if env.get("GT_TARGET", "").strip().lower() in ("aws", "emulator"):
        mode = env["GT_TARGET"].strip().lower()  # type: ignore[assignment]
    try:
        base = Target.from_sources(env={k: v for k, v in env.items()
                                        if k != "AWS_ENDPOINT_URL"})
    except GtError:
        base = Target(regions=DEFAULT_REGIONS)
    if base.endpoint and not env.get("GT_TARGET", "").strip():
        mode = "emulator"  # a config file that names an endpoint names an emulator (see emulator_url)
    return Choice(mode=mode, regions=base.regions, table=base.table,
                  profile=base.profile, read_only=base.read_only)


def read_only_locked() -> bool:
    """True when ``GT_READ_ONLY`` sets read-only: then nothing in the dashboard turns it off.

    Anything but an explicit false (unset, "", 0, false, no, off) locks it: a typo errs on the
    safe side."""
    return os.environ.get("GT_READ_ONLY", "").strip().lower() not in ("", "0", "false", "no", "off")


def _locked(c: Choice) -> Choice:
    return replace(c, read_only=True) if read_only_locked() and not c.read_only else c


def join_room() -> None:
    """Take the room's target when it changed since this session last showed it (at the start
    of every full run, never inside a fragment: the page around it must follow too)."""
    state = st.session_state
    if _CHOICE_KEY in state and _VERSION_KEY not in state:
        set_choice(state[_CHOICE_KEY])  # given to the session before it joined (a test, a link)
        return
    version, value = room.room(default_choice).read()
    if state.get(_VERSION_KEY) != version:
        state[_CHOICE_KEY], state[_VERSION_KEY] = value, version


def choice() -> Choice:
    """The room's target as this session shows it (see :func:`join_room`)."""
    if _VERSION_KEY not in st.session_state:
        join_room()
    return _locked(st.session_state[_CHOICE_KEY])


def choice_version() -> int | None:
    return st.session_state.get(_VERSION_KEY)


def set_choice(new: Choice) -> None:
    """Make `new` the room's target (every tab follows) and this session's."""
    st.session_state[_VERSION_KEY] = room.room(default_choice).publish(new)
    st.session_state[_CHOICE_KEY] = new


def follow_room() -> None:
    """Rerun this tab when another tab changes the target (see ``ui.room.follow``)."""
    room.follow(choice_version, default_choice)


def update_choice(**changes: object) -> Choice:
    """Change the session's target (call from widget callbacks: it also resets the sidebar)."""
    new = _locked(replace(choice(), **changes))
    set_choice(new)
    sync_widgets(new)
    return new


def sync_widgets(c: Choice) -> None:
    """Show `c` in the sidebar's widgets (before they are drawn, or from a callback).

    Called before the sidebar is drawn: resets every widget when the target changed since they
    last showed it (here or in another tab), and any widget Streamlit left blank: a page switch
    made while a tab's first run is still going can hand the sidebar empty values."""
    values = {"sidebar_mode": c.mode, "sidebar_regions": list(c.regions),
              "sidebar_table": c.table, "sidebar_profile": c.profile or "",
              "sidebar_read_only": c.read_only}
    state = st.session_state
    changed = state.get(_WIDGETS_KEY) != state.get(_VERSION_KEY)
    for key, value in values.items():
        held = state.get(key)
        if changed or held is None or (held in ("", []) and value not in ("", [])):
            state[key] = value
    state[_WIDGETS_KEY] = state.get(_VERSION_KEY)


def emulator_lag_spec() -> str:
    return os.environ.get("GT_EMULATOR_LAG", "realistic")


def emulator_url() -> str | None:
    """An emulator started elsewhere, used instead of starting one: ``GT_EMULATOR_URL``, else the
    ``endpoint`` of the ``GT_CONFIG`` file."""
    url = os.environ.get("GT_EMULATOR_URL", "").strip() or _configured_endpoint(os.environ.get("GT_CONFIG", ""))
    return url.rstrip("/") or None


@functools.lru_cache(maxsize=4)
def _configured_endpoint(config_path: str) -> str:
    if not config_path:
        return ""
    try:
        return Target.from_sources(config_path=config_path, env={}).endpoint or ""
    except GtError:
        return ""  # a broken config file is reported where the target is built


def _start_child() -> EmulatorChild:
    return EmulatorChild.shared(EMULATOR_LAUNCHER, lag=emulator_lag_spec(),
                                replica_create_seconds=REPLICA_CREATE_SECONDS,
                                cwd=Path(__file__).resolve().parents[1])


@st.cache_resource(show_spinner="Starting the local Global Tables emulator…")
def _emulator_child() -> EmulatorChild:
    """The server's own emulator: one child process for every session, stopped with the server."""
    return _start_child()


@functools.cache
def start_emulator_early() -> None:
    """Start the server's emulator in the background, once per server, when the first session
    targets it: its boot (a second or more) then overlaps the dashboard's own imports and first
    drawing instead of following them. Whoever needs it next waits for the same child."""
    if emulator_url() is None and choice().is_emulator:
        threading.Thread(target=_start_child, name="gt-emulator-early-start", daemon=True).start()


def emulator_child() -> EmulatorChild | None:
    """The emulator this server started (None when ``emulator_url()`` names one started elsewhere)."""
    return None if emulator_url() else _emulator_child()


def emulator_endpoint() -> str:
    """The embedded emulator's URL (starts it on first use; EmulatorError if it cannot start)."""
    url = emulator_url()
    return url if url else _emulator_child().endpoint


def target_for(c: Choice) -> Target:
    """The gtcore Target for a choice (starts the emulator when the choice needs it)."""
    if c.is_emulator:
        return Target(regions=c.regions, table=c.table, endpoint=emulator_endpoint())
    return Target(regions=c.regions, table=c.table, profile=c.profile, read_only=c.read_only)


@st.cache_resource(show_spinner=False, max_entries=16)
def _connection(regions: tuple[str, ...], table: str, endpoint: str | None,
                profile: str | None, read_only: bool) -> Connection:
    return Connection(Target(regions=regions, table=table, endpoint=endpoint, profile=profile,
                             read_only=read_only))


def connection_for(t: Target) -> Connection:
    return _connection(t.regions, t.table, t.endpoint, t.profile, t.read_only)


def target() -> Target:
    return target_for(choice())


def connection() -> Connection:
    """The shared, thread-safe connection for this session's target."""
    return connection_for(target())


@st.cache_resource(show_spinner=False)
def shared_reads() -> TargetReads:
    """The reads every session of this server shares: each made once per interval per target."""
    return TargetReads()


def wrote() -> None:
    """This session changed its target: every session's next read of it is a new one."""
    shared_reads().changed(target())


def emulator() -> EmulatorControl | None:
    """The embedded emulator's control client when the session targets it, else None."""
    return EmulatorControl(emulator_endpoint()) if choice().is_emulator else None


def read_only() -> bool:
    """True when the session's target refuses writes (AWS with the read-only switch on)."""
    c = choice()
    return c.read_only and not c.is_emulator


def colours() -> dict[str, str]:
    """Region -> colour for this session's regions (the same on every page)."""
    return region_colours(choice().regions)


def session_object(key: str, default: object = None) -> object:
    """A per-session slot for running experiments and their results."""
    return st.session_state.get(key, default)
