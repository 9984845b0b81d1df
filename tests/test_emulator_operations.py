"""Every operation in botocore's model gets a JSON answer; bad requests get AWS's errors; moto's gaps never leak."""

from __future__ import annotations

import http.client
import json
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from emulator_helpers import client

RAW_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=False, read_timeout=30)
# botocore evaluates endpoint context parameters on these before sending: {} cannot be sent at all.
MINIMAL = {"BatchGetItem": {"RequestItems": {}}, "BatchWriteItem": {"RequestItems": {}}}


def _raw_client(endpoint: str, service: str):
    return boto3.client(service, region_name="us-west-2", endpoint_url=endpoint, config=RAW_CONFIG,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _error(call) -> dict:
    with pytest.raises(ClientError) as err:
        call()
    return {**err.value.response["Error"], "status": err.value.response["ResponseMetadata"]["HTTPStatusCode"]}


@pytest.mark.parametrize("service", ["dynamodb", "dynamodbstreams"])
def test_every_botocore_operation_answers_json_and_never_5xx(emulator, service) -> None:
    ddb = _raw_client(emulator.endpoint, service)
    operations = ddb.meta.service_model.operation_names
    assert len(operations) >= (60 if service == "dynamodb" else 4)
    bad = {}
    for operation in operations:
        start = time.monotonic()
        try:
            answer = ddb._make_api_call(operation, MINIMAL.get(operation, {}))
            status, code = answer["ResponseMetadata"]["HTTPStatusCode"], None
        except ClientError as err:
            status, code = err.response["ResponseMetadata"]["HTTPStatusCode"], err.response["Error"]["Code"]
        elapsed = time.monotonic() - start
        # An HTML answer shows up as a code made of the HTTP status (botocore cannot parse it).
        if status >= 500 or (code is not None and (code.isdigit() or not code)) or elapsed > 5:
            bad[operation] = (status, code, round(elapsed, 2))
    assert bad == {}


def _raw_post(endpoint: str, target: str, body: bytes) -> tuple[int, dict, float]:
    host, port = endpoint.removeprefix("http://").split(":")
    auth = "AWS4-HMAC-SHA256 Credential=t/20260101/us-west-2/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    start = time.monotonic()
    try:
        conn.request("POST", "/", body=body, headers={"X-Amz-Target": target, "Authorization": auth,
                                                      "Content-Type": "application/x-amz-json-1.0"})
        response = conn.getresponse()
        return response.status, json.loads(response.read()), time.monotonic() - start
    finally:
        conn.close()


def test_unknown_and_unoffered_operations_and_malformed_bodies_get_aws_errors(emulator) -> None:
    status, body, _ = _raw_post(emulator.endpoint, "DynamoDB_20120810.NoSuchOperation", b"{}")
    assert status == 400 and body["__type"].endswith("#UnknownOperationException")
    assert "NoSuchOperation" in body["message"]
    status, body, _ = _raw_post(emulator.endpoint, "DynamoDB_20120810.ListBulkOperations", b"{}")
    assert status == 400 and body["__type"].endswith("#UnknownOperationException")
    assert "ListBulkOperations" in body["message"]
    status, body, _ = _raw_post(emulator.endpoint, "DynamoDB_20120810.DescribeTable", b"{not json")
    assert status == 400 and body["__type"].endswith("#SerializationException")
    status, body, _ = _raw_post(emulator.endpoint, "DynamoDB_20120810.DescribeTable", b'{"TableName": 5}')
    assert status == 400 and body["__type"].endswith("#SerializationException")
    assert body["message"] == "NUMBER_VALUE cannot be converted to String"
    status, body, _ = _raw_post(emulator.endpoint, "DynamoDB_20120810.DescribeTable", b"{}")
    assert status == 400 and body["__type"].endswith("#ValidationException")
    assert body["message"] == ("1 validation error detected: Value null at 'tableName' failed to satisfy "
                               "constraint: Member must not be null")
    nested = b'{"TableName": "t", "Item": {"a": ' + b'{"M": {"a": ' * 40 + b'{"S": "x"}' + b"}}" * 40 + b"}}"
    status, body, _ = _raw_post(emulator.endpoint, "DynamoDB_20120810.PutItem", nested)
    assert status == 400 and body["message"] == "Nesting Levels have exceeded supported limits"


def test_constraints_are_listed_as_aws_lists_them(emulator) -> None:
    ddb = _raw_client(emulator.endpoint, "dynamodb")
    err = _error(lambda: ddb.create_table(TableName="x", BillingMode="SOMETIMES", KeySchema=[],
                                          AttributeDefinitions=[]))
    assert err["Code"] == "ValidationException" and err["status"] == 400
    assert err["Message"].startswith("2 validation errors detected: ")
    assert "Value 'SOMETIMES' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: " \
           "[PROVISIONED, PAY_PER_REQUEST]" in err["Message"]
    assert "Value '[]' at 'keySchema' failed to satisfy constraint: Member must have length greater than or " \
           "equal to 1" in err["Message"]
    err = _error(lambda: ddb.scan(TableName="tbl", Limit=0))
    assert "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1" \
        in err["Message"]


def test_what_moto_lacks_in_other_services_is_a_fast_error_in_their_protocol(emulator) -> None:
    sts = _raw_client(emulator.endpoint, "sts")
    err = _error(lambda: sts.assume_root(TargetPrincipal="123456789012", TaskPolicyArn={
        "arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}))
    assert (err["status"], err["Code"]) == (400, "InvalidAction") and "assume_root" in err["Message"]
    cloudwatch = _raw_client(emulator.endpoint, "cloudwatch")
    err = _error(lambda: cloudwatch.list_managed_insight_rules(ResourceARN="arn:aws:dynamodb:us-west-2:1:table/t"))
    assert err["status"] == 400 and err["Code"] in ("UnknownOperationException", "InvalidAction")
    aws_lambda = _raw_client(emulator.endpoint, "lambda")
    err = _error(lambda: aws_lambda.get_function_recursion_config(FunctionName="f"))
    assert (err["status"], err["Code"]) == (404, "UnknownOperationException")
    assert "<html" not in err["Message"]


def test_the_aws_cli_gets_a_missing_global_table_refused_at_once(emulator) -> None:
    """The AWS CLI retries 5xx answers (9 times, ~26 s); a 400 comes back on the first try."""
    import os
    import subprocess
    import sys

    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    start = time.monotonic()
    run = subprocess.run([aws, "--endpoint-url", emulator.endpoint, "--region", "us-west-2", "dynamodb",
                          "describe-global-table", "--global-table-name", "no-such-global-table"],
                         capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    assert run.returncode != 0 and "GlobalTableNotFoundException" in run.stderr
    assert elapsed < 15  # one attempt plus the CLI's own start-up; retries would take ~26 s
    assert client(emulator.endpoint, "dynamodb", "us-west-2").list_tables()["ResponseMetadata"]["HTTPStatusCode"] \
        == 200
