"""Every DynamoDB and DynamoDB Streams operation in botocore's model, sent empty to a fresh emulator.

Prints, per operation, the HTTP status, error code and time of the answer to an empty (or, where
botocore cannot build an empty one, minimal) request sent with boto3, retries off and client-side
validation off; then how many answered 5xx or non-JSON; then how long an unknown operation (an
X-Amz-Target naming nothing) and an operation the emulator does not offer take to answer, both
through boto3 with its default retries (what the AWS CLI does) and as one raw HTTP request.

Run: .venv/bin/python bench/bench_operations.py
"""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from gtcore.emulator import Emulator  # noqa: E402

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=False, read_timeout=60)
DEFAULT_RETRIES = Config(parameter_validation=False, read_timeout=60)
# botocore evaluates endpoint context parameters on these before sending: {} cannot be sent at all.
MINIMAL = {"BatchGetItem": {"RequestItems": {}}, "BatchWriteItem": {"RequestItems": {}}}


def call(client: Any, operation: str) -> tuple[int | None, str, float, bool]:
    """(HTTP status, error code or '-', milliseconds, answer parsed as JSON)."""
    start = time.perf_counter()
    try:
        answer = client._make_api_call(operation, MINIMAL.get(operation, {}))
        status, code = answer["ResponseMetadata"]["HTTPStatusCode"], "-"
    except ClientError as err:
        status = err.response["ResponseMetadata"].get("HTTPStatusCode")
        code = err.response["Error"].get("Code", "?")
    elapsed = (time.perf_counter() - start) * 1000
    is_json = not code.isdigit()  # botocore names an unparseable (HTML) error by its HTTP status
    return status, code, elapsed, is_json


def raw_unknown(endpoint: str, target: str) -> tuple[int, float]:
    host, port = endpoint.removeprefix("http://").split(":")
    auth = ("AWS4-HMAC-SHA256 Credential=bench/20260101/us-west-2/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0")
    times, status = [], 0
    for _ in range(20):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        start = time.perf_counter()
        conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": target, "Authorization": auth,
                                                      "Content-Type": "application/x-amz-json-1.0"})
        response = conn.getresponse()
        response.read()
        times.append((time.perf_counter() - start) * 1000)
        status = response.status
        conn.close()
    return status, statistics.median(times)


def main() -> None:
    emu = Emulator(port=0, lag="fixed:100").start()
    try:
        for service in ("dynamodb", "dynamodbstreams"):
            client = boto3.client(service, region_name="us-west-2", endpoint_url=emu.endpoint, config=NO_RETRIES)
            operations = client.meta.service_model.operation_names
            bad = []
            for operation in operations:
                status, code, ms, is_json = call(client, operation)
                if status is None or status >= 500 or not is_json:
                    bad.append(operation)
                print(f"{service:16} {operation:38} {status} {code:32} {ms:7.1f} ms")
            print(f"{service}: {len(bad)} of {len(operations)} operations answer 5xx or non-JSON: {bad}\n")
        for target in ("DynamoDB_20120810.NoSuchOperation", "DynamoDB_20120810.SearchVectors"):
            status, ms = raw_unknown(emu.endpoint, target)
            print(f"raw POST X-Amz-Target {target}: HTTP {status}, median {ms:.1f} ms")
        cli_like = boto3.client("dynamodb", region_name="us-west-2", endpoint_url=emu.endpoint,
                                config=DEFAULT_RETRIES)
        for operation in ("ListBulkOperations", "CreateGlobalTable"):
            status, code, ms, _ = call(cli_like, operation)
            print(f"boto3 default retries {operation}: HTTP {status} {code} in {ms:.0f} ms")
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
