"""Issue 9, point 3: only the operator drives the emulator. Real HTTP requests with forged Host
and Origin headers, as a DNS-rebinding page or a page on another origin would send them."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from emulator_helpers import client, create_table

from gtcore.emulator.access import is_loopback_name

WEST = "us-west-2"
FOREIGN = "http://evil.example"


def _send(emulator, method: str, path: str, body: bytes = b"", headers: dict | None = None,
          host: str | None = None) -> tuple[int, dict, bytes]:
    port = urlsplit(emulator.endpoint).port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or f"127.0.0.1:{port}")
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


def _dynamodb(emulator, op: str, payload: dict, **extra: str) -> tuple[bytes, dict]:
    request = botocore.awsrequest.AWSRequest(
        "POST", emulator.endpoint + "/", data=json.dumps(payload).encode(),
        headers={"X-Amz-Target": f"DynamoDB_20120810.{op}", "Content-Type": "application/x-amz-json-1.0"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("testing", "testing"), "dynamodb",
                            WEST).add_auth(request)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
    return request.body, {**headers, **extra}


def test_a_foreign_host_is_refused_everywhere(emulator, unique_table):
    # DNS rebinding: a foreign name pointed at 127.0.0.1. On main every request was served.
    create_table(client(emulator.endpoint, "dynamodb", WEST), unique_table)
    body, headers = _dynamodb(emulator, "DeleteTable", {"TableName": unique_table})
    status, reply_headers, reply = _send(emulator, "POST", "/", body, headers, host="rebind.evil.example:4566")
    assert status == 403 and reply_headers["content-type"] == "application/x-amz-json-1.0"
    assert json.loads(reply)["__type"].endswith("AccessDeniedException")
    for method, path in (("GET", "/_emulator/state"), ("POST", "/_emulator/isolate"), ("GET", "/_api/us-west-2/api/")):
        status, reply_headers, reply = _send(emulator, method, path, b'{"region": "us-west-2"}',
                                             host="evil.example")
        assert status == 403 and "not a loopback name" in reply.decode()
    assert unique_table in client(emulator.endpoint, "dynamodb", WEST).list_tables()["TableNames"]
    assert not emulator.is_isolated(WEST)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.0.0.2", "abc.execute-api.us-west-2.localhost",
                                  "LOCALHOST.", "gt.localhost:8080"])
def test_loopback_hosts_are_served(emulator, host):
    status, _, reply = _send(emulator, "GET", "/_emulator/state", host=host)
    assert status == 200 and "lag" in json.loads(reply)


def test_a_foreign_origin_cannot_drive_the_control_api(emulator):
    # A text/plain simple POST needs no preflight: on main it isolated the region.
    for origin in (FOREIGN, "null", "http://localhost.evil.example", "file://"):
        status, headers, reply = _send(emulator, "POST", "/_emulator/isolate", b'{"region": "us-west-2"}',
                                       {"Origin": origin, "Content-Type": "text/plain"})
        assert status == 403 and "access-control-allow-origin" not in headers
        assert "refused" in json.loads(reply)["error"]
    assert not emulator.is_isolated(WEST)
    status, _, _ = _send(emulator, "GET", "/_emulator/state", headers={"Origin": FOREIGN})
    assert status == 403


def test_a_foreign_origin_cannot_use_the_aws_endpoints(emulator, unique_table):
    create_table(client(emulator.endpoint, "dynamodb", WEST), unique_table)
    # The preflight gets no CORS answer (on main moto echoed any Origin and allowed x-amz-target).
    status, headers, _ = _send(emulator, "OPTIONS", "/", headers={
        "Origin": FOREIGN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,x-amz-target,content-type"})
    assert status == 403 and "access-control-allow-origin" not in headers
    for op, payload in (("Scan", {"TableName": unique_table}), ("DeleteTable", {"TableName": unique_table})):
        body, request_headers = _dynamodb(emulator, op, payload, Origin=FOREIGN)
        status, headers, reply = _send(emulator, "POST", "/", body, request_headers)
        assert status == 403 and "access-control-allow-origin" not in headers
        assert json.loads(reply)["__type"].endswith("AccessDeniedException")
    assert unique_table in client(emulator.endpoint, "dynamodb", WEST).list_tables()["TableNames"]
    # The operator's own pages on a loopback name are served.
    body, request_headers = _dynamodb(emulator, "Scan", {"TableName": unique_table}, Origin="http://localhost:8501")
    assert _send(emulator, "POST", "/", body, request_headers)[0] == 200


def test_moto_internal_api_is_not_reachable(emulator, unique_table):
    create_table(client(emulator.endpoint, "dynamodb", WEST), unique_table)
    for method, path in (("POST", "/moto-api/reset"), ("GET", "/moto-api/"), ("GET", "/moto-api/data.json")):
        status, _, reply = _send(emulator, method, path)
        assert status == 403 and "/_emulator/reset" in json.loads(reply)["error"]
    assert unique_table in client(emulator.endpoint, "dynamodb", WEST).list_tables()["TableNames"]


def test_the_regional_api_keeps_its_cors_for_the_workshop_pages(emulator):
    for origin in (FOREIGN, "null"):
        status, headers, reply = _send(emulator, "GET", "/_api/sa-east-1/api/", headers={"Origin": origin})
        assert status == 404 and "not deployed" in json.loads(reply)["message"]  # served, not refused
        assert headers["access-control-allow-origin"] == "*"


def test_loopback_names():
    assert all(map(is_loopback_name, ["127.0.0.1", "127.255.0.9", "localhost", "a.b.localhost", "::1", "[::1]",
                                      "::ffff:127.0.0.1", "Localhost."]))
    assert not any(map(is_loopback_name, ["evil.example", "localhost.evil.example", "0.1.2.3", "10.0.0.1",
                                          "128.0.0.1", "", "::", "localhostx"]))
