"""The home page's pieces: status per region, a one-line verdict, and what to do next."""

from __future__ import annotations

import html

import streamlit as st

from gtcore.errors import GtError
from gtcore.probes.status import LEGACY_NOTE, RegionStatus, StatusReport
from ui import session
from ui.api_url_view import api_url_block
from ui.charts import region_bars
from ui.consistency_view import report_mode
from ui.layout import region_columns
from ui.messages import screen_words, show_error
from ui.widgets import chip_html, plot, region_header


def status_report() -> StatusReport | None:
    """Status of every region (concurrent, a moment on AWS, milliseconds on the emulator)."""
    try:
        with st.spinner("Asking every region…"):
            return session.shared_reads().status(session.connection(), count=True, count_limit=5000)
    except GtError as err:
        show_error(err)
        return None


def table_missing(report: StatusReport) -> bool:
    return all(r.error_kind == "not_found" for r in report.regions)


def verdict(r: RegionStatus) -> tuple[str, str]:
    """(colour, words) for one region, worst problem first."""
    if r.error:
        if r.error_kind == "not_found":
            return "#D55E00", "No table here"
        return "#D55E00", "Unreachable"
    if r.throttled:
        return "#D55E00", "API throttled"
    if r.table_status != "ACTIVE":
        return "#E69F00", r.table_status or "Unknown"
    if r.api is not None and not r.api.ok:
        return "#E69F00", "API down"
    if r.errors:
        return "#E69F00", "Partly readable"
    return "#009E73", "Healthy"


def _status_pill(colour: str, words: str) -> str:
    return (f'<span style="color:{colour};font-size:1.9rem;font-weight:800">● '
            f"{html.escape(words)}</span>")


def summary_banner(report: StatusReport) -> None:
    if mode := report_mode(report):
        st.markdown(f"**Consistency mode:** {mode}")
    if report.ok:
        st.success(f"All {len(report.regions)} regions healthy and replicating: a write in any "
                   "of them reaches the others within seconds.", icon=":material/check_circle:")
        return
    problems = [f"{r.region}: {verdict(r)[1].lower()}" for r in report.regions
                if not r.healthy]
    problems += [f"{m}: not a replica of the table yet" for m in report.missing_replicas()]
    if report.emulator is not None and not report.emulator.ok:
        problems.append("the emulator reports replication problems (below)")
    st.warning("Needs attention — " + "; ".join(problems), icon=":material/report:")


def _api_line(r: RegionStatus) -> str:
    if r.api is None:
        return "API not checked"
    if r.api.ok:
        db = f", DynamoDB {r.api.db_latency_ms:.0f} ms" if r.api.db_latency_ms is not None else ""
        return f"API answers in {r.api.rtt_ms:.0f} ms{db}"
    return f"API: {screen_words(r.api.error) if r.api.error else 'HTTP ' + str(r.api.status)}"


def region_card(r: RegionStatus, missing: bool) -> None:
    region_header(r.region)
    colour, words = verdict(r)
    if missing and not r.error:
        colour, words = "#E69F00", "Not replicated"
    st.markdown(_status_pill(colour, words), unsafe_allow_html=True)
    if r.error:
        if r.error_kind == "not_found":
            st.markdown(f"Table `{session.choice().table}` does not exist here yet: create it on "
                        "**Setup**.")
        else:
            st.caption(screen_words(r.error))
        return
    items = r.counted_items if r.counted_items is not None else r.item_count
    more = "+" if r.count_truncated else ""
    st.markdown(f"**{items if items is not None else '?'}{more}** items · table "
                f"{r.table_status}")
    st.markdown(_api_line(r))
    if r.legacy:
        st.markdown(LEGACY_NOTE[0].upper() + LEGACY_NOTE[1:])
    if r.api is not None and r.api.url:
        with st.expander("Regional API URL", icon=":material/link:"):  # tall: open on demand
            api_url_block(r.api.url)
    if r.throttled:
        st.markdown(f"Function `{r.function_name}` reserved concurrency **0**")
    if r.replicas:
        chips = " ".join(chip_html(peer, label=f"{peer} {status.lower()}")
                         for peer, status in sorted(r.replicas.items()))
        st.markdown(f"Replicates with {chips}", unsafe_allow_html=True)
    for part, message in r.errors.items():
        if part != "api":
            st.caption(f"{part}: {screen_words(message)}")


def region_cards(report: StatusReport) -> None:
    missing = set(report.missing_replicas())
    regions = [r.region for r in report.regions]
    by_region = report.by_region()
    for region, box in region_columns(regions):
        with box:
            region_card(by_region[region], region in missing)
    counts = {r.region: (r.counted_items if r.counted_items is not None else r.item_count)
              for r in report.regions if not r.error}
    if any(v is not None for v in counts.values()):
        plot(region_bars(counts, regions, title="Items in each replica", unit="items"),
             key="home_items")
    st.caption(f"Checked at {str(report.checked_at)[11:19]} UTC in {report.elapsed_ms:.0f} ms.")


def next_steps(report: StatusReport) -> None:
    """Links to the page that fixes the first problem, else to the demos."""
    st.subheader("What next")
    if table_missing(report):
        st.page_link("pages/setup.py", label="Create the table and its replicas on Setup",
                     icon=":material/build:")
        return
    if report.missing_replicas():
        st.page_link("pages/setup.py", label="Add the missing replicas on Setup",
                     icon=":material/add_circle:")
    if any(r.throttled for r in report.regions):
        st.page_link("pages/region_failure.py", label="Restore the throttled region",
                     icon=":material/power:")
    if any(r.error and r.error_kind != "not_found" for r in report.regions):
        fix = ("heal it there if it is isolated" if session.choice().is_emulator
               else "see which regions answer")
        st.page_link("pages/region_failure.py", label=f"An unreachable region: {fix}",
                     icon=":material/cloud_off:")
    st.page_link("pages/replicas_live.py", label="Write in one region, watch the others "
                 "catch up", icon=":material/sync:")
    st.page_link("pages/conflicts.py", label="Make two regions disagree (last writer wins)",
                 icon=":material/call_split:")
    st.page_link("pages/region_failure.py", label="Take a region down, fail over, lose nothing",
                 icon=":material/power_off:")
    st.page_link("pages/replication_lag.py", label="Measure replication lag against physics",
                 icon=":material/timer:")
