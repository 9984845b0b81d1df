"""MRSC global tables in the emulator, through the plain SDK (boto3): control plane, validation,
synchronous writes, strong reads anywhere, write conflicts, isolation, unsupported features, metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator_helpers import client, create_table, key, wait_for

US = ("us-east-1", "us-east-2", "us-west-2")


def _clients(emulator: Any, regions: tuple[str, ...] = US) -> dict[str, Any]:
    return {r: client(emulator.endpoint, "dynamodb", r) for r in regions}


def _make_strong(emulator: Any, table: str, replicas: tuple[str, ...] = US, witness: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    ddb = _clients(emulator, tuple(dict.fromkeys((*replicas, *((witness,) if witness else ())))))
    create_table(ddb[replicas[0]], table, **extra)
    params: dict[str, Any] = {"ReplicaUpdates": [{"Create": {"RegionName": r}} for r in replicas[1:]],
                              "MultiRegionConsistency": "STRONG"}
    if witness:
        params["GlobalTableWitnessUpdates"] = [{"Create": {"RegionName": witness}}]
    answer = ddb[replicas[0]].update_table(TableName=table, **params)["TableDescription"]
    assert answer["MultiRegionConsistency"] == "STRONG"

    def active() -> bool:
        desc = ddb[replicas[0]].describe_table(TableName=table)["Table"]
        witnesses = desc.get("GlobalTableWitnesses", [])
        return desc["TableStatus"] == "ACTIVE" and all(r["ReplicaStatus"] == "ACTIVE" for r in desc["Replicas"]) \
            and all(w["WitnessStatus"] == "ACTIVE" for w in witnesses)

    wait_for(active)
    return ddb


def _error(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def _put(ddb: Any, table: str, pk: str, value: int) -> None:
    ddb.put_item(TableName=table, Item={**key(pk), "v": {"N": str(value)}})


def _value(ddb: Any, table: str, pk: str, consistent: bool) -> int | None:
    item = ddb.get_item(TableName=table, Key=key(pk), ConsistentRead=consistent).get("Item")
    return int(item["v"]["N"]) if item else None


@pytest.fixture
def slow_third(emulator: Any) -> Iterator[None]:
    """us-east-1 <-> us-east-2 answer in 50 ms, us-west-2 reaches both in 50 ms, but gets their
    writes 3 s late."""
    before = emulator.lag_description()
    emulator.set_lag("pairs:us-east-1<>us-east-2=50,us-east-1>us-west-2=3000,us-east-2>us-west-2=3000,"
                     "us-west-2>us-east-1=50,us-west-2>us-east-2=50;default=fixed:100")
    yield
    emulator.set_lag(before)


# -- control plane ----------------------------------------------------------------------------
def test_three_replicas_describe_as_strong_in_every_region(emulator: Any, unique_table: str) -> None:
    ddb = _make_strong(emulator, unique_table)
    for region in US:
        desc = ddb[region].describe_table(TableName=unique_table)["Table"]
        assert desc["MultiRegionConsistency"] == "STRONG"
        assert sorted(r["RegionName"] for r in desc["Replicas"]) == sorted(set(US) - {region})
        assert "GlobalTableWitnesses" not in desc


def test_witness_goes_creating_then_active_and_holds_no_table(emulator: Any, unique_table: str) -> None:
    ddb = _clients(emulator)
    create_table(ddb["us-east-1"], unique_table)
    answer = ddb["us-east-1"].update_table(
        TableName=unique_table, ReplicaUpdates=[{"Create": {"RegionName": "us-east-2"}}],
        GlobalTableWitnessUpdates=[{"Create": {"RegionName": "us-west-2"}}], MultiRegionConsistency="STRONG",
    )["TableDescription"]
    assert answer["GlobalTableWitnesses"] == [{"RegionName": "us-west-2", "WitnessStatus": "CREATING"}]
    assert answer["TableStatus"] == "UPDATING"
    assert [(r["RegionName"], r["ReplicaStatus"]) for r in answer["Replicas"]] == [("us-east-2", "CREATING")]
    wait_for(lambda: ddb["us-east-1"].describe_table(TableName=unique_table)["Table"]
             ["GlobalTableWitnesses"][0]["WitnessStatus"] == "ACTIVE")
    desc = ddb["us-east-2"].describe_table(TableName=unique_table)["Table"]
    assert desc["GlobalTableWitnesses"] == [{"RegionName": "us-west-2", "WitnessStatus": "ACTIVE"}]
    assert [r["RegionName"] for r in desc["Replicas"]] == ["us-east-1"]
    code, status, _ = _error(ddb["us-west-2"].get_item, TableName=unique_table, Key=key("a"))
    assert (code, status) == ("ResourceNotFoundException", 400)


@pytest.mark.parametrize("replicas, witness, why", [
    (("us-east-1", "eu-west-1", "us-west-2"), None, "Region set"),
    (("us-east-1", "us-east-2"), None, "exactly 3"),
    (("eu-west-1", "eu-west-2", "eu-west-3"), "eu-central-1", "exactly 3"),
    (("eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1"), None, "exactly 3"),
    (("us-east-1", "us-east-2"), "eu-west-1", "Region set"),
])
def test_wrong_members_are_refused_and_change_nothing(emulator: Any, unique_table: str, replicas: tuple[str, ...],
                                                      witness: str | None, why: str) -> None:
    ddb = client(emulator.endpoint, "dynamodb", replicas[0])
    create_table(ddb, unique_table)
    params: dict[str, Any] = {"ReplicaUpdates": [{"Create": {"RegionName": r}} for r in replicas[1:]],
                              "MultiRegionConsistency": "STRONG"}
    if witness:
        params["GlobalTableWitnessUpdates"] = [{"Create": {"RegionName": witness}}]
    code, status, message = _error(ddb.update_table, TableName=unique_table, **params)
    assert (code, status) == ("ValidationException", 400) and why in message
    desc = ddb.describe_table(TableName=unique_table)["Table"]
    assert "Replicas" not in desc and "MultiRegionConsistency" not in desc
    for region in replicas[1:]:
        with pytest.raises(ClientError):
            client(emulator.endpoint, "dynamodb", region).describe_table(TableName=unique_table)


def test_a_table_with_items_cannot_become_strong(emulator: Any, unique_table: str) -> None:
    ddb = _clients(emulator)
    create_table(ddb["us-east-1"], unique_table)
    _put(ddb["us-east-1"], unique_table, "a", 1)
    code, _, message = _error(ddb["us-east-1"].update_table, TableName=unique_table,
                              ReplicaUpdates=[{"Create": {"RegionName": r}} for r in US[1:]],
                              MultiRegionConsistency="STRONG")
    assert code == "ValidationException" and "empty" in message


def test_lsi_and_ttl_tables_cannot_become_strong(emulator: Any, unique_table: str) -> None:
    ddb = _clients(emulator)
    create_table(ddb["us-east-1"], unique_table, extra_attributes=[{"AttributeName": "L", "AttributeType": "S"}],
                 LocalSecondaryIndexes=[{"IndexName": "byL", "KeySchema": [
                     {"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "L", "KeyType": "RANGE"}],
                     "Projection": {"ProjectionType": "ALL"}}])
    strong = {"ReplicaUpdates": [{"Create": {"RegionName": r}} for r in US[1:]], "MultiRegionConsistency": "STRONG"}
    code, _, message = _error(ddb["us-east-1"].update_table, TableName=unique_table, **strong)
    assert code == "ValidationException" and "Local secondary indexes" in message
    ttl_table = unique_table + "-ttl"
    create_table(ddb["us-east-1"], ttl_table)
    ddb["us-east-1"].update_time_to_live(TableName=ttl_table,
                                         TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    code, _, message = _error(ddb["us-east-1"].update_table, TableName=ttl_table, **strong)
    assert code == "ValidationException" and "Time to Live" in message


def test_the_mode_of_a_global_table_cannot_change(emulator: Any, unique_table: str) -> None:
    ddb = _clients(emulator)
    create_table(ddb["us-east-1"], unique_table)
    ddb["us-east-1"].update_table(TableName=unique_table, ReplicaUpdates=[{"Create": {"RegionName": "us-east-2"}}],
                                  MultiRegionConsistency="EVENTUAL")
    desc = ddb["us-east-1"].describe_table(TableName=unique_table)["Table"]
    assert [r["RegionName"] for r in desc["Replicas"]] == ["us-east-2"] and "MultiRegionConsistency" not in desc
    code, _, message = _error(ddb["us-east-1"].update_table, TableName=unique_table,
                              ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}],
                              MultiRegionConsistency="STRONG")
    assert code == "ValidationException" and "cannot be changed" in message
    strong = unique_table + "-s"
    _make_strong(emulator, strong)
    code, _, message = _error(ddb["us-east-1"].update_table, TableName=strong,
                              ReplicaUpdates=[{"Update": {"RegionName": "us-east-2"}}],
                              MultiRegionConsistency="EVENTUAL")
    assert code == "ValidationException" and "cannot be changed" in message


def test_no_fourth_member_and_no_witness_without_strong(emulator: Any, unique_table: str) -> None:
    ddb = _make_strong(emulator, unique_table)
    code, _, message = _error(ddb["us-east-1"].update_table, TableName=unique_table,
                              ReplicaUpdates=[{"Create": {"RegionName": "us-west-1"}}])
    assert code == "ValidationException" and "no replica or witness can be added" in message
    other = unique_table + "-w"
    create_table(ddb["us-east-1"], other)
    code, _, message = _error(ddb["us-east-1"].update_table, TableName=other,
                              GlobalTableWitnessUpdates=[{"Create": {"RegionName": "us-west-2"}}])
    assert code == "ValidationException" and "STRONG" in message


def test_members_go_two_at_a_time_leaving_a_single_region_table(emulator: Any, unique_table: str) -> None:
    ddb = _make_strong(emulator, unique_table, ("us-east-1", "us-east-2"), witness="us-west-2")
    for alone in ({"ReplicaUpdates": [{"Delete": {"RegionName": "us-east-2"}}]},
                  {"GlobalTableWitnessUpdates": [{"Delete": {"RegionName": "us-west-2"}}]}):
        code, _, message = _error(ddb["us-east-1"].update_table, TableName=unique_table, **alone)
        assert code == "ValidationException" and "two at a time" in message
    code, _, _ = _error(ddb["us-east-1"].delete_table, TableName=unique_table)
    assert code == "ValidationException"
    answer = ddb["us-east-1"].update_table(
        TableName=unique_table, ReplicaUpdates=[{"Delete": {"RegionName": "us-east-2"}}],
        GlobalTableWitnessUpdates=[{"Delete": {"RegionName": "us-west-2"}}])["TableDescription"]
    assert answer["GlobalTableWitnesses"] == [{"RegionName": "us-west-2", "WitnessStatus": "DELETING"}]

    def single() -> bool:
        desc = ddb["us-east-1"].describe_table(TableName=unique_table)["Table"]
        return not desc.get("Replicas") and "MultiRegionConsistency" not in desc and desc["TableStatus"] == "ACTIVE"

    wait_for(single)
    ddb["us-east-1"].delete_table(TableName=unique_table)


def test_three_replicas_lose_two_in_one_call(emulator: Any, unique_table: str) -> None:
    ddb = _make_strong(emulator, unique_table)
    code, _, _ = _error(ddb["us-east-1"].update_table, TableName=unique_table,
                        ReplicaUpdates=[{"Delete": {"RegionName": "us-east-2"}}])
    assert code == "ValidationException"
    ddb["us-east-1"].update_table(TableName=unique_table, ReplicaUpdates=[
        {"Delete": {"RegionName": "us-east-2"}}, {"Delete": {"RegionName": "us-west-2"}}])
    wait_for(lambda: not ddb["us-east-1"].describe_table(TableName=unique_table)["Table"].get("Replicas"))
    wait_for(lambda: "MultiRegionConsistency" not in ddb["us-east-1"].describe_table(TableName=unique_table)["Table"])


# -- unsupported features ---------------------------------------------------------------------
def test_transactions_ttl_and_partiql_writes_are_refused(emulator: Any, unique_table: str) -> None:
    ddb = _make_strong(emulator, unique_table)["us-east-1"]
    put = {"Put": {"TableName": unique_table, "Item": {**key("t"), "v": {"N": "1"}}}}
    refusals = [
        (ddb.transact_write_items, {"TransactItems": [put]}, "Transactions"),
        (ddb.transact_get_items, {"TransactItems": [{"Get": {"TableName": unique_table, "Key": key("t")}}]},
         "Transactions"),
        (ddb.update_time_to_live, {"TableName": unique_table,
                                   "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "exp"}},
         "Time to Live"),
        (ddb.execute_statement, {"Statement": f"INSERT INTO \"{unique_table}\" VALUE {{'PK': 'p', 'SK': 's'}}"},
         "PartiQL"),
    ]
    for call, params, why in refusals:
        code, status, message = _error(call, **params)
        assert (code, status) == ("ValidationException", 400) and why in message
    assert "Item" not in ddb.get_item(TableName=unique_table, Key=key("t"), ConsistentRead=True)


# -- synchronous writes and strong reads ------------------------------------------------------
@pytest.mark.slow
def test_strong_read_anywhere_returns_the_acknowledged_write(emulator: Any, unique_table: str,
                                                             slow_third: None) -> None:
    ddb = _make_strong(emulator, unique_table)
    started = time.monotonic()
    _put(ddb["us-east-1"], unique_table, "a", 7)
    assert time.monotonic() - started >= 0.05  # the trip to us-east-2 is part of the write
    assert _value(ddb["us-east-2"], unique_table, "a", consistent=False) == 7  # applied before the ack
    assert _value(ddb["us-west-2"], unique_table, "a", consistent=False) is None  # still on its way
    assert _value(ddb["us-west-2"], unique_table, "a", consistent=True) == 7
    scanned = ddb["us-west-2"].scan(TableName=unique_table, ConsistentRead=True)["Items"]
    assert [int(i["v"]["N"]) for i in scanned] == [7]


@pytest.mark.slow
def test_a_write_in_a_lagging_replica_builds_on_the_latest_version(emulator: Any, unique_table: str,
                                                                    slow_third: None) -> None:
    ddb = _make_strong(emulator, unique_table)
    _put(ddb["us-east-1"], unique_table, "n", 10)
    ddb["us-west-2"].update_item(TableName=unique_table, Key=key("n"), UpdateExpression="SET v = v + :one",
                                 ConditionExpression="v = :ten",
                                 ExpressionAttributeValues={":one": {"N": "1"}, ":ten": {"N": "10"}})
    assert _value(ddb["us-east-1"], unique_table, "n", consistent=True) == 11


@pytest.mark.slow
def test_concurrent_writes_from_two_regions_one_rejected_nothing_half_written(emulator: Any,
                                                                               unique_table: str) -> None:
    ddb = _make_strong(emulator, unique_table)
    before = emulator.lag_description()
    emulator.set_lag("fixed:1500")  # a long trip: the first write stays in flight while the second comes
    try:
        first = threading.Thread(target=_put, args=(ddb["us-east-1"], unique_table, "c", 1))
        first.start()
        wait_for(lambda: _value(ddb["us-east-1"], unique_table, "c", consistent=False) == 1)  # applied, unacked
        code, status, message = _error(_put, ddb["us-east-2"], unique_table, "c", 2)
        first.join()
    finally:
        emulator.set_lag(before)
    assert (code, status) == ("ReplicatedWriteConflictException", 409)
    assert "being modified by a request in another Region" in message
    emulator.wait_replicated()
    assert {r: _value(ddb[r], unique_table, "c", consistent=True) for r in US} == dict.fromkeys(US, 1)
    _put(ddb["us-east-2"], unique_table, "c", 2)  # retried once the first is acknowledged: it lands
    assert {r: _value(ddb[r], unique_table, "c", consistent=True) for r in US} == dict.fromkeys(US, 2)


def test_the_same_region_may_write_an_item_twice_at_once(emulator: Any, unique_table: str) -> None:
    ddb = _make_strong(emulator, unique_table)
    threads = [threading.Thread(target=_put, args=(ddb["us-east-1"], unique_table, "s", v)) for v in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _value(ddb["us-east-2"], unique_table, "s", consistent=True) in (1, 2)


# -- isolation --------------------------------------------------------------------------------
@pytest.fixture
def heal_all(emulator: Any) -> Iterator[None]:
    yield
    for region in US:
        emulator.heal(region)


def test_isolated_replica_the_other_two_keep_working(emulator: Any, unique_table: str, heal_all: None) -> None:
    ddb = _make_strong(emulator, unique_table)
    emulator.isolate("us-west-2")
    _put(ddb["us-east-1"], unique_table, "i", 1)
    assert _value(ddb["us-east-2"], unique_table, "i", consistent=True) == 1
    code, status, _ = _error(_put, ddb["us-west-2"], unique_table, "i", 2)
    assert status == 503
    emulator.heal("us-west-2")
    assert _value(ddb["us-west-2"], unique_table, "i", consistent=True) == 1


def test_witness_counts_for_the_quorum(emulator: Any, unique_table: str, heal_all: None) -> None:
    ddb = _make_strong(emulator, unique_table, ("us-east-1", "us-east-2"), witness="us-west-2")
    emulator.isolate("us-east-2")
    _put(ddb["us-east-1"], unique_table, "w", 5)  # acknowledged by the witness
    assert _value(ddb["us-east-1"], unique_table, "w", consistent=True) == 5
    emulator.heal("us-east-2")
    emulator.isolate("us-east-1")  # the only replica that applied it is gone: the witness has it
    assert _value(ddb["us-east-2"], unique_table, "w", consistent=True) == 5
    _put(ddb["us-east-2"], unique_table, "w", 6)


def test_a_member_without_quorum_fails_writes_and_strong_reads_not_eventual_reads(emulator: Any,
                                                                                  unique_table: str,
                                                                                  heal_all: None) -> None:
    ddb = _make_strong(emulator, unique_table)
    _put(ddb["us-east-1"], unique_table, "q", 1)
    emulator.wait_replicated()
    emulator.isolate("us-east-2")
    emulator.isolate("us-west-2")
    code, status, message = _error(_put, ddb["us-east-1"], unique_table, "q", 2)
    assert (code, status) == ("ServiceUnavailable", 503) and "quorum" in message
    code, status, _ = _error(_value, ddb["us-east-1"], unique_table, "q", True)
    assert status == 503
    assert _value(ddb["us-east-1"], unique_table, "q", consistent=False) == 1  # the failed write changed nothing


# -- metrics and MREC untouched ---------------------------------------------------------------
def test_no_replication_latency_for_strong_tables(emulator: Any, unique_table: str) -> None:
    ddb = _make_strong(emulator, unique_table)
    for n in range(3):
        _put(ddb["us-east-1"], unique_table, f"m{n}", n)
    emulator.wait_replicated()
    cw = client(emulator.endpoint, "cloudwatch", "us-east-1")
    now = datetime.now(UTC)
    for receiving in US[1:]:
        points = cw.get_metric_statistics(
            Namespace="AWS/DynamoDB", MetricName="ReplicationLatency", StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=1), Period=60, Statistics=["SampleCount"],
            Dimensions=[{"Name": "TableName", "Value": unique_table},
                        {"Name": "ReceivingRegion", "Value": receiving}])["Datapoints"]
        assert points == []


# -- the synchronous trip under each lag model ------------------------------------------------
def test_sync_trip_is_the_round_trip_under_realistic_lag_and_the_configured_figure_otherwise() -> None:
    import random

    from gtcore.emulator.lag import parse_lag
    from gtcore.emulator.strong import sync_trip
    from gtcore.regions import physics_floor_ms

    rng = random.Random(1)
    floor = 2 * physics_floor_ms("us-west-2", "us-east-1")
    trips = [sync_trip(parse_lag("realistic"), "us-west-2", "us-east-1", rng) * 1000 for _ in range(200)]
    assert floor + 4 <= min(trips) and max(trips) <= floor + 20 and floor > 20
    assert sync_trip(parse_lag("fixed:100"), "us-west-2", "us-east-1", rng) == 0.1
    pairs = parse_lag("pairs:us-west-2>us-east-1=30;default=fixed:70")
    assert sync_trip(pairs, "us-west-2", "us-east-1", rng) == 0.03
    assert sync_trip(pairs, "us-east-1", "us-west-2", rng) == 0.07
