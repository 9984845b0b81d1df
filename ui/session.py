"""Long-lived objects shared by pages: the embedded emulator, the target and its connection.

The *choice* (emulator or AWS, regions, table, profile) lives in the browser session; the
emulator and the per-target connections are process-wide (`st.cache_resource`): every tab of the
same server sees the same emulator, as a room sees one projector.

Environment (read once, for the first choice of a session):

- ``GT_TARGET``: ``emulator`` (default) or ``aws``; ``aws`` is also the default when
  ``GT_CONFIG`` names a config file (see :meth:`gtcore.target.Target.from_sources`).
- ``GT_REGIONS``, ``GT_TABLE``, ``AWS_PROFILE``, ``GT_READ_ONLY``: the usual target settings;
  read-only set by ``GT_READ_ONLY`` is locked (see :func:`read_only_locked`).
- ``GT_EMULATOR_LAG``: the embedded emulator's lag model (default ``realistic``).
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import streamlit as st

from gtcore.errors import GtError
from gtcore.target import DEFAULT_REGIONS, DEFAULT_TABLE, Connection, Target
from ui.colours import region_colours

if TYPE_CHECKING:
    from gtcore.emulator import Emulator

Mode = Literal["emulator", "aws"]
_CHOICE_KEY = "gt_choice"
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
    return Choice(mode=mode, regions=base.regions, table=base.table,
                  profile=base.profile, read_only=base.read_only)


def read_only_locked() -> bool:
    """True when ``GT_READ_ONLY`` sets read-only: then nothing in the dashboard turns it off.

    Anything but an explicit false (unset, "", 0, false, no, off) locks it: a typo errs on the
    safe side."""
    return os.environ.get("GT_READ_ONLY", "").strip().lower() not in ("", "0", "false", "no", "off")


def _locked(c: Choice) -> Choice:
    return replace(c, read_only=True) if read_only_locked() and not c.read_only else c


def choice() -> Choice:
    if _CHOICE_KEY not in st.session_state:
        st.session_state[_CHOICE_KEY] = default_choice()
    return _locked(st.session_state[_CHOICE_KEY])


def set_choice(new: Choice) -> None:
    st.session_state[_CHOICE_KEY] = new


def update_choice(**changes: object) -> Choice:
    """Change the session's target (call from widget callbacks: it also resets the sidebar)."""
    new = _locked(replace(choice(), **changes))
    set_choice(new)
    sync_widgets(new)
    return new


def sync_widgets(c: Choice, *, only_missing: bool = False) -> None:
    """Show `c` in the sidebar's widgets (before they are drawn, or from a callback)."""
    values = {"sidebar_mode": c.mode, "sidebar_regions": list(c.regions),
              "sidebar_table": c.table, "sidebar_profile": c.profile or "",
              "sidebar_read_only": c.read_only}
    for key, value in values.items():
        if not only_missing or key not in st.session_state:
            st.session_state[key] = value


def emulator_lag_spec() -> str:
    return os.environ.get("GT_EMULATOR_LAG", "realistic")


_provided: list[Emulator] = []


def provide_emulator(emu: Emulator) -> None:
    """Use an emulator that already runs in this process instead of starting one.

    moto keeps one state per process, so there can be only one; tests that run pages in
    process (AppTest) hand theirs over with this before the first run.
    """
    _provided[:] = [emu]
    embedded_emulator.clear()


@st.cache_resource(show_spinner="Starting the local Global Tables emulator…")
def embedded_emulator() -> Emulator:
    """The process-wide emulator (started on first use, stopped when the server exits)."""
    if _provided:
        return _provided[0]
    from gtcore.emulator import Emulator

    running = Emulator.running()  # one per process: reuse one that other code started
    if running is not None:
        return running
    emu = Emulator(port=0, lag=emulator_lag_spec(),
                   replica_create_seconds=REPLICA_CREATE_SECONDS).start()
    atexit.register(emu.stop)
    return emu


def target_for(c: Choice) -> Target:
    """The gtcore Target for a choice (starts the emulator when the choice needs it)."""
    if c.is_emulator:
        return Target(regions=c.regions, table=c.table, endpoint=embedded_emulator().endpoint)
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


def emulator() -> Emulator | None:
    """The embedded emulator when the session targets it, else None."""
    return embedded_emulator() if choice().is_emulator else None


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
