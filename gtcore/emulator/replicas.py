"""The Global Tables control plane (version 2019.11.21) over moto's per-region tables.

`UpdateTable(ReplicaUpdates=[{"Create": {"RegionName": R}}])` makes a real table in R with the
same keys, indexes, billing mode, streams and TTL setting, backfills the existing items in a
background thread (CREATING, with ReplicaStatusPercentProgress) and marks it ACTIVE; writes made
meanwhile are already replicated to it. `{"Delete": ...}` marks it DELETING, stops replication
to it and removes the table. `DescribeTable` in any member region shows GlobalTableVersion and
the other members under Replicas, as AWS does.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.dynamodb.models.table import Table

from gtcore.emulator.engine import ReplicationEngine
from gtcore.emulator.store import MotoStore
from gtcore.regions import is_known_region

if TYPE_CHECKING:
    from gtcore.emulator.legacy_global_tables import LegacyGlobalTables
    from gtcore.emulator.replica_settings import ReplicaSettings

GLOBAL_TABLE_VERSION = "2019.11.21"


@dataclass
class ApiError(Exception):
    """An error the emulator answers in the AWS protocol of the request."""

    code: str
    message: str
    status: int = 400


def _not_found(table: str, region: str) -> ApiError:
    return ApiError(
        "ResourceNotFoundException", f"Requested resource not found: Table: {table} not found in {region}"
    )


def _create_params(table: Table) -> dict[str, Any]:
    """What moto's create_table needs to make an identical table elsewhere."""
    def pick(index: Any, keys: tuple[str, ...]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in index.describe().items() if k in keys}

    gsis = [pick(ix, ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")) for ix in table.global_indexes]
    lsis = [pick(ix, ("IndexName", "KeySchema", "Projection")) for ix in table.indexes]
    throughput = {
        k: v for k, v in table.throughput.items() if k in ("ReadCapacityUnits", "WriteCapacityUnits")
    }
    return {
        "schema": copy.deepcopy(table.schema),
        "throughput": throughput if table.billing_mode != "PAY_PER_REQUEST" else None,
        "attr": copy.deepcopy(table.attr),
        "global_indexes": gsis,
        "indexes": lsis,
        "streams": copy.deepcopy(table.stream_specification)
        if table.stream_specification and table.stream_specification.get("StreamEnabled")
        else None,
        "billing_mode": table.billing_mode,
        "sse_specification": None,
        "tags": [],
        "deletion_protection_enabled": False,
        "warm_throughput": None,
    }


class ReplicaManager:
    def __init__(
        self, store: MotoStore, engine: ReplicationEngine, *, create_seconds: float = 2.0
    ) -> None:
        self._store = store
        self._engine = engine
        self.create_seconds = create_seconds
        self._progress: dict[tuple[str, str], int] = {}  # (table, region) -> percent
        self._lock = threading.Lock()
        self._settings: ReplicaSettings | None = None
        self._legacy: LegacyGlobalTables | None = None

    def attach(self, settings: ReplicaSettings, legacy: LegacyGlobalTables) -> None:
        """Per-replica overrides (ReplicaUpdates Update) and 2017.11.29 global tables, kept elsewhere."""
        self._settings, self._legacy = settings, legacy

    # -- UpdateTable ---------------------------------------------------------------------
    def apply_replica_updates(self, region: str, table_name: str, updates: list[dict[str, Any]]) -> None:
        if self._store.table(region, table_name) is None:
            raise _not_found(table_name, region)
        if not isinstance(updates, list) or not updates:
            raise ApiError("ValidationException", "ReplicaUpdates must be a non-empty list")
        if self._legacy is not None and self._legacy.is_legacy(region, table_name):
            raise ApiError("ValidationException", f"Table {table_name} is a replica of a version 2017.11.29 "
                           "global table: change its replicas with UpdateGlobalTable, or upgrade it to "
                           "version 2019.11.21 first")
        for update in updates:
            if not isinstance(update, dict) or len(update) != 1:
                raise ApiError("ValidationException", "Each ReplicaUpdate holds exactly one of Create, Update, Delete")
            (action, spec), = update.items()
            target = (spec or {}).get("RegionName") if isinstance(spec, dict) else None
            if not isinstance(target, str) or not target:
                raise ApiError("ValidationException", f"ReplicaUpdates {action}: RegionName is required")
            if action == "Create":
                self._create(region, table_name, target)
            elif action == "Delete":
                self._delete(region, table_name, target)
            elif action == "Update":
                self._require_member(table_name, target)
                if self._settings is not None:
                    self._settings.apply_update(table_name, target, spec)
            else:
                raise ApiError("ValidationException", f"Unknown replica update {action!r}")

    def _require_member(self, table_name: str, region: str) -> None:
        if region not in self._engine.members(table_name):
            raise ApiError(
                "ValidationException",
                f"Replica in region {region} does not exist for table {table_name}",
            )

    def _create(self, source: str, table_name: str, target: str) -> None:
        if not is_known_region(target):
            raise ApiError("ValidationException", f"Region {target!r} is not a valid AWS region")
        members = self._engine.members(table_name)
        if target == source or target in members or self._store.table(target, table_name) is not None:
            raise ApiError(
                "ValidationException",
                f"Failed to create a new replica of table with name: '{table_name}' because one or "
                f"more replicas already existed as tables (region {target}).",
            )
        with self._store.region_lock(source):
            params = _create_params(self._store.table(source, table_name))
            ttl = copy.deepcopy(self._store.table(source, table_name).ttl)
        with self._store.region_lock(target):
            created = self._store.backend(target).create_table(table_name, **params)
            created.ttl = ttl
        if source not in members:
            self._engine.add_replica(table_name, source, "ACTIVE")
        self._engine.add_replica(table_name, target, "CREATING")
        self._progress[(table_name, target)] = 0
        threading.Thread(
            target=self._backfill, args=(source, table_name, target), daemon=True, name=f"backfill-{target}"
        ).start()

    def _backfill(self, source: str, table_name: str, target: str) -> None:
        with self._store.region_lock(source):
            items = self._store.snapshot(source, table_name)
            stamps = [self._engine.stamp_of(source, table_name, key) for key, _ in items]
        steps = max(1, min(10, len(items)))
        chunk = max(1, -(-len(items) // steps))
        for start in range(0, max(len(items), 1), chunk):
            batch = list(zip(items[start : start + chunk], stamps[start : start + chunk], strict=True))
            with self._store.region_lock(target):
                if target not in self._engine.members(table_name):
                    return  # deleted while creating
                for (key, image), stamp in batch:
                    if self._engine.seed_stamp(target, table_name, key, stamp or (0.0, source)):
                        self._store.apply(target, table_name, key, image)
            done = min(len(items), start + chunk)
            self._progress[(table_name, target)] = int(100 * done / max(len(items), 1))
            time.sleep(self.create_seconds / steps)
        self._progress.pop((table_name, target), None)
        self._engine.set_status(table_name, target, "ACTIVE")

    def _delete(self, source: str, table_name: str, target: str) -> None:
        self._require_member(table_name, target)
        if len(self._engine.members(table_name)) <= 1:
            raise ApiError(
                "ValidationException",
                f"Cannot delete the last replica of table {table_name}: use DeleteTable instead",
            )
        self._engine.set_status(table_name, target, "DELETING")
        threading.Thread(
            target=self._finish_delete, args=(table_name, target), daemon=True, name=f"delete-{target}"
        ).start()

    def _finish_delete(self, table_name: str, target: str) -> None:
        time.sleep(min(1.0, self.create_seconds / 2))
        with self._store.region_lock(target):
            self._engine.remove_replica(table_name, target)
            self._store.backend(target).tables.pop(table_name, None)
        # A group left with one member stays a single-region global table, as in AWS.

    # -- other control-plane calls -------------------------------------------------------
    def table_deleted(self, region: str, table_name: str) -> None:
        """DeleteTable in a member region removes that replica from the group."""
        self._engine.remove_replica(table_name, region)

    def ttl_updated(self, region: str, table_name: str) -> None:
        """A TTL setting made in one member applies to every replica, as in AWS."""
        source = self._store.table(region, table_name)
        if source is None:
            return
        for member in self._engine.members(table_name):
            table = self._store.table(member, table_name)
            if member != region and table is not None:
                with self._store.region_lock(member):
                    table.ttl = copy.deepcopy(source.ttl)

    # -- DescribeTable -------------------------------------------------------------------
    def describe_extras(self, region: str, table_name: str) -> dict[str, Any]:
        members = self._engine.members(table_name)
        if region not in members:
            return {}
        if self._legacy is not None and self._legacy.is_legacy(region, table_name):
            return {"GlobalTableVersion": self._legacy.version}
        more = self._settings.replica_fields if self._settings is not None else lambda table, member: {}
        busy = any(status in ("CREATING", "DELETING") for status in members.values())
        own = members[region]
        replicas = []
        for member, status in sorted(members.items()):
            if member == region:
                continue
            entry: dict[str, Any] = {"RegionName": member, "ReplicaStatus": status}
            if status == "CREATING":
                entry["ReplicaStatusPercentProgress"] = str(self._progress.get((table_name, member), 0))
            replicas.append({**entry, **more(table_name, member)})
        status = own if own in ("CREATING", "DELETING") else ("UPDATING" if busy else "ACTIVE")
        own_fields = self._settings.own_fields(table_name, region) if self._settings is not None else {}
        return {"GlobalTableVersion": GLOBAL_TABLE_VERSION, "Replicas": replicas, "TableStatus": status, **own_fields}
