"""TTL expiry: items whose TTL attribute is in the past are deleted, and the delete replicates.

AWS deletes expired items in the background (usually within days; here within a few seconds so
the behaviour can be seen). Items whose TTL value is not a number, or is more than five years in
the past, are left alone, as AWS does. In a global table one replica (the first ACTIVE, reachable
member by name) expires items and the deletes replicate to the others, rather than every
replica deleting the same item and replicating its own delete.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from moto.dynamodb.models import dynamodb_backends

from gtcore.emulator.store import capture

if TYPE_CHECKING:
    from gtcore.emulator import Emulator

FIVE_YEARS = 5 * 365 * 24 * 3600


def sweep_once(emu: Emulator, now: float | None = None) -> int:
    """Delete every expired item in every region; returns how many were deleted."""
    now = time.time() if now is None else now
    deleted = 0
    for region, backend in list(dynamodb_backends[emu.store.account_id].items()):
        for table in list(backend.tables.values()):
            if not _sweeps_here(emu, region, table.name):
                continue
            ttl = table.ttl
            attr = ttl.get("AttributeName")
            if ttl.get("TimeToLiveStatus") != "ENABLED" or not attr:
                continue
            with emu.store.region_lock(region), capture() as touched:
                for item in table.all_items():
                    value = item.attrs.get(attr)
                    if value is None or value.type != "N":
                        continue
                    try:
                        expires = float(value.value)
                    except ValueError:
                        continue
                    if now - FIVE_YEARS < expires < now:
                        table.delete_item(item.hash_key, item.range_key)
                        deleted += 1
                emu.record_writes(touched)
    return deleted


def _sweeps_here(emu: Emulator, region: str, table: str) -> bool:
    members = emu.engine.members(table)
    if not members:
        return True  # a plain table
    live = sorted(r for r, status in members.items() if status == "ACTIVE" and not emu.is_isolated(r))
    return bool(live) and live[0] == region


def run_sweeper(emu: Emulator, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        sweep_once(emu)
