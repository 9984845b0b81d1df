"""Per-replica settings of a global table: `UpdateTable` ReplicaUpdates `Update` overrides and replica auto scaling.

An `Update` replica action (TableClassOverride, ProvisionedThroughputOverride,
OnDemandThroughputOverride, KMSMasterKeyId, per-index overrides) is stored on that replica's
table and shows in every member's `DescribeTable` Replicas entry for it, as in AWS.
`DescribeTableReplicaAutoScaling` / `UpdateTableReplicaAutoScaling` keep auto scaling settings
per replica: write capacity settings apply to every replica (writes are global), read capacity
settings to the replica named. Nothing scales: the emulator has no capacity to scale.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb.models.table import Table

from gtcore.emulator.engine import ReplicationEngine
from gtcore.emulator.replicas import ApiError
from gtcore.emulator.table_extras import TableExtrasStore

AUTO_SCALING_ROLE = ("arn:aws:iam::{account}:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/"
                     "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable")
TARGET_UTILIZATION = (20.0, 90.0)  # percent, the range DynamoDB's target tracking accepts


class ReplicaSettings:
    def __init__(self, extras: TableExtrasStore, engine: ReplicationEngine) -> None:
        self._extras = extras
        self._engine = engine

    def handlers(self) -> dict[str, Any]:
        return {"DescribeTableReplicaAutoScaling": self.describe_auto_scaling,
                "UpdateTableReplicaAutoScaling": self.update_auto_scaling}

    # -- UpdateTable ReplicaUpdates Update ------------------------------------------------
    def apply_update(self, table_name: str, region: str, spec: dict[str, Any]) -> None:
        """Store one replica's overrides (the caller checked that `region` is a member)."""
        table = self._extras.table(region, table_name)
        if "ProvisionedThroughputOverride" in spec and table.billing_mode != "PROVISIONED":
            raise ApiError("ValidationException", f"ProvisionedThroughputOverride for the replica in {region}: "
                           f"table {table_name} uses on-demand capacity (PAY_PER_REQUEST)")
        if "OnDemandThroughputOverride" in spec and table.billing_mode != "PAY_PER_REQUEST":
            raise ApiError("ValidationException", f"OnDemandThroughputOverride for the replica in {region}: "
                           f"table {table_name} uses provisioned capacity")
        indexes = {ix.name for ix in table.global_indexes}
        for gsi in spec.get("GlobalSecondaryIndexes") or []:
            if gsi.get("IndexName") not in indexes:
                raise ApiError("ValidationException", f"Global secondary index {gsi.get('IndexName')} does not "
                               f"exist on table {table_name} in {region}")
        overrides = self._extras.of(table).replica_overrides
        for key in ("KMSMasterKeyId", "ProvisionedThroughputOverride", "OnDemandThroughputOverride"):
            if key in spec:
                overrides[key] = copy.deepcopy(spec[key])
        if spec.get("GlobalSecondaryIndexes"):
            by_name = {g["IndexName"]: g for g in overrides.get("GlobalSecondaryIndexes", [])}
            for gsi in spec["GlobalSecondaryIndexes"]:
                by_name.setdefault(gsi["IndexName"], {"IndexName": gsi["IndexName"]}).update(copy.deepcopy(gsi))
            overrides["GlobalSecondaryIndexes"] = [by_name[name] for name in sorted(by_name)]
        if "TableClassOverride" in spec:
            overrides["ReplicaTableClassSummary"] = {"TableClass": spec["TableClassOverride"],
                                                     "LastUpdateDateTime": self._extras.clock()}

    def replica_fields(self, table_name: str, region: str) -> dict[str, Any]:
        """What DescribeTable shows in the Replicas entry for `region` beyond its name and status."""
        table = self._extras.moto.table(region, table_name)
        extras = self._extras.peek(table) if table is not None else None
        return copy.deepcopy(extras.replica_overrides) if extras else {}

    def own_fields(self, table_name: str, region: str) -> dict[str, Any]:
        """What the replica's own DescribeTable shows of its overrides (its table class)."""
        summary = self.replica_fields(table_name, region).get("ReplicaTableClassSummary")
        return {"TableClassSummary": summary} if summary else {}

    # -- replica auto scaling ------------------------------------------------------------
    def _members(self, table: Table, region: str) -> dict[str, str]:
        return self._engine.members(table.name) or {region: "ACTIVE"}

    def describe_auto_scaling(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        table = self._extras.table(region, request["TableName"])
        replicas = []
        for member, status in sorted(self._members(table, region).items()):
            replica = self._extras.moto.table(member, table.name)
            if replica is None:
                continue
            settings = getattr(self._extras.peek(replica), "auto_scaling", {})
            entry: dict[str, Any] = {"RegionName": member, "ReplicaStatus": status}
            for kind, key in (("read", "ReplicaProvisionedReadCapacityAutoScalingSettings"),
                              ("write", "ReplicaProvisionedWriteCapacityAutoScalingSettings")):
                if kind in settings:
                    entry[key] = copy.deepcopy(settings[kind])
            indexes = []
            for ix in replica.global_indexes:
                index_entry: dict[str, Any] = {"IndexName": ix.name, "IndexStatus": ix.status}
                for kind, key in (("read", "ProvisionedReadCapacityAutoScalingSettings"),
                                  ("write", "ProvisionedWriteCapacityAutoScalingSettings")):
                    if (ix.name, kind) in settings:
                        index_entry[key] = copy.deepcopy(settings[(ix.name, kind)])
                indexes.append(index_entry)
            if indexes:
                entry["GlobalSecondaryIndexes"] = indexes
            replicas.append(entry)
        status = table.describe()["TableDescription"]["TableStatus"]
        return {"TableAutoScalingDescription": {"TableName": table.name, "TableStatus": status, "Replicas": replicas}}

    def update_auto_scaling(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        table = self._extras.table(region, request["TableName"])
        if table.billing_mode != "PROVISIONED":
            raise ApiError("ValidationException", f"Table {table.name} uses on-demand capacity (PAY_PER_REQUEST): "
                           "auto scaling applies to provisioned capacity only")
        members = self._members(table, region)
        changes: list[tuple[str, Any, dict[str, Any], str]] = []  # (region, settings key, update, policy kind)
        if request.get("ProvisionedWriteCapacityAutoScalingUpdate"):
            changes += [(m, "write", request["ProvisionedWriteCapacityAutoScalingUpdate"], "Write") for m in members]
        indexes = {ix.name for ix in table.global_indexes}
        for gsi in request.get("GlobalSecondaryIndexUpdates") or []:
            name = self._index(gsi.get("IndexName"), indexes, table.name)
            if gsi.get("ProvisionedWriteCapacityAutoScalingUpdate"):
                changes += [(m, (name, "write"), gsi["ProvisionedWriteCapacityAutoScalingUpdate"], "Write")
                            for m in members]
        for replica in request.get("ReplicaUpdates") or []:
            target = replica["RegionName"]
            if target not in members:
                raise ApiError("ValidationException",
                               f"Replica in region {target} does not exist for table {table.name}")
            if replica.get("ReplicaProvisionedReadCapacityAutoScalingUpdate"):
                changes.append((target, "read", replica["ReplicaProvisionedReadCapacityAutoScalingUpdate"], "Read"))
            for gsi in replica.get("ReplicaGlobalSecondaryIndexUpdates") or []:
                name = self._index(gsi.get("IndexName"), indexes, table.name)
                if gsi.get("ProvisionedReadCapacityAutoScalingUpdate"):
                    changes.append((target, (name, "read"), gsi["ProvisionedReadCapacityAutoScalingUpdate"], "Read"))
        self.apply_auto_scaling(table.name, changes)
        return self.describe_auto_scaling(region, request)

    @staticmethod
    def _index(name: str | None, indexes: set[str], table: str) -> str:
        if name not in indexes:
            raise ApiError("ValidationException", f"Global secondary index {name} does not exist on table {table}")
        return name

    def apply_auto_scaling(self, table_name: str, changes: list[tuple[str, Any, dict[str, Any], str]]) -> None:
        """Check every change, then store them all (a rejected request changes nothing)."""
        staged = []
        for member, key, update, kind in changes:
            replica = self._extras.table(member, table_name)
            current = getattr(self._extras.peek(replica), "auto_scaling", {}).get(key)
            staged.append((replica, key, self._merged(current, update, table_name, key, kind)))
        for replica, key, settings in staged:
            self._extras.of(replica).auto_scaling[key] = settings

    def _merged(self, current: dict[str, Any] | None, update: dict[str, Any], table: str, key: Any,
                kind: str) -> dict[str, Any]:
        settings = copy.deepcopy(current) if current else {
            "AutoScalingDisabled": False,
            "AutoScalingRoleArn": AUTO_SCALING_ROLE.format(account=self._extras.moto.account_id),
        }
        for field in ("MinimumUnits", "MaximumUnits", "AutoScalingDisabled", "AutoScalingRoleArn"):
            if field in update:
                settings[field] = update[field]
        low, high = settings.get("MinimumUnits"), settings.get("MaximumUnits")
        if low is None or high is None:
            raise ApiError("ValidationException", "Auto scaling settings need both MinimumUnits and MaximumUnits")
        if low > high:
            raise ApiError("ValidationException",
                           f"MinimumUnits ({low}) must be less than or equal to MaximumUnits ({high})")
        policy = update.get("ScalingPolicyUpdate")
        if policy:
            config = policy["TargetTrackingScalingPolicyConfiguration"]
            if not TARGET_UTILIZATION[0] <= config["TargetValue"] <= TARGET_UTILIZATION[1]:
                raise ApiError("ValidationException", f"TargetValue {config['TargetValue']} is outside "
                               f"{TARGET_UTILIZATION[0]:g}-{TARGET_UTILIZATION[1]:g} (percent utilization)")
            resource = f"table/{table}" + (f"/index/{key[0]}" if isinstance(key, tuple) else "")
            settings["ScalingPolicies"] = [{
                "PolicyName": policy.get("PolicyName") or f"DynamoDB{kind}CapacityUtilization:{resource}",
                "TargetTrackingScalingPolicyConfiguration": copy.deepcopy(config),
            }]
        return settings
