"""The emulator forgets what it deleted or trimmed: item versions, stream records and metric
datums do not stay in memory (moto keeps every model instance it ever made, for its own
dashboard, unless told otherwise)."""

from __future__ import annotations

import gc

import pytest
from emulator_helpers import key, make_global
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import StreamRecord


def _live(cls: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is cls)


@pytest.mark.slow
def test_deleted_and_overwritten_items_do_not_stay_in_memory(emulator, unique_table):
    clients = make_global(emulator.endpoint, unique_table, ("us-west-2", "eu-west-1"),
                          StreamSpecification={"StreamEnabled": True,
                                               "StreamViewType": "NEW_AND_OLD_IMAGES"})
    ddb = clients["us-west-2"]
    items_before = _live(Item)
    for i in range(200):
        ddb.put_item(TableName=unique_table, Item={**key(f"gone{i}"), "v": {"N": str(i)}})
        ddb.update_item(TableName=unique_table, Key=key("hot"), UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": {"N": str(i)}})
        ddb.delete_item(TableName=unique_table, Key=key(f"gone{i}"))
    assert emulator.wait_replicated(20)
    # 200 x (put + update + delete) in two regions made thousands of item versions; what is
    # left alive is the one hot item per region (and nothing per deleted one).
    grown = _live(Item) - items_before
    assert grown <= 10, f"{grown} item versions are still in memory"


def test_trimmed_stream_records_do_not_stay_in_memory(emulator, unique_table):
    clients = make_global(emulator.endpoint, unique_table, ("us-west-2",),
                          StreamSpecification={"StreamEnabled": True,
                                               "StreamViewType": "NEW_AND_OLD_IMAGES"})
    records_before = _live(StreamRecord)
    for i in range(150):
        clients["us-west-2"].put_item(TableName=unique_table, Item={**key(f"s{i}"),
                                                                     "v": {"N": str(i)}})
    with emulator.store.region_lock("us-west-2"):  # what the emulator's trimming does, on
        table = emulator.store.table("us-west-2", unique_table)  # this table only
        kept = 20
        drop = len(table.stream_shard.items) - kept
        del table.stream_shard.items[:drop]
        table.stream_shard.starting_sequence_number += drop
    grown = _live(StreamRecord) - records_before
    assert grown <= kept + 5, f"{grown} stream records alive, {kept} kept in the stream"


@pytest.mark.slow
def test_reads_of_missing_items_and_deletes_leave_no_empty_buckets(emulator, unique_table):
    """moto keeps items per hash key in a defaultdict: a GetItem of a missing key, or deleting a
    hash key's last item, left an empty bucket behind for good."""
    clients = make_global(emulator.endpoint, unique_table, ("us-west-2", "eu-west-1"))
    ddb = clients["us-west-2"]
    for i in range(100):
        ddb.get_item(TableName=unique_table, Key=key(f"never{i}"))
        ddb.put_item(TableName=unique_table, Item={**key(f"brief{i}"), "v": {"N": "1"}})
        ddb.delete_item(TableName=unique_table, Key=key(f"brief{i}"))
    ddb.put_item(TableName=unique_table, Item={**key("kept", "a"), "v": {"N": "1"}})
    ddb.put_item(TableName=unique_table, Item={**key("kept", "b"), "v": {"N": "1"}})
    ddb.delete_item(TableName=unique_table, Key=key("kept", "a"))
    assert emulator.wait_replicated(20)
    for region in ("us-west-2", "eu-west-1"):
        with emulator.store.region_lock(region):
            buckets = dict(emulator.store.table(region, unique_table).items)
        assert list(buckets) and all(buckets.values()), f"{region}: {len(buckets)} buckets"
        assert len(buckets) == 1  # just "kept", still holding "b"
    assert [i["SK"]["S"] for i in clients["eu-west-1"].query(
        TableName=unique_table, KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": {"S": "kept"}}, ConsistentRead=True)["Items"]] == ["b"]
