"""Setup page pieces: provisioning and teardown with progress, replicas added and removed, and
the dashboard provisioning the emulator by itself (once per table and region set)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

import pandas as pd
import streamlit as st

from gtcore.errors import GtError
from gtcore.target import Connection, Target
from gtcore.workshop import (
    WorkshopProgress,
    WorkshopReport,
    provision_workshop,
    remove_replica,
    teardown_workshop,
)
from gtcore.workshop.report import CHANGED
from ui import session
from ui.consistency_view import chosen_mode, forget_modes
from ui.messages import screen_words, show_error

Job = Callable[[Callable[[WorkshopProgress], None]], WorkshopReport]


@st.cache_resource(show_spinner=False)
def _auto_provision_registry() -> tuple[threading.Lock, set[tuple[str, str, tuple[str, ...]]]]:
    """Process-wide: which (endpoint, table, regions) the dashboard already set up by itself."""
    return threading.Lock(), set()


def run_with_progress(label: str, job: Job, *, expanded: bool = True) -> WorkshopReport | None:
    """Run a setup job in this script run, showing each step as it happens."""
    with st.status(label, expanded=expanded) as box:
        bar = st.progress(0.0)
        line = st.empty()

        def progress(p: WorkshopProgress) -> None:
            if p.fraction is not None:
                bar.progress(min(1.0, max(0.0, p.fraction)))
            where = f"**{p.region}** · " if p.region else ""
            waiting = ""
            if p.replicas:
                waiting = " · " + ", ".join(f"{r} {s}" for r, s in sorted(p.replicas.items()))
            line.markdown(f"{where}{p.message}{waiting}")

        try:
            report = job(progress)
        except GtError as err:
            box.update(label=f"{label}: stopped", state="error", expanded=True)
            show_error(err)
            return None
        finally:  # done or not, the job changed things: no session keeps reading the old state
            session.shared_reads().changed()
        box.update(label=f"{label}: {outcome(report)}",
                   state="complete" if report.ok else "error", expanded=not report.ok)
        report_table(report)
    return report


def outcome(report: WorkshopReport) -> str:
    """The report in a few words for the screen (no endpoint URLs, no "change(s)")."""
    if not report.ok:
        n = len(report.failures)
        return f"{n} {'step' if n == 1 else 'steps'} failed ({report.seconds:.1f} s)"
    n = sum(s.outcome in CHANGED for s in report.steps)
    if n:
        return f"done, {n} {'change' if n == 1 else 'changes'} in {report.seconds:.1f} s"
    return "nothing to do, everything was already " + ("in place" if report.operation == "up"
                                                        else "gone")


def report_table(report: WorkshopReport) -> None:
    rows = [{"step": s.action, "region": s.region or "—", "outcome": s.outcome,
             "detail": screen_words(s.detail or "") or "—", "seconds": round(s.seconds, 1)}
            for s in report.steps]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def provision_job(conn: Connection, *, load_data: bool = True, consistency: str = "EVENTUAL",
                  witness: str | None = None) -> Job:
    return lambda progress: provision_workshop(conn, progress=progress, load_data=load_data,
                                               consistency=consistency, witness=witness)


def teardown_job(conn: Connection) -> Job:
    return lambda progress: teardown_workshop(conn, progress=progress)


JOB_KEY = "setup_requested"


def ask_for(job: str) -> None:
    """Button callback: remember which job to run; the page runs it with its progress."""
    st.session_state[JOB_KEY] = job


def _page_provisions(regions: tuple[str, ...]) -> None:
    """The Setup page runs this region set's job itself: automatic setup need not."""
    c = session.choice()
    if c.is_emulator:
        target = session.target_for(replace(c, regions=regions))
        _auto_provision_registry()[1].add(_registry_key(target))


def _registry_key(target: Target) -> tuple[str, str, tuple[str, ...]]:
    return (target.endpoint or "", target.table, target.regions)


def add_region() -> None:
    """Button callback: add the picked region to the target, then set up its replica."""
    region = st.session_state.get("setup_add_region")
    c = session.choice()
    if region and region not in c.regions:
        _page_provisions((*c.regions, region))
        session.update_choice(regions=(*c.regions, region))
        st.session_state[JOB_KEY] = f"add:{region}"


def remove_region() -> None:
    """Confirm callback: drop the picked region from the target, then remove its replica."""
    region = st.session_state.get("setup_remove_region")
    c = session.choice()
    if region and region in c.regions and len(c.regions) > 1:
        remaining = tuple(r for r in c.regions if r != region)
        _page_provisions(remaining)
        session.update_choice(regions=remaining)
        st.session_state[JOB_KEY] = f"remove:{region}"


def run_requested_job(kind: str) -> None:
    """Run the job a button asked for (once), with progress, if it is of this `kind` (setup,
    add, remove, teardown): each section calls it under its own button, so the progress shows
    where the person is looking, not at the top of the page."""
    job = st.session_state.get(JOB_KEY)
    if job is None or job.split(":", 1)[0] != kind:
        return
    del st.session_state[JOB_KEY]
    forget_modes()  # the job may create or delete the table: the headers read its mode again
    try:
        conn = session.connection()
        if job.startswith("remove:"):  # ask through a target that still lists the region
            region = job.split(":", 1)[1]
            with_region = replace(session.choice(), regions=(*conn.target.regions, region))
            conn = session.connection_for(session.target_for(with_region))
    except GtError as err:
        show_error(err)
        return
    if job == "setup":
        consistency, witness = chosen_mode()
        run_with_progress("Setting up the workshop", provision_job(conn, consistency=consistency, witness=witness))
    elif job == "teardown":
        run_with_progress("Tearing down", teardown_job(conn))
    elif job.startswith("add:"):
        run_with_progress(f"Adding a replica in {job[4:]}", provision_job(conn, load_data=False))
    elif job.startswith("remove:"):
        region = job.split(":", 1)[1]
        run_with_progress(f"Removing the replica in {region}",
                          lambda progress: remove_replica(conn, region, progress=progress))


def auto_provision() -> None:
    """On the emulator, set the workshop up once per table and region set, with progress.

    Real AWS is never changed without a click on the Setup page.
    """
    if not session.choice().is_emulator:
        return
    try:
        conn = session.connection()
    except GtError as err:
        show_error(err)
        return
    key = _registry_key(conn.target)
    lock, done = _auto_provision_registry()
    if key in done:
        return
    with lock:
        if key in done:
            return
        shown = st.empty()  # cleared when it worked: the page's title comes first again
        with shown.container():
            report = run_with_progress(
                f"Setting up the workshop on the local emulator ({', '.join(key[2])})",
                provision_job(conn), expanded=True)
        done.add(key)
    if report is not None and report.ok:
        shown.empty()
        st.toast("Workshop ready on the local emulator", icon=":material/check_circle:")
