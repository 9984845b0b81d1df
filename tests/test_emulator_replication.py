"""The emulator over HTTP with boto3: replicas, every write kind, conflicts, faults, TTL, metrics."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import client, create_table, key, make_global, scan_all, wait_for

WEST, EU, AP = "us-west-2", "eu-west-1", "ap-southeast-2"


def test_replica_lifecycle_create_backfill_describe_delete(emulator, unique_table) -> None:
    west = client(emulator.endpoint, "dynamodb", WEST)
    create_table(west, unique_table, extra_attributes=[{"AttributeName": "title", "AttributeType": "S"}],
                 GlobalSecondaryIndexes=[{"IndexName": "by-title", "KeySchema": [{"AttributeName": "title",
                                          "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}])
    west.update_time_to_live(TableName=unique_table,
                             TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    for i in range(30):
        west.put_item(TableName=unique_table, Item={**key("pre", f"{i:02}"), "n": {"N": str(i)}})
    answer = west.update_table(TableName=unique_table, ReplicaUpdates=[{"Create": {"RegionName": EU}}])
    desc = answer["TableDescription"]
    assert desc["Replicas"][0]["RegionName"] == EU and desc["Replicas"][0]["ReplicaStatus"] == "CREATING"
    assert desc["GlobalTableVersion"] == "2019.11.21"
    eu = client(emulator.endpoint, "dynamodb", EU)
    wait_for(lambda: eu.describe_table(TableName=unique_table)["Table"]["TableStatus"] == "ACTIVE")
    eu_desc = eu.describe_table(TableName=unique_table)["Table"]
    assert eu_desc["GlobalTableVersion"] == "2019.11.21"
    assert eu_desc["Replicas"] == [{"RegionName": WEST, "ReplicaStatus": "ACTIVE"}]
    assert eu_desc["KeySchema"] == west.describe_table(TableName=unique_table)["Table"]["KeySchema"]
    assert eu_desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [ix["IndexName"] for ix in eu_desc["GlobalSecondaryIndexes"]] == ["by-title"]
    assert eu.describe_time_to_live(TableName=unique_table)["TimeToLiveDescription"]["AttributeName"] == "expires"
    assert len(scan_all(eu, unique_table)) == 30  # backfilled
    # Delete the replica: it goes away and replication stops.
    west.update_table(TableName=unique_table, ReplicaUpdates=[{"Delete": {"RegionName": EU}}])
    wait_for(lambda: unique_table not in eu.list_tables()["TableNames"])
    assert west.describe_table(TableName=unique_table)["Table"]["Replicas"] == []
    west.put_item(TableName=unique_table, Item={**key("after"), "n": {"N": "1"}})
    assert emulator.wait_replicated(2)


def test_replica_requests_get_the_errors_aws_gives(emulator, unique_table) -> None:
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    west = clients[WEST]
    cases = [
        ([{"Create": {"RegionName": EU}}], "ValidationException", "already existed"),
        ([{"Create": {"RegionName": "mars-north-1"}}], "ValidationException", "not a valid AWS region"),
        ([{"Delete": {"RegionName": AP}}], "ValidationException", "does not exist"),
    ]
    for updates, code, words in cases:
        with pytest.raises(ClientError) as err:
            west.update_table(TableName=unique_table, ReplicaUpdates=updates)
        assert err.value.response["Error"]["Code"] == code and words in str(err.value)
    # A standalone table of that name in the target region blocks the replica.
    create_table(client(emulator.endpoint, "dynamodb", AP), unique_table)
    with pytest.raises(ClientError, match="already existed"):
        west.update_table(TableName=unique_table, ReplicaUpdates=[{"Create": {"RegionName": AP}}])
    with pytest.raises(ClientError) as err:
        west.update_table(TableName="no-such-table", ReplicaUpdates=[{"Create": {"RegionName": AP}}])
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # Deleting down to nothing is refused: the last member is deleted with DeleteTable.
    west.update_table(TableName=unique_table, ReplicaUpdates=[{"Delete": {"RegionName": EU}}])
    wait_for(lambda: not west.describe_table(TableName=unique_table)["Table"]["Replicas"])
    with pytest.raises(ClientError, match="last replica"):
        west.update_table(TableName=unique_table, ReplicaUpdates=[{"Delete": {"RegionName": WEST}}])


def test_every_write_kind_replicates_and_failed_writes_ship_nothing(emulator, unique_table) -> None:
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU, AP))
    west, t = clients[WEST], unique_table
    west.put_item(TableName=t, Item={**key("put"), "v": {"N": "1"}})
    west.put_item(TableName=t, Item={**key("upd"), "v": {"N": "1"}})
    west.update_item(TableName=t, Key=key("upd"), UpdateExpression="SET v = v + :one",
                     ExpressionAttributeValues={":one": {"N": "1"}})
    west.put_item(TableName=t, Item={**key("del"), "v": {"N": "1"}})
    west.delete_item(TableName=t, Key=key("del"))
    west.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {**key("batch", str(i)), "v": {"N": str(i)}}}}
                                            for i in range(5)]})
    west.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": {**key("tx", "a"), "v": {"N": "1"}}}},
        {"Update": {"TableName": t, "Key": key("tx", "b"), "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "2"}}}},
    ])
    west.execute_statement(Statement=f"INSERT INTO \"{t}\" VALUE {{'PK': 'sql', 'SK': '0', 'v': 7}}")
    west.execute_statement(Statement=f"UPDATE \"{t}\" SET v='8' WHERE PK='sql' AND SK='0'")  # moto: no spaces
    west.execute_statement(Statement=f"INSERT INTO \"{t}\" VALUE {{'PK': 'gone', 'SK': '0'}}")
    west.execute_statement(Statement=f"DELETE FROM \"{t}\" WHERE PK = 'gone' AND SK = '0'")
    # Failures: a failed condition and a cancelled transaction change nothing anywhere.
    with pytest.raises(ClientError):
        west.put_item(TableName=t, Item={**key("put"), "v": {"N": "99"}},
                      ConditionExpression="attribute_not_exists(PK)")
    with pytest.raises(ClientError):
        west.transact_write_items(TransactItems=[
            {"Put": {"TableName": t, "Item": {**key("tx", "c"), "v": {"N": "3"}}}},
            {"ConditionCheck": {"TableName": t, "Key": key("nope"), "ConditionExpression": "attribute_exists(PK)"}},
        ])
    assert emulator.wait_replicated(5)
    expected = scan_all(west, t)
    assert set(expected) == {("put", "0"), ("upd", "0"), *{("batch", str(i)) for i in range(5)},
                             ("tx", "a"), ("tx", "b"), ("sql", "0")}
    assert expected[("upd", "0")]["v"] == {"N": "2"} and expected[("sql", "0")]["v"] == {"S": "8"}
    for region in (EU, AP):
        assert scan_all(clients[region], t) == expected, region


@pytest.mark.parametrize("regions", [(WEST, EU), (WEST, EU, AP)])
def test_concurrent_conflicting_writes_converge_everywhere(emulator, unique_table, regions) -> None:
    clients = make_global(emulator.endpoint, unique_table, regions)
    keys = [f"k{i}" for i in range(5)]

    def writer(region: str) -> None:
        ddb = client(emulator.endpoint, "dynamodb", region)
        for round_ in range(20):
            for k in keys:
                ddb.put_item(TableName=unique_table, Item={**key(k), "v": {"S": f"{region}-{round_}"}})

    threads = [threading.Thread(target=writer, args=(r,)) for r in regions]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert emulator.wait_replicated(10)
    states = [scan_all(clients[r], unique_table) for r in regions]
    assert all(s == states[0] for s in states) and len(states[0]) == len(keys)
    assert emulator.engine.discarded_count > 0  # last-writer-wins really had to choose


def test_pause_and_resume_lose_nothing(emulator, unique_table) -> None:
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU, AP))
    emulator.pause_replication(unique_table, EU)
    try:
        for i in range(60):
            region = (WEST, EU, AP)[i % 3]
            clients[region].put_item(TableName=unique_table, Item={**key("p", str(i)), "v": {"S": region}})
        time.sleep(0.3)
        pending = emulator.pending()
        assert pending.get((WEST, EU), 0) == 20 and pending.get((EU, WEST), 0) == 20
        assert len(scan_all(clients[EU], unique_table)) == 20  # only its own writes
    finally:
        emulator.resume_replication(unique_table, EU)
    assert emulator.wait_replicated(5)
    for region in (WEST, EU, AP):
        assert len(scan_all(clients[region], unique_table)) == 60


def test_isolated_region_fails_fast_and_catches_up_when_healed(emulator, unique_table) -> None:
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    emulator.isolate(EU)
    try:
        started = time.monotonic()
        with pytest.raises(ClientError) as err:
            clients[EU].get_item(TableName=unique_table, Key=key("x"))
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert "isolated" in str(err.value) and time.monotonic() - started < 1.0
        for i in range(10):
            clients[WEST].put_item(TableName=unique_table, Item={**key("i", str(i))})
        time.sleep(0.3)
        assert emulator.pending().get((WEST, EU)) == 10
    finally:
        emulator.heal(EU)
    assert emulator.wait_replicated(5)
    assert len(scan_all(clients[EU], unique_table)) == 10


def test_expired_items_are_deleted_and_the_delete_replicates(emulator, unique_table) -> None:
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    clients[WEST].update_time_to_live(TableName=unique_table,
                                      TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    now = int(time.time())
    clients[WEST].put_item(TableName=unique_table, Item={**key("old"), "ttl": {"N": str(now - 5)}})
    clients[WEST].put_item(TableName=unique_table, Item={**key("new"), "ttl": {"N": str(now + 3600)}})
    clients[WEST].put_item(TableName=unique_table, Item={**key("text"), "ttl": {"S": "soon"}})
    for region in (WEST, EU):  # one replica expires it, the delete replicates to the other
        wait_for(lambda r=region: set(scan_all(clients[r], unique_table)) == {("new", "0"), ("text", "0")}, timeout=10)


def test_replication_latency_is_in_the_source_regions_cloudwatch(emulator, unique_table) -> None:
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    for i in range(5):
        clients[WEST].put_item(TableName=unique_table, Item={**key("m", str(i))})
    assert emulator.wait_replicated(5)
    dims = [{"Name": "TableName", "Value": unique_table}, {"Name": "ReceivingRegion", "Value": EU}]
    now = dt.datetime.now(dt.UTC)
    window = {"StartTime": now - dt.timedelta(minutes=10), "EndTime": now + dt.timedelta(minutes=1)}
    cw_west = client(emulator.endpoint, "cloudwatch", WEST)
    stats = cw_west.get_metric_statistics(Namespace="AWS/DynamoDB", MetricName="ReplicationLatency", Dimensions=dims,
                                          Period=600, Statistics=["Average", "Minimum", "Maximum", "SampleCount"],
                                          **window)["Datapoints"]
    assert sum(p["SampleCount"] for p in stats) == 5
    assert all(p["Minimum"] >= 95 and p["Maximum"] < 400 for p in stats)
    assert stats[0]["Unit"] == "Milliseconds"
    queries = [{"Id": s.lower(), "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName":
               "ReplicationLatency", "Dimensions": dims}, "Period": 600, "Stat": s}} for s in ("Average", "Maximum")]
    data = cw_west.get_metric_data(MetricDataQueries=queries, **window)["MetricDataResults"]
    assert all(r["Values"] and 95 <= r["Values"][0] < 400 for r in data)
    # Nothing in the receiving region's CloudWatch: the metric lives with the source.
    cw_eu = client(emulator.endpoint, "cloudwatch", EU)
    assert not cw_eu.get_metric_statistics(Namespace="AWS/DynamoDB", MetricName="ReplicationLatency",
                                           Dimensions=dims, Period=600, Statistics=["Average"], **window)["Datapoints"]


@pytest.mark.slow
def test_concurrent_writers_in_one_region_lose_no_update(emulator, unique_table) -> None:
    ddb = client(emulator.endpoint, "dynamodb", WEST)
    create_table(ddb, unique_table)
    ddb.put_item(TableName=unique_table, Item={**key("counter"), "n": {"N": "0"}})

    def bump() -> None:
        mine = client(emulator.endpoint, "dynamodb", WEST)
        for _ in range(60):
            mine.update_item(TableName=unique_table, Key=key("counter"), UpdateExpression="SET n = n + :one",
                             ExpressionAttributeValues={":one": {"N": "1"}})

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert ddb.get_item(TableName=unique_table, Key=key("counter"))["Item"]["n"] == {"N": "480"}


def test_unknown_regions_get_a_clear_client_error_for_every_service(emulator) -> None:
    for service, call in [("dynamodb", "list_tables"), ("cloudwatch", "list_metrics"),
                          ("sts", "get_caller_identity"), ("lambda", "list_functions"), ("iam", "list_roles")]:
        with pytest.raises(ClientError) as err:
            getattr(client(emulator.endpoint, service, "mars-north-1"), call)()
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, service
        assert "Unknown region 'mars-north-1'" in str(err.value), service


def test_get_function_reports_reserved_concurrency_zero(emulator) -> None:
    iam, lam = client(emulator.endpoint, "iam", WEST), client(emulator.endpoint, "lambda", WEST)
    role = iam.create_role(RoleName="gt-test-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName="gt-test-fn", Runtime="python3.12", Role=role, Handler="app.handler",
                        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})
    assert "Concurrency" not in lam.get_function(FunctionName="gt-test-fn")
    lam.put_function_concurrency(FunctionName="gt-test-fn", ReservedConcurrentExecutions=0)
    assert lam.get_function(FunctionName="gt-test-fn")["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    lam.delete_function_concurrency(FunctionName="gt-test-fn")
    assert "Concurrency" not in lam.get_function(FunctionName="gt-test-fn")


def test_streams_of_a_replica_carry_replicated_writes(emulator, unique_table) -> None:
    spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU), **spec)
    clients[WEST].put_item(TableName=unique_table, Item={**key("s"), "v": {"N": "1"}})
    assert emulator.wait_replicated(5)
    streams = client(emulator.endpoint, "dynamodbstreams", EU)
    arn = clients[EU].describe_table(TableName=unique_table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert [r["dynamodb"]["NewImage"]["v"] for r in records] == [{"N": "1"}]


def test_stream_records_are_trimmed_and_old_iterators_still_read(emulator, unique_table) -> None:
    spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}}
    west = client(emulator.endpoint, "dynamodb", WEST)
    create_table(west, unique_table, **spec)
    for i in range(30):
        west.put_item(TableName=unique_table, Item={**key("s", str(i))})
    streams = client(emulator.endpoint, "dynamodbstreams", WEST)
    arn = west.describe_table(TableName=unique_table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    old = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert emulator.store.trim_streams(keep=10) >= 20
    records = streams.get_records(ShardIterator=old)["Records"]
    assert [r["dynamodb"]["NewImage"]["SK"]["S"] for r in records] == [str(i) for i in range(20, 30)]
