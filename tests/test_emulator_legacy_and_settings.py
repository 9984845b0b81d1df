"""2017.11.29 global tables, contributor insights, Kinesis destinations, replica auto scaling and overrides."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import client, create_table, key, make_global, wait_for

from gtcore.probes.status import table_status
from gtcore.target import Connection, Target

WEST, EU, AP = "us-west-2", "eu-west-1", "ap-southeast-2"
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def _code(call) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def _legacy_ready(endpoint: str, name: str, regions: tuple[str, ...]) -> dict:
    clients = {r: client(endpoint, "dynamodb", r) for r in regions}
    for ddb in clients.values():
        create_table(ddb, name, StreamSpecification=STREAM)
    return clients


def test_a_legacy_global_table_is_created_described_and_replicates(emulator, unique_table) -> None:
    clients = _legacy_ready(emulator.endpoint, unique_table, (WEST, EU))
    west, eu = clients[WEST], clients[EU]
    desc = west.create_global_table(GlobalTableName=unique_table, ReplicationGroup=[
        {"RegionName": WEST}, {"RegionName": EU}])["GlobalTableDescription"]
    assert desc["GlobalTableName"] == unique_table and desc["GlobalTableStatus"] in ("CREATING", "ACTIVE")
    assert desc["GlobalTableArn"].endswith(f":global-table/{unique_table}")
    assert sorted(r["RegionName"] for r in desc["ReplicationGroup"]) == [EU, WEST]
    wait_for(lambda: eu.describe_global_table(GlobalTableName=unique_table)["GlobalTableDescription"][
        "GlobalTableStatus"] == "ACTIVE")
    assert west.describe_table(TableName=unique_table)["Table"]["GlobalTableVersion"] == "2017.11.29"
    west.put_item(TableName=unique_table, Item={**key("u1"), "v": {"N": "1"}})
    wait_for(lambda: eu.get_item(TableName=unique_table, Key=key("u1")).get("Item"))
    listed = west.list_global_tables(RegionName=EU)["GlobalTables"]
    assert {"GlobalTableName": unique_table, "ReplicationGroup": [{"RegionName": EU}, {"RegionName": WEST}]} \
        in listed
    assert all(t["GlobalTableName"] != unique_table for t in west.list_global_tables(RegionName=AP)["GlobalTables"])
    # A replica joins only while every replica is empty (2017.11.29 has no backfill).
    create_table(client(emulator.endpoint, "dynamodb", AP), unique_table, StreamSpecification=STREAM)
    with pytest.raises(ClientError, match="not empty"):
        west.update_global_table(GlobalTableName=unique_table, ReplicaUpdates=[{"Create": {"RegionName": AP}}])
    # 2019.11.21 replica management does not apply to it.
    assert _code(lambda: west.update_table(TableName=unique_table,
                                           ReplicaUpdates=[{"Create": {"RegionName": AP}}])) == "ValidationException"
    # Replicas can be removed; the table stays, standalone, and no longer receives writes.
    west.update_global_table(GlobalTableName=unique_table, ReplicaUpdates=[{"Delete": {"RegionName": EU}}])
    west.put_item(TableName=unique_table, Item={**key("u2"), "v": {"N": "2"}})
    assert emulator.wait_replicated(2)
    assert "Item" not in eu.get_item(TableName=unique_table, Key=key("u2"))
    assert "GlobalTableVersion" not in eu.describe_table(TableName=unique_table)["Table"]
    group = west.describe_global_table(GlobalTableName=unique_table)["GlobalTableDescription"]["ReplicationGroup"]
    assert [r["RegionName"] for r in group] == [WEST]


def test_legacy_preconditions_are_aws_errors_and_change_nothing(emulator, unique_table) -> None:
    clients = _legacy_ready(emulator.endpoint, unique_table, (WEST, EU))
    west = clients[WEST]
    group = [{"RegionName": WEST}, {"RegionName": EU}, {"RegionName": AP}]
    assert _code(lambda: west.create_global_table(GlobalTableName=unique_table, ReplicationGroup=group)) \
        == "TableNotFoundException"
    ap = client(emulator.endpoint, "dynamodb", AP)
    create_table(ap, unique_table)  # no stream
    assert _code(lambda: west.create_global_table(GlobalTableName=unique_table, ReplicationGroup=group)) \
        == "ValidationException"
    ap.delete_table(TableName=unique_table)
    ap.create_table(TableName=unique_table, BillingMode="PAY_PER_REQUEST", StreamSpecification=STREAM,
                    KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}])
    with pytest.raises(ClientError, match="same key schema"):
        west.create_global_table(GlobalTableName=unique_table, ReplicationGroup=group)
    clients[EU].put_item(TableName=unique_table, Item={**key("x"), "v": {"N": "1"}})
    with pytest.raises(ClientError, match="not empty"):
        west.create_global_table(GlobalTableName=unique_table, ReplicationGroup=group[:2])
    assert _code(lambda: west.describe_global_table(GlobalTableName=unique_table)) == "GlobalTableNotFoundException"
    assert "GlobalTableVersion" not in west.describe_table(TableName=unique_table)["Table"]
    # A name already taken by a 2019.11.21 global table cannot join a legacy one.
    other = unique_table + "-v2"
    make_global(emulator.endpoint, other, (WEST, EU), StreamSpecification=STREAM)
    assert _code(lambda: west.create_global_table(GlobalTableName=other, ReplicationGroup=group[:2])) \
        == "ReplicaAlreadyExistsException"


def test_legacy_settings_are_described_and_updated_all_or_nothing(emulator, unique_table) -> None:
    clients = {r: client(emulator.endpoint, "dynamodb", r) for r in (WEST, EU)}
    for ddb in clients.values():
        ddb.create_table(TableName=unique_table, StreamSpecification=STREAM,
                         KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
                         ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    west = clients[WEST]
    west.create_global_table(GlobalTableName=unique_table, ReplicationGroup=[{"RegionName": WEST},
                                                                             {"RegionName": EU}])
    answer = west.update_global_table_settings(
        GlobalTableName=unique_table, GlobalTableProvisionedWriteCapacityUnits=12,
        ReplicaSettingsUpdate=[{"RegionName": EU, "ReplicaProvisionedReadCapacityUnits": 7}])
    by_region = {r["RegionName"]: r for r in answer["ReplicaSettings"]}
    assert by_region[EU]["ReplicaProvisionedReadCapacityUnits"] == 7
    assert by_region[WEST]["ReplicaProvisionedReadCapacityUnits"] == 5
    assert {r["ReplicaProvisionedWriteCapacityUnits"] for r in by_region.values()} == {12}
    assert clients[EU].describe_table(TableName=unique_table)["Table"]["ProvisionedThroughput"][
        "WriteCapacityUnits"] == 12
    # One bad part (an unknown replica) rejects the whole request.
    assert _code(lambda: west.update_global_table_settings(
        GlobalTableName=unique_table, GlobalTableProvisionedWriteCapacityUnits=20,
        ReplicaSettingsUpdate=[{"RegionName": AP, "ReplicaProvisionedReadCapacityUnits": 9}])) \
        == "ReplicaNotFoundException"
    settings = west.describe_global_table_settings(GlobalTableName=unique_table)["ReplicaSettings"]
    assert {r["ReplicaProvisionedWriteCapacityUnits"] for r in settings} == {12}


def test_the_aws_cli_creates_and_describes_a_legacy_global_table(emulator, unique_table) -> None:
    _legacy_ready(emulator.endpoint, unique_table, (WEST, EU))
    aws = [os.path.join(os.path.dirname(sys.executable), "aws"), "--endpoint-url", emulator.endpoint,
           "--region", WEST, "--output", "json", "dynamodb"]
    created = subprocess.run([*aws, "create-global-table", "--global-table-name", unique_table,
                              "--replication-group", f"RegionName={WEST}", f"RegionName={EU}"],
                             capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(created.stdout)["GlobalTableDescription"]["GlobalTableName"] == unique_table
    described = subprocess.run([*aws, "describe-table", "--table-name", unique_table],
                               capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(described.stdout)["Table"]["GlobalTableVersion"] == "2017.11.29"


def test_status_probe_shows_a_legacy_table_for_what_it_is(emulator, unique_table) -> None:
    clients = _legacy_ready(emulator.endpoint, unique_table, (WEST, EU))
    clients[WEST].create_global_table(GlobalTableName=unique_table, ReplicationGroup=[{"RegionName": WEST},
                                                                                      {"RegionName": EU}])
    conn = Connection(Target(table=unique_table, regions=(WEST, EU), endpoint=emulator.endpoint))
    report = table_status(conn, check_api=False, check_function=False)
    west = report.by_region()[WEST]
    assert west.legacy and west.global_table_version == "2017.11.29"
    assert west.members == (EU, WEST) and report.missing_replicas() == []
    assert not report.by_region()[WEST].errors
    assert [r["legacy"] for r in report.to_dict()["regions"]] == [True, True]


def test_contributor_insights_are_stored_with_their_status(emulator, unique_table) -> None:
    west = client(emulator.endpoint, "dynamodb", WEST)
    create_table(west, unique_table)
    assert west.describe_contributor_insights(TableName=unique_table)["ContributorInsightsStatus"] == "DISABLED"
    answer = west.update_contributor_insights(TableName=unique_table, ContributorInsightsAction="ENABLE")
    assert answer["ContributorInsightsStatus"] == "ENABLING"
    wait_for(lambda: west.describe_contributor_insights(TableName=unique_table)["ContributorInsightsStatus"]
             == "ENABLED")
    desc = west.describe_contributor_insights(TableName=unique_table)
    assert len(desc["ContributorInsightsRuleList"]) == 4  # partition and sort key, consumed and throttled
    listed = west.list_contributor_insights(TableName=unique_table)["ContributorInsightsSummaries"]
    assert listed[0]["ContributorInsightsStatus"] == "ENABLED"
    assert _code(lambda: west.describe_contributor_insights(TableName=unique_table, IndexName="nope")) \
        == "ResourceNotFoundException"
    west.update_contributor_insights(TableName=unique_table, ContributorInsightsAction="DISABLE")
    wait_for(lambda: west.describe_contributor_insights(TableName=unique_table)["ContributorInsightsStatus"]
             == "DISABLED")
    assert _code(lambda: west.describe_contributor_insights(TableName="no-such-table")) \
        == "ResourceNotFoundException"


def test_kinesis_streaming_destinations_are_stored_as_aws_stores_them(emulator, unique_table) -> None:
    west = client(emulator.endpoint, "dynamodb", WEST)
    create_table(west, unique_table)
    kinesis = client(emulator.endpoint, "kinesis", WEST)
    kinesis.create_stream(StreamName=unique_table, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=unique_table)["StreamDescriptionSummary"]["StreamARN"]
    missing = arn.replace(unique_table, unique_table + "-missing")
    assert _code(lambda: west.enable_kinesis_streaming_destination(TableName=unique_table, StreamArn=missing)) \
        == "ResourceNotFoundException"
    answer = west.enable_kinesis_streaming_destination(TableName=unique_table, StreamArn=arn)
    assert answer["DestinationStatus"] == "ENABLING"

    def status() -> str:
        dests = west.describe_kinesis_streaming_destination(TableName=unique_table)["KinesisDataStreamDestinations"]
        return dests[0]["DestinationStatus"]

    wait_for(lambda: status() == "ACTIVE")
    west.update_kinesis_streaming_destination(
        TableName=unique_table, StreamArn=arn,
        UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"})
    wait_for(lambda: status() == "ACTIVE")
    west.disable_kinesis_streaming_destination(TableName=unique_table, StreamArn=arn)
    wait_for(lambda: status() == "DISABLED")
    assert _code(lambda: west.disable_kinesis_streaming_destination(TableName=unique_table, StreamArn=arn)) \
        == "ValidationException"


def test_replica_update_overrides_show_in_describe_table(emulator, unique_table) -> None:
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    west = clients[WEST]
    west.update_table(TableName=unique_table, ReplicaUpdates=[{"Update": {
        "RegionName": EU, "TableClassOverride": "STANDARD_INFREQUENT_ACCESS", "KMSMasterKeyId": "alias/eu-key",
        "OnDemandThroughputOverride": {"MaxReadRequestUnits": 100}}}])
    eu_entry = west.describe_table(TableName=unique_table)["Table"]["Replicas"][0]
    assert eu_entry["RegionName"] == EU and eu_entry["KMSMasterKeyId"] == "alias/eu-key"
    assert eu_entry["OnDemandThroughputOverride"] == {"MaxReadRequestUnits": 100}
    assert eu_entry["ReplicaTableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    eu_own = clients[EU].describe_table(TableName=unique_table)["Table"]
    assert eu_own["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert _code(lambda: west.update_table(TableName=unique_table, ReplicaUpdates=[{"Update": {
        "RegionName": EU, "ProvisionedThroughputOverride": {"ReadCapacityUnits": 5}}}])) == "ValidationException"


def test_replica_auto_scaling_is_stored_per_replica(emulator, unique_table) -> None:
    west = client(emulator.endpoint, "dynamodb", WEST)
    west.create_table(TableName=unique_table, KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                      AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
                      ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    west.update_table(TableName=unique_table, ReplicaUpdates=[{"Create": {"RegionName": EU}}])
    policy = {"TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70.0}}
    answer = west.update_table_replica_auto_scaling(
        TableName=unique_table,
        ProvisionedWriteCapacityAutoScalingUpdate={"MinimumUnits": 5, "MaximumUnits": 50,
                                                   "ScalingPolicyUpdate": policy},
        ReplicaUpdates=[{"RegionName": EU, "ReplicaProvisionedReadCapacityAutoScalingUpdate": {
            "MinimumUnits": 2, "MaximumUnits": 20}}])["TableAutoScalingDescription"]
    by_region = {r["RegionName"]: r for r in answer["Replicas"]}
    assert {r["ReplicaProvisionedWriteCapacityAutoScalingSettings"]["MaximumUnits"] for r in by_region.values()} \
        == {50}
    assert by_region[EU]["ReplicaProvisionedReadCapacityAutoScalingSettings"]["MinimumUnits"] == 2
    assert "ReplicaProvisionedReadCapacityAutoScalingSettings" not in by_region[WEST]
    assert by_region[WEST]["ReplicaProvisionedWriteCapacityAutoScalingSettings"]["ScalingPolicies"][0][
        "TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70.0
    eu = client(emulator.endpoint, "dynamodb", EU)
    assert eu.describe_table_replica_auto_scaling(TableName=unique_table)["TableAutoScalingDescription"] == answer
    assert _code(lambda: west.update_table_replica_auto_scaling(
        TableName=unique_table, ProvisionedWriteCapacityAutoScalingUpdate={"MinimumUnits": 9, "MaximumUnits": 3})) \
        == "ValidationException"
    on_demand = unique_table + "-od"
    create_table(west, on_demand)
    assert _code(lambda: west.update_table_replica_auto_scaling(
        TableName=on_demand, ProvisionedWriteCapacityAutoScalingUpdate={"MinimumUnits": 1, "MaximumUnits": 3})) \
        == "ValidationException"


def test_list_exports_and_imports_answer_aws_shapes(emulator) -> None:
    west = client(emulator.endpoint, "dynamodb", WEST)
    assert isinstance(west.list_exports()["ExportSummaries"], list)
    assert isinstance(west.list_imports()["ImportSummaryList"], list)
    assert west.list_imports(TableArn="arn:aws:dynamodb:us-west-2:123456789012:table/none")["ImportSummaryList"] \
        == []


def test_gtcore_status_says_legacy_and_to_upgrade(emulator, unique_table, capsys) -> None:
    from gtcore.cli import main

    clients = _legacy_ready(emulator.endpoint, unique_table, (WEST, EU))
    clients[WEST].create_global_table(GlobalTableName=unique_table, ReplicationGroup=[{"RegionName": WEST},
                                                                                      {"RegionName": EU}])
    main(["status", "--no-api", "--no-function", "--endpoint", emulator.endpoint, "--regions", f"{WEST},{EU}",
          "--table", unique_table])
    shown = capsys.readouterr().out
    assert "2017.11.29 (legacy)" in shown
    assert "legacy 2017.11.29 global table: upgrade to 2019.11.21" in shown
    assert "not replicas of the home region" not in shown


def test_lists_page_with_tokens_the_model_accepts(emulator, unique_table) -> None:
    region = "eu-south-1"  # a region no other test uses: these lists span the region
    ddb = client(emulator.endpoint, "dynamodb", region)
    names = [f"{unique_table}-{i}" for i in range(3)]
    for name in names:
        create_table(ddb, name)
        ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="ENABLE")
    seen, kwargs = [], {"MaxResults": 2}
    while True:
        answer = ddb.list_contributor_insights(**kwargs)
        seen += [s["TableName"] for s in answer["ContributorInsightsSummaries"]]
        if "NextToken" not in answer:
            break
        kwargs["NextToken"] = answer["NextToken"]
    assert seen == names
    assert ddb.list_imports(PageSize=1)["ImportSummaryList"] == []
    for name in names:
        ddb.delete_table(TableName=name)
        create_table(ddb, name, StreamSpecification=STREAM)
        ddb.create_global_table(GlobalTableName=name, ReplicationGroup=[{"RegionName": region}])
    first = ddb.list_global_tables(RegionName=region, Limit=2)
    assert [t["GlobalTableName"] for t in first["GlobalTables"]] == names[:2]
    rest = ddb.list_global_tables(RegionName=region,
                                  ExclusiveStartGlobalTableName=first["LastEvaluatedGlobalTableName"])
    assert [t["GlobalTableName"] for t in rest["GlobalTables"]] == names[2:]
    assert "LastEvaluatedGlobalTableName" not in rest
    # Deleting the table takes its global table membership and its settings with it.
    ddb.delete_table(TableName=names[0])
    assert _code(lambda: ddb.describe_global_table(GlobalTableName=names[0])) == "GlobalTableNotFoundException"
    create_table(ddb, names[0])
    assert ddb.describe_contributor_insights(TableName=names[0])["ContributorInsightsStatus"] == "DISABLED"
