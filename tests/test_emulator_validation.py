"""Issue 9, points 1, 2, 4 and 6: the emulator refuses at the source what DynamoDB refuses, with
AWS's error, and a refused request changes nothing in any region; every write path is captured
whatever the case of its X-Amz-Target; transactions cost what they touch."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError
from emulator_helpers import client, key, make_global, scan_all, wait_for

from gtcore.target import Connection, Target
from gtcore.workshop import provision_workshop

WEST, EU, AP = "us-west-2", "eu-west-1", "ap-southeast-2"
TINY = "0." + "0" * 200 + "1"


def _error(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def _replicated(emulator, clients, table) -> None:
    """Every replica holds the same items once replication settles."""
    assert emulator.wait_replicated(10)
    images = [scan_all(c, table) for c in clients.values()]
    assert all(image == images[0] for image in images[1:])


def test_update_with_a_number_out_of_range_is_refused_and_replication_goes_on(emulator, unique_table):
    # On main moto stored 1E-200, the replica refused it and the replication thread died.
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    west, t = clients[WEST], unique_table
    for value, words in (("1E-200", "Number underflow"), (TINY, "Number underflow"), ("1E126", "Number overflow"),
                         ("1" * 39, "more than 38 significant digits"), ("12abc", "cannot be converted")):
        code, message = _error(lambda v=value: west.update_item(
            TableName=t, Key=key("b"), UpdateExpression="SET Bookmark = :v",
            ExpressionAttributeValues={":v": {"N": v}}))
        assert code == "ValidationException" and words in message
    assert "Item" not in west.get_item(TableName=t, Key=key("b"))
    west.put_item(TableName=t, Item={**key("after"), "n": {"N": "9.9999999999999999999999999999999999999E+125"}})
    west.put_item(TableName=t, Item={**key("small"), "n": {"N": "-1E-130"}})
    wait_for(lambda: "Item" in clients[EU].get_item(TableName=t, Key=key("small")))
    _replicated(emulator, clients, t)
    assert emulator.health()["healthy"] and not emulator.faults()["faults"]


def test_every_write_path_checks_numbers(emulator, unique_table):
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    west, t = clients[WEST], unique_table
    bad = {"N": "1E-131"}
    calls = [
        lambda: west.put_item(TableName=t, Item={**key("p"), "n": bad}),
        lambda: west.put_item(TableName=t, Item={**key("p"), "s": {"NS": ["1", "1E200"]}}),
        lambda: west.delete_item(TableName=t, Key=key("p"), ConditionExpression="n = :v",
                                 ExpressionAttributeValues={":v": bad}),
        lambda: west.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {**key("p"), "n": bad}}}]}),
        lambda: west.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {**key("p"), "n": bad}}}]),
        lambda: west.execute_statement(Statement=f'INSERT INTO "{t}" VALUE {{\'PK\': ?, \'SK\': ?, \'n\': ?}}',
                                       Parameters=[{"S": "p"}, {"S": "0"}, bad]),
        lambda: west.batch_execute_statement(Statements=[{
            "Statement": f'INSERT INTO "{t}" VALUE {{\'PK\': ?, \'SK\': ?, \'n\': ?}}',
            "Parameters": [{"S": "p"}, {"S": "0"}, bad]}]),
        lambda: west.execute_transaction(TransactStatements=[{
            "Statement": f'INSERT INTO "{t}" VALUE {{\'PK\': ?, \'SK\': ?, \'n\': ?}}',
            "Parameters": [{"S": "p"}, {"S": "0"}, bad]}]),
    ]
    for call in calls:
        code, message = _error(call)
        assert code == "ValidationException" and ("Number underflow" in message or "Number overflow" in message)
    assert scan_all(west, t) == {}


@pytest.mark.parametrize("bad_request, words", [
    ({"PutRequest": {"Item": {"PK": {"N": "1"}, "SK": {"S": "x"}}}}, "Type mismatch for key PK expected: S actual: N"),
    ({"PutRequest": {"Item": {**key("big"), "blob": {"S": "x" * 410_000}}}}, "Item size has exceeded"),
    ({"PutRequest": {"Item": {"PK": {"S": ""}, "SK": {"S": "x"}}}}, "cannot contain an empty string value"),
    ({"PutRequest": {"Item": {"PK": {"S": "x" * 2049}, "SK": {"S": "x"}}}}, "Size of hashkey has exceeded"),
    ({"PutRequest": {"Item": {"PK": {"S": "x"}, "SK": {"S": "x" * 1025}}}}, "size of all range keys"),
    ({"PutRequest": {"Item": {"PK": {"S": "x"}}}}, "Missing the key SK in the item"),
    ({"PutRequest": {"Item": {**key("valid"), "v": {"N": "2"}}}}, "contains duplicates"),
    ({"DeleteRequest": {"Key": {"PK": {"S": "x"}}}}, "does not match the schema"),
])
def test_a_batch_with_one_invalid_request_changes_nothing(emulator, unique_table, bad_request, words):
    # On main moto wrote the valid put, answered 400, and the item never replicated.
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    west, t = clients[WEST], unique_table
    west.put_item(TableName=t, Item={**key("kept"), "v": {"N": "1"}})
    code, message = _error(lambda: west.batch_write_item(RequestItems={t: [
        {"PutRequest": {"Item": {**key("valid"), "v": {"N": "1"}}}},
        {"DeleteRequest": {"Key": key("kept")}},
        bad_request,
    ]}))
    assert code == "ValidationException" and words in message
    _replicated(emulator, clients, t)
    assert set(scan_all(west, t)) == {("kept", "0")}


def test_a_batch_of_more_than_25_is_refused_whole(emulator, unique_table):
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    west, t = clients[WEST], unique_table
    code, message = _error(lambda: west.batch_write_item(RequestItems={t: [
        {"PutRequest": {"Item": key(f"k{i}")}} for i in range(26)]}))
    assert code == "ValidationException" and "less than or equal to 25" in message
    assert scan_all(west, t) == {}


def test_an_update_that_would_grow_the_item_past_400_kb_changes_nothing(emulator, unique_table):
    # On main `SET a = :small, b = :big` on an item holding 300 KB set a, then failed on b.
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    west, t = clients[WEST], unique_table
    west.put_item(TableName=t, Item={**key("u"), "held": {"S": "h" * 300_000}, "n": {"N": "1"}})
    before = west.get_item(TableName=t, Key=key("u"))["Item"]
    code, message = _error(lambda: west.update_item(
        TableName=t, Key=key("u"), UpdateExpression="SET a = :small, n = n + :one, b = :big",
        ExpressionAttributeValues={":small": {"S": "a"}, ":one": {"N": "1"}, ":big": {"S": "b" * 120_000}}))
    assert code == "ValidationException" and "Item size to update has exceeded" in message
    assert west.get_item(TableName=t, Key=key("u"))["Item"] == before
    _replicated(emulator, clients, t)


def test_an_update_whose_arithmetic_leaves_the_number_range_changes_nothing(emulator, unique_table):
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    west, t = clients[WEST], unique_table
    west.put_item(TableName=t, Item={**key("n"), "n": {"N": "9E125"}})
    code, message = _error(lambda: west.update_item(
        TableName=t, Key=key("n"), UpdateExpression="SET n = n + :v, m = :m",
        ExpressionAttributeValues={":v": {"N": "9E125"}, ":m": {"S": "x"}}))
    assert code == "ValidationException" and "Number overflow" in message
    assert west.get_item(TableName=t, Key=key("n"))["Item"] == {**key("n"), "n": {"N": "9E125"}}
    west.update_item(TableName=t, Key=key("n"), UpdateExpression="SET n = n - :v",
                     ExpressionAttributeValues={":v": {"N": "1E125"}})
    assert west.get_item(TableName=t, Key=key("n"))["Item"]["n"] == {"N": "8E+125"}
    _replicated(emulator, clients, t)


def test_a_cancelled_transaction_changes_nothing_and_touches_only_its_items(emulator, unique_table):
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    west, t = clients[WEST], unique_table
    west.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {**key(f"o{i}"), "v": {"N": str(i)}}}}
                                            for i in range(20)]})
    west.put_item(TableName=t, Item={**key("x"), "v": {"N": "1"}})
    before = scan_all(west, t)
    with pytest.raises(ClientError) as err:
        west.transact_write_items(TransactItems=[
            {"Put": {"TableName": t, "Item": {**key("new"), "v": {"N": "1"}}}},
            {"Update": {"TableName": t, "Key": key("x"), "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"Delete": {"TableName": t, "Key": key("o3")}},
            {"ConditionCheck": {"TableName": t, "Key": key("o4"), "ConditionExpression": "v = :no",
                                "ExpressionAttributeValues": {":no": {"N": "99"}}}},
        ])
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert scan_all(west, t) == before
    table = emulator.store.table(WEST, t)
    assert emulator.store.table(WEST, t) is table  # rolled back in place, not by swapping in a copy
    # A transaction that succeeds replicates every item it wrote.
    west.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": {**key("new"), "v": {"N": "1"}}}},
        {"Delete": {"TableName": t, "Key": key("o3")}},
    ])
    _replicated(emulator, clients, t)
    assert ("new", "0") in scan_all(clients[EU], t) and ("o3", "0") not in scan_all(clients[EU], t)


def _signed(emulator, target: str, body: dict, region: str = WEST) -> tuple[int, dict]:
    request = botocore.awsrequest.AWSRequest(
        "POST", emulator.endpoint + "/", data=json.dumps(body).encode(),
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"})
    credentials = botocore.credentials.Credentials("testing", "testing")
    botocore.auth.SigV4Auth(credentials, "dynamodb", region).add_auth(request)
    raw = urllib.request.Request(emulator.endpoint + "/", data=request.body, headers=dict(request.headers),
                                 method="POST")
    try:
        with urllib.request.urlopen(raw, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize("target", ["dynamodb_20120810.PutItem", "DynamoDB_20120810.putitem",
                                    "DYNAMODB_20120810.PUTITEM"])
def test_a_case_changed_target_is_captured_and_replicated(emulator, unique_table, target):
    # On main moto applied `dynamodb_20120810.PutItem` but the gateway did not capture it.
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    status, _ = _signed(emulator, target, {"TableName": unique_table, "Item": {**key("lc"), "v": {"N": "1"}}})
    assert status == 200
    wait_for(lambda: "Item" in clients[EU].get_item(TableName=unique_table, Key=key("lc")))
    status, answer = _signed(emulator, target, {"TableName": unique_table, "Item": {**key("lc"), "v": {"N": "1E-131"}}})
    assert status == 400 and answer["__type"].endswith("ValidationException")


def test_partiql_update_with_a_false_where_answers_conditional_check_failed(emulator, unique_table):
    # On main this answered an HTML 500.
    clients = make_global(emulator.endpoint, unique_table, (WEST, EU))
    west, t = clients[WEST], unique_table
    west.put_item(TableName=t, Item={**key("a"), "n": {"N": "1"}})
    statement = f'UPDATE "{t}" SET n = ? WHERE PK = ? AND SK = ?'
    for params in ([{"N": "2"}, {"S": "missing"}, {"S": "0"}],):
        code, message = _error(lambda p=params: west.execute_statement(Statement=statement, Parameters=p))
        assert (code, message) == ("ConditionalCheckFailedException", "The conditional request failed")
    code, _ = _error(lambda: west.execute_statement(Statement=statement + " AND n = ?",
                                                     Parameters=[{"N": "2"}, {"S": "a"}, {"S": "0"}, {"N": "7"}]))
    assert code == "ConditionalCheckFailedException"
    assert scan_all(west, t) == {("a", "0"): {**key("a"), "n": {"N": "1"}}}
    west.execute_statement(Statement=statement, Parameters=[{"N": "2"}, {"S": "a"}, {"S": "0"}])
    wait_for(lambda: clients[EU].get_item(TableName=t, Key=key("a")).get("Item", {}).get("n") == {"N": "2"})
    # What moto's parser cannot read is a ValidationException, not an HTML 500.
    code, message = _error(lambda: west.execute_statement(Statement=f"UPDATE \"{t}\" SET n = 3 WHERE PK = 'a'"))
    assert code == "ValidationException" and "PartiQL" in message


def test_malformed_dynamodb_json_is_a_serialization_error(emulator):
    deep = {"TableName": "x", "Item": json.loads("[" * 50 + "]" * 50)}
    status, answer = _signed(emulator, "DynamoDB_20120810.PutItem", deep)
    assert status == 400
    raw = botocore.awsrequest.AWSRequest("POST", emulator.endpoint + "/", data=b"[" * 100_000,
                                         headers={"X-Amz-Target": "DynamoDB_20120810.PutItem",
                                                  "Content-Type": "application/x-amz-json-1.0"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("t", "t"), "dynamodb", WEST).add_auth(raw)
    request = urllib.request.Request(emulator.endpoint + "/", data=raw.body, headers=dict(raw.headers), method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    answer = json.loads(err.value.read())  # too deep to parse at all: AWS's nesting limit answers first
    assert err.value.code == 400 and answer["__type"].endswith("ValidationException")
    assert "Nesting Levels" in answer["message"]


def test_the_regional_api_set_route_gets_aws_error_and_replication_goes_on(emulator):
    table = "gt-valid-api"
    conn = Connection(Target(regions=(WEST, EU), table=table, endpoint=emulator.endpoint))
    assert provision_workshop(conn, timeout=60).ok
    base = f"{emulator.endpoint}/_api/{WEST}/{table}-dev/api"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{base}/set/user100/AshlandValley/{TINY}", timeout=10)
    answer = json.loads(err.value.read())
    assert err.value.code == 400 and answer["Error"] == "ValidationException" and "underflow" in answer["Message"]
    with urllib.request.urlopen(f"{base}/set/user100/AshlandValley/7", timeout=10) as reply:
        assert reply.status == 200
    eu = client(emulator.endpoint, "dynamodb", EU)
    wait_for(lambda: eu.get_item(TableName=table, Key={"PK": {"S": "user100"}, "SK": {"S": "AshlandValley"}})
             .get("Item", {}).get("Bookmark") == {"N": "7"})
    assert emulator.health()["healthy"]
