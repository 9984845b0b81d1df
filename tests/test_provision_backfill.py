"""Provisioning writes the sample data before it adds the replicas: each new replica is backfilled
with it, so reading it back there waits for no replication (cold start of the dashboard)."""

from __future__ import annotations

import pytest

from gtcore.target import Connection, Target
from gtcore.workshop import WorkshopProgress, provision_workshop, teardown_workshop

TWO = ("us-west-2", "eu-west-1")


@pytest.mark.slow  # a provisioning run: seconds
def test_new_replicas_hold_the_sample_data_from_the_start(emulator, unique_table) -> None:
    conn = Connection(Target(regions=TWO, table=unique_table, endpoint=emulator.endpoint))
    before = emulator.lag_description()
    emulator.set_lag("fixed:3000")  # replication far slower than the read-back's first look
    seen: list[WorkshopProgress] = []
    try:
        report = provision_workshop(conn, progress=seen.append)
    finally:
        emulator.set_lag(before)
        teardown_workshop(conn)
    assert report.ok, report.summary()
    order = [s.action.split(" (")[0] for s in report.steps]
    assert order.index("sample data") < order.index(f"replica of {unique_table}")
    waited = [p.message for p in seen if "not replicated yet" in p.message]
    assert waited == [], waited  # eu-west-1 held every item at its first read-back
