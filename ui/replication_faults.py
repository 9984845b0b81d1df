"""The emulator's replication faults and health as a banner beside the figures they affect."""

from __future__ import annotations

import streamlit as st

from gtcore.probes.status import EmulatorHealth


def replication_fault_banner(health: EmulatorHealth | None) -> None:
    """One error line per problem the status probe learnt from the emulator (nothing when all
    is well, or when the target is not the emulator): the figures beside it are not the
    whole truth while a replica misses a write."""
    if health is None:
        return
    for line in health.summaries():
        st.error(line[0].upper() + line[1:], icon=":material/sync_problem:")
