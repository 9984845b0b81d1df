"""What a browser gets from the emulator: the regional API at its .localhost host name, API
Gateway's answers (headers, the throttled 5XX without CORS), and the catalog's offline media."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import boto3
import pytest

from gtcore.regional_client import RegionalApi
from gtcore.regional_urls import host_form_url, loopback_target
from gtcore.target import Connection, Target
from gtcore.workshop import provision_workshop
from setup.emulator import spawn

REGIONS = ("us-west-2", "eu-west-1")


@pytest.fixture(scope="module")
def emu():
    with spawn("fixed:50", replica_create_seconds=0.2) as emulator:
        report = provision_workshop(Connection(Target(regions=REGIONS, endpoint=emulator.endpoint)))
        assert report.ok, report.to_dict()
        yield emulator


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    target, host = loopback_target(url)
    headers = {**(headers or {}), **({"Host": host} if host else {})}
    request = urllib.request.Request(target, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def test_the_host_form_is_the_same_api_as_the_path_form(emu):
    api = RegionalApi(host_form_url(emu.endpoint, "eu-west-1"))
    reply = api.get("user100", "AshlandValley")
    assert reply.status == 200 and reply.region == "eu-west-1" and reply.body["Item"]["SK"] == {"S": "AshlandValley"}
    # encoded slashes stay inside one path parameter, as through the path form
    assert api.set_bookmark("user10", "a/b", "0.5", "x").body["SK"] == "a/b"
    status, headers, body = _get(host_form_url(emu.endpoint, "eu-west-1") + "get/user10/a%2Fb")
    assert status == 200 and json.loads(body)["Item"]["SK"] == {"S": "a/b"}
    assert headers["access-control-allow-origin"] == "*"


def test_host_form_keeps_chalice_cors_preflight(emu):
    status, headers, _ = _get(host_form_url(emu.endpoint, "us-west-2") + "scan", method="OPTIONS",
                              headers={"Origin": "http://127.0.0.1:9", "Access-Control-Request-Method": "GET"})
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    assert "GET" in headers["access-control-allow-methods"]


def test_unknown_api_id_is_a_json_404(emu):
    wrong = "http://abcdefghij." + host_form_url(emu.endpoint, "eu-west-1").split(".", 1)[1]
    status, headers, body = _get(wrong + "scan")
    assert status == 404 and headers["content-type"].startswith("application/json")
    assert "No regional API abcdefghij in eu-west-1" in json.loads(body)["message"]


def test_answers_are_json_with_api_gateway_headers(emu):
    status, headers, _ = _get(f"{emu.endpoint}/_api/us-west-2/api/get/user100/AshlandValley")
    assert status == 200 and headers["content-type"] == "application/json"
    assert headers["x-amzn-requestid"] and len(headers["x-amz-apigw-id"]) == 16


def test_throttled_answer_is_api_gateways_default_5xx_without_cors(emu):
    lam = boto3.client("lambda", region_name="eu-west-1", endpoint_url=emu.endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    lam.put_function_concurrency(FunctionName="global-serverless-dev", ReservedConcurrentExecutions=0)
    try:
        for url in (f"{emu.endpoint}/_api/eu-west-1/api/", host_form_url(emu.endpoint, "eu-west-1")):
            status, headers, body = _get(url + "get/user100/AshlandValley", headers={"Origin": "http://127.0.0.1:9"})
            assert status == 500 and body == b'{"message": "Internal server error"}'
            assert headers["content-type"] == "application/json"
            assert headers["x-amzn-errortype"] == "InternalServerErrorException"
            assert headers["x-amzn-requestid"] and headers["x-amz-apigw-id"]
            assert not [h for h in headers if h.startswith("access-control-")], headers
    finally:
        lam.delete_function_concurrency(FunctionName="global-serverless-dev")
    assert _get(f"{emu.endpoint}/_api/eu-west-1/api/")[0] == 200


def test_sample_data_points_at_the_emulators_media(emu):
    api = RegionalApi(f"{emu.endpoint}/_api/us-west-2/api/")
    spring = api.get("library", "03").body["Item"]
    assert spring["thumb"]["S"] == f"{emu.endpoint}/_media/thumbs/spring.svg"
    assert spring["video"]["S"] == f"{emu.endpoint}/_media/videos/spring.webm"
    mark = api.get("user10", "03").body["Item"]
    assert base64.b64decode(mark["thumb"]["S"]).decode() == spring["thumb"]["S"]  # what atob() gives back
    status, headers, body = _get(spring["thumb"]["S"])
    assert status == 200 and headers["content-type"] == "image/svg+xml" and body.startswith(b"<svg")


def test_videos_are_webm_and_honour_range(emu):
    url = f"{emu.endpoint}/_media/videos/spring.webm"
    status, headers, whole = _get(url)
    assert status == 200 and headers["content-type"] == "video/webm" and headers["accept-ranges"] == "bytes"
    assert whole[:4] == b"\x1a\x45\xdf\xa3" and 1_000 < len(whole) < 200_000  # EBML, small
    status, headers, part = _get(url, headers={"Range": "bytes=100-199"})
    assert status == 206 and part == whole[100:200]
    assert headers["content-range"] == f"bytes 100-199/{len(whole)}"
    status, _, tail = _get(url, headers={"Range": "bytes=-10"})
    assert status == 206 and tail == whole[-10:]
    assert _get(url, headers={"Range": f"bytes={len(whole)}-"})[0] == 416


@pytest.mark.parametrize(("path", "method", "status"), [
    ("/_media/videos/nope.webm", "GET", 404),
    ("/_media/thumbs/../sample-data.json", "GET", 404),
    ("/_media/thumbs/nope.svg", "GET", 404),
    ("/_media/videos/spring.webm", "POST", 405),
])
def test_media_errors_are_json(emu, path, method, status):
    got, headers, body = _get(emu.endpoint + path, method=method)
    assert got == status and headers["content-type"] == "application/json" and json.loads(body)["message"]
