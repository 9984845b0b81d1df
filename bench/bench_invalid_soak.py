"""Invalid-write soak: valid writes mixed with a steady stream of invalid ones, over three regions.

Against an emulator in its own process (a global table in three regions), one writer per region
runs for ``--minutes`` (default 10) at ``--rate`` requests per second each. Every writer owns its
keys, so the final value of each key is known. Its requests rotate through:

* valid writes (the expected final state): PutItem, UpdateItem ``SET n = n + 1``, a 25-item
  BatchWriteItem, a TransactWriteItems, and a PutItem sent with a lower-case X-Amz-Target;
* invalid ones, each of which must fail with AWS's error and change nothing: numbers out of range
  (PutItem 1E-200, UpdateItem 0.<200 zeros>1, 39 digits), a 410 KB item, an UpdateItem that would
  grow a 300 KB item past 400 KB, half-valid batches (a valid put next to a key of the wrong type,
  next to an empty key, and a batch with a duplicate key), a cancelled transaction, and PartiQL
  UPDATE with a false WHERE. Their valid halves write "phantom" keys that must never appear.

Every ``--check-every`` seconds a canary written in one region must reach the other two within
``--canary-timeout`` seconds (replication never stopped) and ``GET /_emulator/faults`` must say
healthy. At the end, after replication drains, it prints the request counts, lost writes (a key
whose final value differs from its last accepted write in any region: must be 0), phantom writes
(0), invalid requests accepted (0), server errors (0), whether the replicas are identical, canary
and health results, and the replication faults the emulator counted.

Run: .venv/bin/python bench/bench_invalid_soak.py [--minutes 10] [--rate 15] [--check-every 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from collections import Counter
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from setup.emulator import spawn  # noqa: E402

REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")
TABLE = "invalid-soak"
CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=30)
TINY = "0." + "0" * 200 + "1"


def ddb(endpoint: str, region: str, *, lower_case_target: bool = False) -> Any:
    client = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint, config=CONFIG)
    if lower_case_target:
        def lower(request: Any, **_: Any) -> None:
            request.headers.replace_header("X-Amz-Target", request.headers["X-Amz-Target"].lower())
        client.meta.events.register("before-sign.dynamodb.PutItem", lower)
    return client


def key(pk: str, sk: str = "0") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def setup(endpoint: str) -> None:
    home = ddb(endpoint, REGIONS[0])
    home.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                              {"AttributeName": "SK", "AttributeType": "S"}])
    for region in REGIONS[1:]:
        home.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": region}}])
    while True:
        desc = home.describe_table(TableName=TABLE)["Table"]
        if desc["TableStatus"] == "ACTIVE" and len(desc.get("Replicas", [])) == len(REGIONS) - 1 and all(
                r["ReplicaStatus"] == "ACTIVE" for r in desc["Replicas"]):
            return
        time.sleep(0.1)


class Writer:
    """One region's writer: rotates through valid and invalid requests, remembers what it expects."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.region = region
        self.client = ddb(endpoint, region)
        self.lower = ddb(endpoint, region, lower_case_target=True)
        self.expected: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []
        self.i = 0
        big = {**key(f"{region}-big"), "blob": {"S": "b" * 300_000}, "n": {"N": "0"}}
        self.client.put_item(TableName=TABLE, Item=big)
        self.expected[(f"{region}-big", "0")] = big

    def _valid(self, kind: str, call: Any) -> None:
        try:
            call()
            self.counts[f"valid {kind}"] += 1
        except ClientError as err:
            self.problems.append(f"valid {kind} refused: {err}")

    def _invalid(self, kind: str, code: str, call: Any) -> None:
        try:
            call()
        except ClientError as err:
            got = err.response["Error"]["Code"]
            status = err.response["ResponseMetadata"]["HTTPStatusCode"]
            if got != code or status >= 500:
                self.problems.append(f"invalid {kind}: expected {code}, got {status} {got}")
                self.counts["server errors" if status >= 500 else "wrong error codes"] += 1
            self.counts[f"invalid {kind}"] += 1
            return
        self.counts["invalid accepted"] += 1
        self.problems.append(f"invalid {kind} was accepted")

    def step(self) -> None:
        i, r, c, t = self.i, self.region, self.client, TABLE
        self.i += 1
        pk = f"{r}-{i % 400}"
        item = {**key(pk), "v": {"N": str(i)}, "by": {"S": r}}
        phantom = {**key(f"phantom-{r}-{i}"), "v": {"N": "1"}}
        steps = [
            lambda: self._valid("PutItem", lambda: c.put_item(TableName=t, Item=item)),
            lambda: self._invalid("PutItem 1E-200", "ValidationException", lambda: c.put_item(
                TableName=t, Item={**key(pk), "v": {"N": "1E-200"}})),
            lambda: self._valid("lower-case target PutItem", lambda: self.lower.put_item(TableName=t, Item=item)),
            lambda: self._invalid("UpdateItem 0.<200 zeros>1", "ValidationException", lambda: c.update_item(
                TableName=t, Key=key(pk), UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"N": TINY}})),
            lambda: self._invalid("UpdateItem 39 digits", "ValidationException", lambda: c.update_item(
                TableName=t, Key=key(pk), UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"N": "1" * 39}})),
            lambda: self._valid("UpdateItem n = n + 1", lambda: self._increment(f"{r}-big")),
            lambda: self._invalid("PutItem 410 KB", "ValidationException", lambda: c.put_item(
                TableName=t, Item={**phantom, "blob": {"S": "x" * 410_000}})),
            lambda: self._invalid("UpdateItem past 400 KB", "ValidationException", lambda: c.update_item(
                TableName=t, Key=key(f"{r}-big"), UpdateExpression="SET n = n + :one, more = :more",
                ExpressionAttributeValues={":one": {"N": "1"}, ":more": {"S": "m" * 120_000}})),
            lambda: self._valid("BatchWriteItem x25", lambda: self._batch(i)),
            lambda: self._invalid("half-valid batch, wrong key type", "ValidationException", lambda: c.batch_write_item(
                RequestItems={t: [{"PutRequest": {"Item": phantom}},
                                  {"PutRequest": {"Item": {"PK": {"N": "1"}, "SK": {"S": "x"}}}}]})),
            lambda: self._invalid("half-valid batch, empty key", "ValidationException", lambda: c.batch_write_item(
                RequestItems={t: [{"PutRequest": {"Item": phantom}},
                                  {"PutRequest": {"Item": {"PK": {"S": ""}, "SK": {"S": "x"}}}}]})),
            lambda: self._invalid("batch with a duplicate key", "ValidationException", lambda: c.batch_write_item(
                RequestItems={t: [{"PutRequest": {"Item": phantom}}, {"PutRequest": {"Item": phantom}}]})),
            lambda: self._valid("TransactWriteItems", lambda: self._transaction(i)),
            lambda: self._invalid("cancelled transaction", "TransactionCanceledException", lambda: self._cancelled(
                phantom)),
            lambda: self._invalid("PartiQL UPDATE false WHERE", "ConditionalCheckFailedException",
                                  lambda: c.execute_statement(
                                      Statement=f'UPDATE "{t}" SET v = ? WHERE PK = ? AND SK = ?',
                                      Parameters=[{"N": "1"}, {"S": f"phantom-{r}-{i}"}, {"S": "0"}])),
        ]
        steps[i % len(steps)]()
        if i % len(steps) in (0, 2):
            self.expected[(pk, "0")] = item

    def _cancelled(self, phantom: dict[str, Any]) -> None:
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": phantom}},
            {"ConditionCheck": {"TableName": TABLE, "Key": key(f"{self.region}-big"),
                                "ConditionExpression": "attribute_not_exists(PK)"}}])

    def _increment(self, pk: str) -> None:
        answer = self.client.update_item(TableName=TABLE, Key=key(pk), UpdateExpression="SET n = n + :one",
                                         ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="ALL_NEW")
        self.expected[(pk, "0")] = answer["Attributes"]

    def _batch(self, i: int) -> None:
        items = [{**key(f"{self.region}-batch-{(i + j) % 200}"), "v": {"N": str(i)}} for j in range(25)]
        self.client.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": it}} for it in items]})
        for it in items:
            self.expected[(it["PK"]["S"], "0")] = it

    def _transaction(self, i: int) -> None:
        items = [{**key(f"{self.region}-tx-{(i + j) % 50}"), "v": {"N": str(i)}} for j in range(3)]
        self.client.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": it}} for it in items])
        for it in items:
            self.expected[(it["PK"]["S"], "0")] = it


