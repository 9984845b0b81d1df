"""Setup: create the workshop's table, replicas, data and regional APIs; add regions; tear down."""

from __future__ import annotations

import streamlit as st

from gtcore.regions import REGIONS
from ui import session
from ui.catalog_view import catalog_grid
from ui.consistency_view import mode_picker
from ui.home import region_cards, status_report
from ui.layout import page_header
from ui.setup_view import add_region, ask_for, remove_region, run_requested_job
from ui.widgets import confirm, region_name

page_header(
    "Setup",
    "Everything the workshop needs: the `global-serverless` table, a replica in every region, "
    "the sample catalog and a regional API per region. Running it again changes nothing.",
)
choice = session.choice()
read_only = session.read_only()
if read_only:
    st.info("The target is read-only: setup, new replicas and teardown are switched off.",
            icon=":material/lock:")

st.subheader("Where things stand")
standing = st.container()  # filled last, so it shows what the buttons below just did

st.subheader("Set up everything")
problem = mode_picker(choice.regions, read_only)
if problem:
    st.warning(f"MRSC cannot be set up on these regions: {problem}. Pick them in the sidebar.",
               icon=":material/rule:")
st.button("Set up the workshop", type="primary", icon=":material/build:", disabled=read_only or bool(problem),
          key="setup_run", on_click=ask_for, args=("setup",))
run_requested_job("setup")

st.subheader("Add a region")
add_col, add_btn = st.columns([3, 1], vertical_alignment="bottom")
add_col.selectbox("Region for a new replica", [r for r in sorted(REGIONS)
                                               if r not in choice.regions],
                  format_func=region_name, key="setup_add_region")
add_btn.button("Add replica", icon=":material/add_circle:", disabled=read_only,
               key="setup_add", width="stretch", on_click=add_region)
run_requested_job("add")

st.subheader("Remove a region")
others = [r for r in choice.regions if r != choice.regions[0]]
doomed = st.selectbox("Replica to remove", others, index=None, format_func=region_name,
                      key="setup_remove_region", disabled=not others,
                      placeholder="pick the replica to remove" if others
                      else f"no replica besides the home region {choice.regions[0]}")
if doomed is not None:
    confirm(f"Remove the replica in {doomed}", key="remove_replica", disabled=read_only,
            warning=f"This deletes the copy of table `{choice.table}` in **{region_name(doomed)}**"
            f" (the other regions keep theirs) and takes {doomed} out of the dashboard's target."
            + (" On AWS this is a real deletion." if not choice.is_emulator else ""),
            typed=None if choice.is_emulator else doomed, on_confirm=remove_region)
run_requested_job("remove")

st.subheader("Tear down")
where = ", ".join(choice.regions)
confirm(f"Delete table {choice.table} everywhere", key="teardown", disabled=read_only,
        warning=f"This deletes table `{choice.table}` and every item in it in **{where}**"
        + (", and the regional API functions" if choice.is_emulator else "")
        + ". Only what setup created is removed."
        + (" On AWS this is a real deletion." if not choice.is_emulator else ""),
        typed=None if choice.is_emulator else choice.table,
        on_confirm=lambda: ask_for("teardown"))
run_requested_job("teardown")

st.subheader("The sample catalog")
catalog_grid()

with standing:
    report = status_report()
    if report is not None:
        region_cards(report)
