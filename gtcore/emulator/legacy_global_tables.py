"""Global tables version 2017.11.29 (Legacy): CreateGlobalTable and the rest of its API, as AWS answers them.

A legacy global table binds same-named tables that already exist in several regions. AWS's
preconditions hold: each table exists, is empty (and so is every member already in the group),
has DynamoDB Streams on with NEW_AND_OLD_IMAGES, the same key schema, the same secondary index
names and keys, and the same billing mode and write capacity. Members replicate through the same
replication engine as version 2019.11.21 (lag, last writer wins), and `DescribeTable` in a member
shows `GlobalTableVersion: "2017.11.29"`.

Membership is the engine's replica group of the table name; a table is a legacy member when its
stored extras say so, so deleting the table or resetting moto forgets it, as AWS would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from gtcore.emulator.engine import ReplicationEngine
from gtcore.emulator.replica_settings import ReplicaSettings
from gtcore.emulator.replicas import ApiError
from gtcore.emulator.table_extras import Phase, TableExtrasStore
from gtcore.regions import is_known_region

LEGACY_VERSION = "2017.11.29"
MAX_LIST = 100


def _global_not_found(name: str) -> ApiError:
    return ApiError("GlobalTableNotFoundException", f"Global table not found: Global table with name: {name} "
                    "does not exist")


def _index_keys(indexes: list[Any]) -> dict[str, Any]:
    return {ix.name: ix.schema for ix in indexes}


class LegacyGlobalTables:
    version = LEGACY_VERSION

    def __init__(self, extras: TableExtrasStore, engine: ReplicationEngine, replica_settings: ReplicaSettings) -> None:
        self._extras = extras
        self._engine = engine
        self._replica_settings = replica_settings

    def handlers(self) -> dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]]:
        return {
            "CreateGlobalTable": self.create,
            "DescribeGlobalTable": self.describe,
            "ListGlobalTables": self.list,
            "UpdateGlobalTable": self.update,
            "DescribeGlobalTableSettings": self.describe_settings,
            "UpdateGlobalTableSettings": self.update_settings,
        }

    # -- membership ----------------------------------------------------------------------
    def group(self, name: str) -> dict[str, Table]:
        """region -> table of every legacy member of the global table `name` (empty: no such table)."""
        members = {}
        for region in sorted(self._engine.members(name)):
            table = self._extras.moto.table(region, name)
            extras = self._extras.peek(table) if table is not None else None
            if extras is not None and extras.legacy_since is not None:
                members[region] = table
        return members

    def is_legacy(self, region: str, name: str) -> bool:
        return region in self.group(name)

    def _existing(self, name: str) -> dict[str, Table]:
        group = self.group(name)
        if not group:
            raise _global_not_found(name)
        return group

    # -- preconditions -------------------------------------------------------------------
    def _joinable(self, region: str, name: str, like: Table | None) -> Table:
        if not is_known_region(region):
            raise ApiError("ValidationException", f"Region {region!r} is not a valid AWS region")
        table = self._extras.moto.table(region, name)
        if table is None:
            raise ApiError("TableNotFoundException", f"Table not found: Table: {name} not found in region {region}")
        if region in self._engine.members(name):
            raise ApiError("ReplicaAlreadyExistsException", f"Replica already exists: table {name} in {region} is "
                           "already a replica of a global table")
        spec = table.stream_specification or {}
        if not spec.get("StreamEnabled") or spec.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
            raise ApiError("ValidationException", f"Table {name} in {region} must have DynamoDB Streams enabled "
                           "with StreamViewType NEW_AND_OLD_IMAGES to be part of a global table")
        self._require_empty(region, table)
        if like is not None:
            self._require_same(region, table, like)
        return table

    def _require_empty(self, region: str, table: Table) -> None:
        with self._extras.moto.region_lock(region):
            empty = next(iter(table.all_items()), None) is None
        if not empty:
            raise ApiError("ValidationException", f"Table {table.name} in {region} is not empty: every replica of "
                           "a 2017.11.29 global table must contain no items when a replica is added")

    @staticmethod
    def _require_same(region: str, table: Table, like: Table) -> None:
        checks = [
            ("key schema", table.schema, like.schema),
            ("global secondary indexes (names and keys)", _index_keys(table.global_indexes),
             _index_keys(like.global_indexes)),
            ("local secondary indexes (names and keys)", _index_keys(table.indexes), _index_keys(like.indexes)),
            ("billing mode", table.billing_mode, like.billing_mode),
        ]
        if like.billing_mode == "PROVISIONED":
            checks.append(("provisioned write capacity", table.throughput.get("WriteCapacityUnits"),
                           like.throughput.get("WriteCapacityUnits")))
        for what, mine, theirs in checks:
            if mine != theirs:
                raise ApiError("ValidationException", f"Table {table.name} in {region} does not have the same "
                               f"{what} as the other replicas of the global table")

    def _join(self, region: str, table: Table) -> None:
        self._engine.add_replica(table.name, region, "ACTIVE")
        self._extras.of(table).legacy_since = self._extras.clock()

    # -- the API -------------------------------------------------------------------------
    def create(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GlobalTableName"]
        regions = [r["RegionName"] for r in request["ReplicationGroup"]]
        if len(set(regions)) != len(regions):
            raise ApiError("ValidationException", "ReplicationGroup names a region more than once")
        if self.group(name):
            raise ApiError("GlobalTableAlreadyExistsException", f"Global table with name: {name} already exists")
        tables: dict[str, Table] = {}
        for member in regions:
            tables[member] = self._joinable(member, name, next(iter(tables.values()), None))
        for member, table in tables.items():
            self._join(member, table)
        return {"GlobalTableDescription": self._description(name, self.group(name))}

    def describe(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GlobalTableName"]
        return {"GlobalTableDescription": self._description(name, self._existing(name))}

    def _description(self, name: str, group: dict[str, Table]) -> dict[str, Any]:
        since = min(self._extras.of(t).legacy_since or 0.0 for t in group.values())
        replicas = [{"RegionName": r, "ReplicaStatus": self._replica_status(t)} for r, t in group.items()]
        creating = any(r["ReplicaStatus"] == "CREATING" for r in replicas)
        return {
            "GlobalTableName": name,
            "GlobalTableArn": f"arn:aws:dynamodb::{self._extras.moto.account_id}:global-table/{name}",
            "CreationDateTime": since,
            "GlobalTableStatus": "CREATING" if creating else "ACTIVE",
            "ReplicationGroup": replicas,
        }

    def _replica_status(self, table: Table) -> str:
        since = self._extras.of(table).legacy_since or 0.0
        return self._extras.status(Phase("CREATING", "ACTIVE", since))

    def list(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        names = set()
        for backend in list(dynamodb_backends[self._extras.moto.account_id].values()):
            for table in list(backend.tables.values()):
                extras = self._extras.peek(table)
                if extras is not None and extras.legacy_since is not None:
                    names.add(table.name)
        wanted = request.get("RegionName")
        start = request.get("ExclusiveStartGlobalTableName")
        entries = []
        for name in sorted(names):
            group = self.group(name)
            if not group or (wanted and wanted not in group) or (start and name <= start):
                continue
            entries.append({"GlobalTableName": name, "ReplicationGroup": [{"RegionName": r} for r in group]})
        limit = min(request.get("Limit") or MAX_LIST, MAX_LIST)
        answer: dict[str, Any] = {"GlobalTables": entries[:limit]}
        if len(entries) > limit:
            answer["LastEvaluatedGlobalTableName"] = entries[limit - 1]["GlobalTableName"]
        return answer

    def update(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GlobalTableName"]
        group = self._existing(name)
        like = next(iter(group.values()))
        joining: dict[str, Table] = {}
        leaving: list[str] = []
        for update in request["ReplicaUpdates"]:
            if len(update) != 1:
                raise ApiError("ValidationException", "Each ReplicaUpdate holds exactly one of Create, Delete")
            (action, spec), = update.items()
            target = spec["RegionName"]
            if action == "Create":
                if target in group or target in joining:
                    raise ApiError("ReplicaAlreadyExistsException",
                                   f"Replica already exists: {target} is already a replica of global table {name}")
                for member, table in group.items():
                    self._require_empty(member, table)
                joining[target] = self._joinable(target, name, like)
            else:
                if target not in group or target in leaving:
                    raise ApiError("ReplicaNotFoundException",
                                   f"Replica not found: {target} is not a replica of global table {name}")
                leaving.append(target)
        for target, table in joining.items():
            self._join(target, table)
        for target in leaving:
            self._engine.remove_replica(name, target)
            self._extras.of(group[target]).legacy_since = None
        return {"GlobalTableDescription": self._description(name, self.group(name) or group)}

    # -- settings ------------------------------------------------------------------------
    def describe_settings(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GlobalTableName"]
        group = self._existing(name)
        return {"GlobalTableName": name, "ReplicaSettings": [self._replica_settings_of(r, t) for r, t in group.items()]}

    def _replica_settings_of(self, region: str, table: Table) -> dict[str, Any]:
        extras = self._extras.of(table)
        scaling = extras.auto_scaling
        disabled = {"AutoScalingDisabled": True}
        entry: dict[str, Any] = {
            "RegionName": region,
            "ReplicaStatus": self._replica_status(table),
            "ReplicaBillingModeSummary": {"BillingMode": table.billing_mode},
            "ReplicaProvisionedReadCapacityUnits": table.throughput.get("ReadCapacityUnits", 0),
            "ReplicaProvisionedWriteCapacityUnits": table.throughput.get("WriteCapacityUnits", 0),
            "ReplicaProvisionedReadCapacityAutoScalingSettings": scaling.get("read", disabled),
            "ReplicaProvisionedWriteCapacityAutoScalingSettings": scaling.get("write", disabled),
            "ReplicaGlobalSecondaryIndexSettings": [
                {"IndexName": ix.name, "IndexStatus": ix.status,
                 "ProvisionedReadCapacityUnits": ix.throughput.get("ReadCapacityUnits", 0),
                 "ProvisionedWriteCapacityUnits": ix.throughput.get("WriteCapacityUnits", 0),
                 "ProvisionedReadCapacityAutoScalingSettings": scaling.get((ix.name, "read"), disabled),
                 "ProvisionedWriteCapacityAutoScalingSettings": scaling.get((ix.name, "write"), disabled)}
                for ix in table.global_indexes
            ],
        }
        table_class = extras.replica_overrides.get("ReplicaTableClassSummary")
        if table_class:
            entry["ReplicaTableClassSummary"] = table_class
        return entry

    def update_settings(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        """Check the whole request against every replica first, then apply it: all or nothing."""
        name = request["GlobalTableName"]
        group = self._existing(name)
        like = next(iter(group.values()))
        mode = request.get("GlobalTableBillingMode", like.billing_mode)
        steps: list[Callable[[], None]] = []
        scaling: list[tuple[str, Any, dict[str, Any], str]] = []
        if "GlobalTableBillingMode" in request:
            steps += [lambda t=t: setattr(t, "billing_mode", mode) for t in group.values()]
            if mode == "PAY_PER_REQUEST":
                steps += [lambda t=t: t.throughput.update(ReadCapacityUnits=0, WriteCapacityUnits=0)
                          for t in group.values()]
        provisioned_only = [k for k in ("GlobalTableProvisionedWriteCapacityUnits",
                                        "GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate",
                                        "GlobalTableGlobalSecondaryIndexSettingsUpdate") if request.get(k)]
        provisioned_only += [k for u in request.get("ReplicaSettingsUpdate") or [] for k in u
                             if k not in ("RegionName", "ReplicaTableClass")]
        if provisioned_only and mode != "PROVISIONED":
            raise ApiError("ValidationException", f"{provisioned_only[0]} applies to provisioned capacity; global "
                           f"table {name} uses {mode}")
        if "GlobalTableProvisionedWriteCapacityUnits" in request:
            units = request["GlobalTableProvisionedWriteCapacityUnits"]
            steps += [lambda t=t: t.throughput.update(WriteCapacityUnits=units) for t in group.values()]
        if request.get("GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate"):
            scaling += [(r, "write", request["GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate"], "Write")
                        for r in group]
        for gsi in request.get("GlobalTableGlobalSecondaryIndexSettingsUpdate") or []:
            index = gsi["IndexName"]
            for member, table in group.items():
                target = self._gsi(table, index, member)
                if "ProvisionedWriteCapacityUnits" in gsi:
                    steps.append(lambda ix=target, u=gsi["ProvisionedWriteCapacityUnits"]:
                                 ix.throughput.update(WriteCapacityUnits=u))
                if gsi.get("ProvisionedWriteCapacityAutoScalingSettingsUpdate"):
                    scaling.append((member, (index, "write"), gsi["ProvisionedWriteCapacityAutoScalingSettingsUpdate"],
                                    "Write"))
        for replica in request.get("ReplicaSettingsUpdate") or []:
            member = replica["RegionName"]
            if member not in group:
                raise ApiError("ReplicaNotFoundException",
                               f"Replica not found: {member} is not a replica of global table {name}")
            table = group[member]
            if "ReplicaProvisionedReadCapacityUnits" in replica:
                steps.append(lambda t=table, u=replica["ReplicaProvisionedReadCapacityUnits"]:
                             t.throughput.update(ReadCapacityUnits=u))
            if replica.get("ReplicaProvisionedReadCapacityAutoScalingSettingsUpdate"):
                scaling.append((member, "read", replica["ReplicaProvisionedReadCapacityAutoScalingSettingsUpdate"],
                                "Read"))
            for gsi in replica.get("ReplicaGlobalSecondaryIndexSettingsUpdate") or []:
                target = self._gsi(table, gsi["IndexName"], member)
                if "ProvisionedReadCapacityUnits" in gsi:
                    steps.append(lambda ix=target, u=gsi["ProvisionedReadCapacityUnits"]:
                                 ix.throughput.update(ReadCapacityUnits=u))
                if gsi.get("ProvisionedReadCapacityAutoScalingSettingsUpdate"):
                    scaling.append((member, (gsi["IndexName"], "read"),
                                    gsi["ProvisionedReadCapacityAutoScalingSettingsUpdate"], "Read"))
            if "ReplicaTableClass" in replica:
                steps.append(lambda m=member, c=replica["ReplicaTableClass"]:
                             self._replica_settings.apply_update(name, m, {"TableClassOverride": c}))
        self._replica_settings.apply_auto_scaling(name, scaling)  # checks all its changes before storing any
        for step in steps:
            step()
        return self.describe_settings(region, {"GlobalTableName": name})

    @staticmethod
    def _gsi(table: Table, index: str, region: str) -> Any:
        for ix in table.global_indexes:
            if ix.name == index:
                return ix
        raise ApiError("IndexNotFoundException", f"Index not found: {index} does not exist on table {table.name} "
                       f"in {region}")