def run_writer(writer: Writer, rate: float, stop: threading.Event) -> None:
    start, sent = time.monotonic(), 0
    while not stop.is_set():
        stop.wait(max(0.0, start + sent / rate - time.monotonic()))
        sent += 1
        try:
            writer.step()
        except Exception as err:  # a transport failure or an unparseable answer: count, go on
            writer.counts["server errors"] += 1
            writer.problems.append(f"{type(err).__name__}: {err}")


def control(endpoint: str, action: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{endpoint}/_emulator/{action}", timeout=10) as reply:
        return json.loads(reply.read())


def scan_all(client: Any) -> dict[tuple[str, str], dict[str, Any]]:
    items, kwargs = {}, {"TableName": TABLE, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        for item in page["Items"]:
            items[(item["PK"]["S"], item["SK"]["S"])] = item
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def canary(endpoint: str, n: int, timeout: float) -> bool:
    """A write in one region reaches the other two within `timeout` seconds."""
    source = REGIONS[n % len(REGIONS)]
    item = {**key(f"canary-{n}"), "at": {"N": str(time.time())}}
    ddb(endpoint, source).put_item(TableName=TABLE, Item=item)
    deadline = time.monotonic() + timeout
    others = [ddb(endpoint, r) for r in REGIONS if r != source]
    while time.monotonic() < deadline:
        if all(c.get_item(TableName=TABLE, Key=key(f"canary-{n}")).get("Item") == item for c in others):
            return True
        time.sleep(0.05)
    return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=15.0, help="requests per second per region")
    parser.add_argument("--check-every", type=float, default=10.0)
    parser.add_argument("--canary-timeout", type=float, default=5.0)
    args = parser.parse_args()

    with spawn("fixed:100", replica_create_seconds=0.2) as emu:
        setup(emu.endpoint)
        writers = [Writer(emu.endpoint, r) for r in REGIONS]
        stop = threading.Event()
        threads = [threading.Thread(target=run_writer, args=(w, args.rate, stop)) for w in writers]
        t0 = time.monotonic()
        for thread in threads:
            thread.start()
        canaries, canary_failures, unhealthy, n = 0, 0, [], 0
        while time.monotonic() - t0 < args.minutes * 60:
            time.sleep(min(args.check_every, max(0.0, args.minutes * 60 - (time.monotonic() - t0))))
            canaries += 1
            if not canary(emu.endpoint, n, args.canary_timeout):
                canary_failures += 1
            n += 1
            health = control(emu.endpoint, "faults")
            if not health["healthy"]:
                unhealthy.append(health["problems"])
            elapsed = time.monotonic() - t0
            sent = sum(sum(w.counts.values()) for w in writers)
            print(f"  {elapsed:6.0f} s: {sent} requests, canaries {canaries - canary_failures}/{canaries} on time, "
                  f"faults {health['total']}, healthy {health['healthy']}", flush=True)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - t0
        drained = emu.wait_replicated(120)
        faults = control(emu.endpoint, "faults")
        images = {r: scan_all(ddb(emu.endpoint, r)) for r in REGIONS}

    counts: Counter[str] = Counter()
    for w in writers:
        counts.update(w.counts)
    expected = {k: v for w in writers for k, v in w.expected.items()}
    lost = sum(1 for k, v in expected.items() for r in REGIONS if images[r].get(k) != v)
    phantoms = sum(1 for r in REGIONS for (pk, _) in images[r] if pk.startswith("phantom-"))
    identical = all(images[r] == images[REGIONS[0]] for r in REGIONS[1:])
    valid = sum(v for k, v in counts.items() if k.startswith("valid "))
    invalid = sum(v for k, v in counts.items() if k.startswith("invalid ") and k != "invalid accepted")
    print(f"\nInvalid-write soak: {elapsed / 60:.1f} min over {', '.join(REGIONS)}, "
          f"{valid + invalid} requests ({valid} valid, {invalid} invalid, {(valid + invalid) / elapsed:.0f}/s)")
    for kind, count in sorted(counts.items()):
        print(f"  {count:7d}  {kind}")
    print(f"lost writes: {lost} (keys x regions whose final item is not the last accepted write; "
          f"{len(expected)} keys checked in {len(REGIONS)} regions)")
    print(f"phantom writes (valid halves of refused requests that appeared): {phantoms}")
    print(f"invalid requests accepted: {counts['invalid accepted']}; server errors: {counts['server errors']}; "
          f"wrong error codes: {counts['wrong error codes']}")
    print(f"replicas identical at the end: {identical} ({len(images[REGIONS[0]])} items each; drained: {drained})")
    print(f"replication never stopped: {canary_failures == 0 and not unhealthy} "
          f"(canaries on time {canaries - canary_failures}/{canaries}, unhealthy samples {len(unhealthy)})")
    print(f"replication faults counted by the emulator: {faults['total']}")
    problems = [p for w in writers for p in w.problems]
    for problem in problems[:10]:
        print(f"  problem: {problem}")


if __name__ == "__main__":
    main()
