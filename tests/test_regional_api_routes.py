"""Every route of the regional API in every region, served by a private emulator, including
errors, the throttled state (reserved concurrency 0 through the Lambda API) and recovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import botocore.config
import pytest

from gtcore.errors import RegionUnavailableError
from gtcore.regional_client import RegionalApi
from gtcore.target import Connection, Target
from gtcore.workshop import api_zip, provision_workshop, sample_items
from setup.emulator import spawn

REGIONS = ("us-west-2", "eu-west-1")
TABLE = "global-serverless"
FUNCTION = "global-serverless-dev"


@pytest.fixture(scope="module")
def emu():
    with spawn("fixed:50", replica_create_seconds=0.2) as emulator:
        conn = Connection(Target(regions=REGIONS, table=TABLE, endpoint=emulator.endpoint))
        report = provision_workshop(conn)
        assert report.ok, report.to_dict()
        yield emulator


def _client(emu, service: str, region: str):
    return boto3.client(
        service, region_name=region, endpoint_url=emu.endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )


def _api(emu, region: str, **kw) -> RegionalApi:
    return RegionalApi(f"{emu.endpoint}/_api/{region}/api", **kw)


def _raw(url: str) -> tuple[int, dict, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


@pytest.mark.parametrize("region", REGIONS)
def test_read_routes(emu, region):
    api = _api(emu, region)
    ping = api.ping()
    assert ping.body["ping"] == "ok" and ping.region == region and ping.db_latency_ms == 0

    health = api.health()
    assert health.body["status"] == "ok" and health.body["Table"] == TABLE
    assert health.region == region and health.db_latency_ms > 0

    scan = api.scan()
    assert scan.body["Count"] == len(sample_items()) and scan.region == region
    assert {i["SK"]["S"] for i in scan.body["Items"] if i["PK"]["S"] == "library"} == {
        f"{n:02d}" for n in range(1, 13)
    }

    library = api.query("library", consistent=True)
    titles = [i["title"]["S"] for i in library.body["Items"]]
    assert titles[0] == "Sprite Fright" and titles[-1] == "Big Buck Bunny" and len(titles) == 12
    assert library.body["ConsistentRead"] is True

    got = api.get("library", "03", consistent=True)
    assert got.body["Item"]["title"] == {"S": "Spring"} and got.body["ConsistentRead"] is True
    assert got.db_latency_ms is not None and got.rtt_ms >= got.db_latency_ms

    missing = api.get("nobody", "nothing")
    assert missing.status == 200 and missing.body["Item"] is None


@pytest.mark.parametrize("region", REGIONS)
def test_write_routes_and_replication(emu, region):
    other = next(r for r in REGIONS if r != region)
    api, there = _api(emu, region), _api(emu, other)
    pk = f"user-{region}"

    assert api.set_value(pk, "AshlandValley", 10).body["Attributes"]["Bookmark"] == {"N": "10"}
    assert api.increment(pk, "AshlandValley", 1).body["Attributes"]["Bookmark"] == {"N": "11"}
    reply = api.increment(pk, "AshlandValley", -3)
    assert reply.body["Attributes"]["Bookmark"] == {"N": "8"}
    assert reply.body["PK"] == pk and reply.region == region

    mark = api.set_bookmark(pk, "03", "0.137", "spring.svg")
    assert mark.body["Attributes"]["bookmark"] == {"S": "0.137"}
    assert mark.body["Attributes"]["thumb"] == {"S": "spring.svg"}

    assert emu.wait_replicated(timeout=5)
    assert there.get(pk, "AshlandValley").body["Item"]["Bookmark"] == {"N": "8"}
    assert there.query(pk).body["Count"] == 2


def test_path_parts_are_decoded_once(emu):
    api = _api(emu, "us-west-2")
    api.set_value("a/b c", "x%y?z", 5)
    item = api.get("a/b c", "x%y?z").body["Item"]
    assert item["PK"] == {"S": "a/b c"} and item["SK"] == {"S": "x%y?z"}
    assert api.query("a/b c").body["Count"] == 1


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/update/user100/AshlandValley/abc", 400, "VAL must be a number"),
        ("/set/user100/AshlandValley/1e5", 400, "VAL must be a number"),
        ("/update/user10/03/-0.5/spring.svg", 400, "fraction"),
        ("/scan?consistent=maybe", 400, "consistent must be true or false"),
        ("/update/nobody/nothing/1", 400, "needs a numeric Bookmark"),
        ("/get/only-pk", 404, "No route GET /api/get/only-pk"),
        ("/nope", 404, "routes: /, /health"),
    ],
)
def test_bad_requests_get_4xx_with_a_message(emu, path, status, words):
    code, headers, body = _raw(f"{emu.endpoint}/_api/eu-west-1/api{path}")
    assert code == status
    text = body.get("Message") or body.get("message")
    assert words in text
    assert headers.get("Access-Control-Allow-Origin") == "*"


def test_no_stage_and_no_function(emu):
    code, _, body = _raw(f"{emu.endpoint}/_api/eu-west-1/scan")
    assert code == 404 and "/_api/eu-west-1/api/" in body["message"]
    code, _, body = _raw(f"{emu.endpoint}/_api/sa-east-1/api/scan")
    assert code == 404
    assert "not deployed in sa-east-1" in body["message"] and "python -m setup up" in body["message"]
    with pytest.raises(RegionUnavailableError, match="HTTP 404"):
        _api(emu, "sa-east-1").ping()


def test_dynamodb_errors_are_5xx_json(emu):
    # The function exists in ap-south-1 but the table has no replica there.
    iam = _client(emu, "iam", "us-west-2")
    role = iam.get_role(RoleName=FUNCTION)["Role"]["Arn"]
    lam = _client(emu, "lambda", "ap-south-1")
    lam.create_function(FunctionName=FUNCTION, Runtime="python3.11", Role=role,
                        Handler="app.app", Code={"ZipFile": api_zip()},
                        Environment={"Variables": {"TABLE_NAME": TABLE}})
    try:
        api = _api(emu, "ap-south-1", raise_for_status=False)
        assert api.ping().status == 200
        for reply in (api.scan(), api.get("library", "01"), api.health(),
                      api.set_value("user100", "AshlandValley", 1)):
            assert reply.status == 503
            assert reply.body["Error"] == "ResourceNotFoundException"
            assert "does not exist in ap-south-1" in reply.message
            assert reply.region == "ap-south-1" and reply.db_latency_ms is not None
        with pytest.raises(RegionUnavailableError, match="HTTP 503"):
            _api(emu, "ap-south-1").scan()
    finally:
        lam.delete_function(FunctionName=FUNCTION)


def test_throttled_function_answers_500_until_restored(emu):
    lam = _client(emu, "lambda", "eu-west-1")
    api = _api(emu, "eu-west-1", raise_for_status=False)
    lam.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=0)
    try:
        assert lam.get_function(FunctionName=FUNCTION)["Concurrency"] == {
            "ReservedConcurrentExecutions": 0
        }
        for reply in (api.ping(), api.health(), api.scan(), api.query("library"),
                      api.get("library", "01"), api.increment("user100", "AshlandValley", 1),
                      api.set_bookmark("user10", "03", "0.5", "spring.svg"),
                      api.set_value("user100", "AshlandValley", 3)):
            assert reply.status == 500 and reply.body == {"message": "Internal server error"}
            assert reply.region is None
        with pytest.raises(RegionUnavailableError, match="Internal server error"):
            _api(emu, "eu-west-1").health()
        # The other region is unaffected.
        assert _api(emu, "us-west-2").health().body["status"] == "ok"
    finally:
        lam.delete_function_concurrency(FunctionName=FUNCTION)
    assert "Concurrency" not in lam.get_function(FunctionName=FUNCTION)
    assert _api(emu, "eu-west-1").health().body["status"] == "ok"  # at once


def test_throttle_with_the_aws_cli(emu):
    aws = Path(sys.executable).with_name("aws")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    base = [str(aws), "--endpoint-url", emu.endpoint, "--region", "us-west-2", "lambda"]
    subprocess.run([*base, "put-function-concurrency", "--function-name", FUNCTION,
                    "--reserved-concurrent-executions", "0"], env=env, check=True,
                   capture_output=True, timeout=60)
    try:
        assert _api(emu, "us-west-2", raise_for_status=False).ping().status == 500
    finally:
        subprocess.run([*base, "delete-function-concurrency", "--function-name", FUNCTION],
                       env=env, check=True, capture_output=True, timeout=60)
    assert _api(emu, "us-west-2").ping().status == 200


def test_isolated_region_fails_and_heals(emu):
    emu.isolate("eu-west-1")
    try:
        reply = _api(emu, "eu-west-1", raise_for_status=False).health()
        assert reply.status == 503
        assert _api(emu, "us-west-2").health().status == 200
    finally:
        emu.heal("eu-west-1")
    assert _api(emu, "eu-west-1").health().status == 200


def test_cors_preflight(emu):
    request = urllib.request.Request(f"{emu.endpoint}/_api/us-west-2/api/scan", method="OPTIONS")
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "GET" in resp.headers["Access-Control-Allow-Methods"]
