"""Live fragments: part of a page that redraws itself while something runs.

Every page with a running job (a probe, a lab, a drill, a diff) or a live toggle draws its
results in a fragment that reruns every few seconds while the job runs. When the job ends, one
full rerun of the page follows, so what depends on the job outside the fragment (a cancel
button, the live refresh itself, downloads) catches up with it::

    @live_fragment(1.0, lambda: is_running(running_probe()))
    def results() -> None:
        ...

    results()
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import streamlit as st

from gtcore.background import BackgroundRun

Body = Callable[[], None]


def is_running(run: BackgroundRun | None) -> bool:
    """True while ``run`` (a page's job, None before the first) is running."""
    return run is not None and run.running


def live_fragment(every_s: float, live: Callable[[], bool]) -> Callable[[Body], Body]:
    """A fragment that reruns every ``every_s`` seconds while ``live()`` holds.

    ``live()`` is asked when the page runs (is it live now?) and again after each live redraw:
    once it stops holding, the whole page reruns once, and the fragment stops refreshing.
    """

    def decorate(body: Body) -> Body:
        was_live = live()

        @st.fragment(run_every=every_s if was_live else None)
        @functools.wraps(body)  # the fragment's identity is the body's module and name
        def fragment() -> None:
            body()
            if was_live and not live():
                st.rerun()  # ended: one full rerun drops the refresh and what depends on it

        return fragment

    return decorate
