"""Data-explorer pieces: the same query in every region side by side, and the replica diff."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import streamlit as st

from gtcore.background import BackgroundCall
from gtcore.errors import GtError
from gtcore.harness import Harness
from gtcore.probes.diff import DiffProgress, DiffReport, ItemDiff, diff_replicas, plain_item
from gtcore.regional_client import ApiReply
from ui import session
from ui.layout import region_columns
from ui.messages import screen_words, show_error
from ui.widgets import region_header

DIFF_KEY = "explorer_diff"


def items_frame(items: list[dict[str, Any]]) -> pd.DataFrame:
    """DynamoDB-JSON items as a table: PK, SK and what a room reads (title, Bookmark) first,
    then the other attributes A-Z."""
    rows = [plain_item(i) or {} for i in items]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    first = [c for c in ("PK", "SK", "title", "Bookmark") if c in frame.columns]
    rest = sorted(c for c in frame.columns if c not in first)
    frame = frame[first + rest]
    return frame.map(lambda v: "—" if v is None or (isinstance(v, float) and v != v) else (
        v if isinstance(v, str | int | float | bool) else str(v)))


def read_everywhere(pk: str | None, consistent: bool) -> dict[str, ApiReply | GtError]:
    """Query `pk` (or scan when None) through every region's API, concurrently."""
    h = Harness.for_connection(session.connection())
    return h.read_everywhere(session.choice().regions, pk, consistent=consistent)


def read_from_form() -> None:
    """Form callback (and first visit): read with the form's settings, keep the replies."""
    state = st.session_state
    pk = str(state.get("explorer_pk", "library")).strip()
    scan = state.get("explorer_mode", "Query") == "Scan" or not pk
    state["explorer_replies"] = read_everywhere(None if scan else pk,
                                                bool(state.get("explorer_consistent", False)))


def side_by_side(replies: dict[str, ApiReply | GtError]) -> None:
    for region, box in region_columns(list(replies), per_row=min(3, len(replies)),
                                      border=True):
        with box:
            reply = replies[region]
            region_header(region)
            if isinstance(reply, GtError):
                show_error(reply)
                continue
            items = reply.body.get("Items") or []
            frame = items_frame(items)
            more = " (first page only)" if reply.body.get("Truncated") else ""
            st.caption(f"{len(items)} items{more} · DynamoDB "
                       f"{reply.db_latency_ms or 0:.0f} ms · round trip {reply.rtt_ms:.0f} ms")
            st.dataframe(frame, hide_index=True, width="stretch", height=min(420, 38 + 35 *
                                                                              max(1, len(frame))))


# --- the replica diff -----------------------------------------------------------------------------


def start_diff() -> None:
    """Button callback: compare the replicas in a background thread."""
    settle_seconds = float(st.session_state.get("diff_settle", 3.0))
    old: BackgroundCall | None = st.session_state.get(DIFF_KEY)
    if old is not None and old.running:
        old.cancel()
    conn = session.connection()

    def work(progress, cancel: threading.Event) -> DiffReport:
        return diff_replicas(conn, settle_seconds=settle_seconds, progress=progress,
                             cancel=cancel)

    st.session_state[DIFF_KEY] = BackgroundCall("replica diff", work).start()


def diff_job() -> BackgroundCall | None:
    return st.session_state.get(DIFF_KEY)


def diff_progress(job: BackgroundCall) -> None:
    p: DiffProgress | None = job.progress()
    if job.running:
        if p is None:
            st.progress(0.0, text="Starting…")
        else:
            phase = {"scan": "Scanning every replica", "settle": "Waiting for replication "
                     "to settle", "recheck": "Re-reading the keys that differed"}.get(
                         p.phase, p.phase)
            st.progress(min(1.0, p.done / p.total) if p.total else 0.0,
                        text=f"{phase}: {p.done}/{p.total} · {p.items} items · "
                        f"{p.candidates} candidates · {job.elapsed_s:.0f} s")
    if job.error is not None:
        show_error(job.error)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def held_regions() -> dict[str, str]:
    """Regions whose replication the emulator holds on purpose: region -> why ({} on AWS)."""
    emu = session.emulator()
    if emu is None:
        return {}
    try:
        state = emu.state()
    except GtError:
        return {}
    table = session.choice().table
    held = {r: "isolated" for r in state.get("isolated", [])}
    held.update({p["region"]: "replication paused" for p in state.get("paused", [])
                 if p.get("table") == table})
    return held


def difference(d: ItemDiff) -> str:
    """What differs, with each region's value: 'Bookmark: us-west-2 5 · eu-west-1 4'."""
    parts = []
    for name in d.differing_attributes:
        values = " · ".join(f"{r} {'—' if img is None else img.get(name, '(none)')}"
                            for r, img in d.images.items())
        parts.append(f"{name}: {values}")
    return "; ".join(parts) or "—"


def diff_result(report: DiffReport) -> None:
    if report.cancelled:
        st.warning("The diff was cancelled before it finished.")
        return
    for region, message in report.errors.items():
        st.warning(f"**{region}** could not be compared: {screen_words(message)}",
                   icon=":material/cloud_off:")
    held = held_regions()
    diffs = [*report.divergent, *report.unsettled]
    explained = {r for d in diffs for r in (*d.missing_in, *d.images) if r in held}
    for region in sorted(explained):
        st.warning(f"Replication into **{region}** is held on purpose ({held[region]}): its "
                   "differences are expected and catch up once you press **Resume replication** "
                   "or **Heal** on **Region failure**.", icon=":material/pause_circle:")
    keys = len(report.divergent)
    if report.ok:
        st.success(f"All replicas agree ({plural(report.settled, 'key')} caught up while "
                   "the diff waited).", icon=":material/verified:")
    elif report.divergent and not explained:
        st.error(f"The replicas disagree on {plural(keys, 'key')} after the settle interval.",
                 icon=":material/difference:")
    elif report.divergent:
        st.info(f"{plural(keys, 'key')} differ while replication is held.",
                icon=":material/pause_circle:")
    if diffs:
        def state(d: ItemDiff, settled: bool) -> str:
            regions = [r for r in (*d.missing_in, *d.images) if r in held]
            if regions:
                return f"{held[regions[0]]} in {regions[0]}"
            return "divergent" if settled else "still changing"

        rows = [{"key": ", ".join(f"{k}={v}" for k, v in d.key.items()),
                 "missing in": ", ".join(d.missing_in) or "—",
                 "differs": difference(d), "state": state(d, settled)}
                for settled, group in ((True, report.divergent), (False, report.unsettled))
                for d in group]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", row_height=38,
                     height=38 * (min(len(rows), 15) + 1) + 3)
    scanned = ", ".join(f"{r} {plural(n, 'item')}" for r, n in report.scanned.items())
    st.caption(f"{plural(report.candidates, 'key')} differed in the first scan; "
               f"{report.settled} of them were replication in flight and agreed after the settle "
               f"interval. Scanned {scanned} in {report.elapsed_ms / 1000:.1f} s.")
