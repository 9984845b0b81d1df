"""Small helpers for tests that talk to an emulator over HTTP with boto3."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

FAST = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=10)


def client(endpoint: str, service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint, config=FAST,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def create_table(ddb: Any, name: str, **extra: Any) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                              {"AttributeName": "SK", "AttributeType": "S"},
                              *extra.pop("extra_attributes", [])],
        BillingMode="PAY_PER_REQUEST", **extra,
    )


def wait_for(check: Callable[[], Any], timeout: float = 10.0, every: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(every)


def make_global(endpoint: str, table: str, regions: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    """Create `table` in regions[0], add replicas in the rest, wait until all are ACTIVE."""
    clients = {r: client(endpoint, "dynamodb", r) for r in regions}
    create_table(clients[regions[0]], table, **extra)
    for region in regions[1:]:
        clients[regions[0]].update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": region}}])

    def all_active() -> bool:
        desc = clients[regions[0]].describe_table(TableName=table)["Table"]
        return desc["TableStatus"] == "ACTIVE" and all(
            r["ReplicaStatus"] == "ACTIVE" for r in desc.get("Replicas", [])
        ) and len(desc.get("Replicas", [])) == len(regions) - 1

    wait_for(all_active)
    return clients


def key(pk: str, sk: str = "0") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def scan_all(ddb: Any, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    items, kwargs = {}, {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            items[(item["PK"]["S"], item["SK"]["S"])] = item
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
