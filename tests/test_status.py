"""Status probe over HTTP: per-region table facts, partial failures, API health, concurrency."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from emulator_helpers import create_table

from gtcore.probes.status import count_items, table_status
from gtcore.target import Connection, Target


@pytest.fixture
def endpoint(emulator):
    """The session emulator's endpoint (tests/conftest.py); tables are named per test."""
    return emulator.endpoint


def _make_table(conn: Connection, region: str, *, stream: bool = False) -> None:
    kwargs = {}
    if stream:
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    create_table(conn.client("dynamodb", region), conn.target.table, **kwargs)


def _make_function(conn: Connection, region: str) -> None:
    iam = conn.client("iam", region)
    try:
        role = iam.get_role(RoleName="gt-status-test")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="gt-status-test", AssumeRolePolicyDocument="{}")["Role"][
            "Arn"
        ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {}\n")
    conn.client("lambda", region).create_function(
        FunctionName=conn.target.function_name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": buf.getvalue()},
    )


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        region = self.path.split("/")[2]
        if region == "eu-west-1":
            body, code = {"message": "Internal server error"}, 500
        else:
            body, code = {"ok": True, "Region": region, "Latency": 1.5}, 200
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def api_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_status_reports_each_region_and_partial_failures(endpoint, api_server):
    target = Target(
        regions=("us-west-2", "eu-west-1", "ap-southeast-2"), table="status-t1", endpoint=endpoint
    )
    conn = Connection(target)
    _make_table(conn, "us-west-2", stream=True)
    _make_table(conn, "eu-west-1")
    conn.client("dynamodb", "us-west-2").update_time_to_live(
        TableName="status-t1",
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
    )
    for i in range(7):
        conn.client("dynamodb", "us-west-2").put_item(
            TableName="status-t1", Item={"PK": {"S": "p"}, "SK": {"S": f"{i:02d}"}}
        )
    _make_function(conn, "us-west-2")
    _make_function(conn, "eu-west-1")
    conn.client("lambda", "eu-west-1").put_function_concurrency(
        FunctionName="status-t1-dev", ReservedConcurrentExecutions=0
    )
    # The emulator serves the API under the endpoint; here a small stand-in serves /health.
    conn.api_base_url = lambda region: f"{api_server}/_api/{region}/api"  # type: ignore[method-assign]

    report = table_status(conn, count=True, count_limit=100)
    by = report.by_region()
    assert [r.region for r in report.regions] == list(target.regions)

    west = by["us-west-2"]
    assert west.error is None
    assert west.table_status == "ACTIVE"
    assert west.consistency == "EVENTUAL"
    assert west.counted_items == 7 and not west.count_truncated
    assert west.ttl_status == "ENABLED" and west.ttl_attribute == "expires"
    assert west.stream_enabled is True and west.stream_view_type == "NEW_AND_OLD_IMAGES"
    assert west.api is not None and west.api.ok and west.api.served_by == "us-west-2"
    assert west.reserved_concurrency is None and west.function_found is True
    assert not west.throttled
    assert west.healthy, west

    eu = by["eu-west-1"]
    assert eu.error is None and eu.counted_items == 0
    assert eu.ttl_status == "DISABLED" and eu.stream_enabled is False
    assert eu.reserved_concurrency == 0 and eu.throttled
    assert eu.api is not None and not eu.api.ok and eu.api.status == 500
    assert "Internal server error" in (eu.api.error or "")
    assert not eu.healthy

    ap = by["ap-southeast-2"]  # no table, no function there
    assert ap.error is not None and "status-t1" in ap.error and "ap-southeast-2" in ap.error
    assert ap.error_kind == "not_found"
    assert "function" in ap.errors and ap.function_found is False
    assert not ap.healthy

    assert not report.ok
    # Without replication (plain moto) the home region lists no replicas.
    assert report.missing_replicas() == ["eu-west-1", "ap-southeast-2"]
    doc = report.to_dict()
    json.dumps(doc)
    assert doc["regions"][0]["healthy"] is True and doc["ok"] is False


def test_count_items_paginates_and_truncates(endpoint):
    conn = Connection(Target(regions=("us-east-2",), table="status-t2", endpoint=endpoint))
    _make_table(conn, "us-east-2")
    ddb = conn.client("dynamodb", "us-east-2")
    pad = "x" * 60_000  # ~60 KB items: moto pages scans at 1 MB, so 40 items span 3 pages
    for i in range(40):
        ddb.put_item(
            TableName="status-t2",
            Item={"PK": {"S": "p"}, "SK": {"S": f"{i:03d}"}, "pad": {"S": pad}},
        )
    assert count_items(conn, "us-east-2") == (40, False)
    n, truncated = count_items(conn, "us-east-2", limit=10)
    assert truncated and 10 <= n < 40


def test_status_is_concurrent_and_read_only_safe(endpoint):
    regions = ("ca-central-1", "sa-east-1", "eu-north-1", "ap-south-1")
    rw = Connection(Target(regions=regions, table="status-t3", endpoint=endpoint))
    for r in regions:
        _make_table(rw, r)
    ro = Connection(Target(regions=regions, table="status-t3", endpoint=endpoint, read_only=True))
    delay = 0.3

    def slow(**_):
        time.sleep(delay)

    for r in regions:
        ro.client("dynamodb", r).meta.events.register("before-send.dynamodb.DescribeTable", slow)
    start = time.perf_counter()
    report = table_status(ro, check_api=False)
    elapsed = time.perf_counter() - start
    assert all(r.error is None and r.table_status == "ACTIVE" for r in report.regions)
    # Four regions each waiting 0.3 s in DescribeTable: concurrent, so well under 4 x 0.3 s.
    assert elapsed < delay * len(regions) * 0.7
    # Read-only target: status makes only reads, so nothing was refused.
    assert all("ReadOnly" not in msg for r in report.regions for msg in r.errors.values())
    assert all("function" in r.errors for r in report.regions)  # no function deployed here


@pytest.mark.slow
def test_status_of_a_workshop_on_the_emulator_end_to_end(emulator, unique_table):
    """Real replicas, the real regional API, then a throttled and an isolated region."""
    from gtcore.actions.throttle import restore_region, throttle_region
    from gtcore.workshop import provision_workshop

    regions = ("us-west-2", "eu-west-1", "ap-southeast-2")
    conn = Connection(Target(regions=regions, table=unique_table, endpoint=emulator.endpoint))
    assert provision_workshop(conn).ok

    report = table_status(conn, count=True)
    assert report.ok, [(r.region, r.error, r.errors) for r in report.regions]
    assert report.missing_replicas() == []
    items = {r.counted_items for r in report.regions}
    assert len(items) == 1 and items.pop() > 0  # every replica holds the sample data
    for r in report.regions:
        assert r.global_table_version == "2019.11.21"
        assert set(r.members) == set(regions)
        assert all(s == "ACTIVE" for s in r.replicas.values())
        assert r.api is not None and r.api.ok and r.api.served_by == r.region
        assert r.reserved_concurrency is None

    throttle_region(conn, "eu-west-1")
    emulator.isolate("ap-southeast-2")
    try:
        start = time.perf_counter()
        report = table_status(conn)
        elapsed = time.perf_counter() - start
    finally:
        emulator.heal("ap-southeast-2")
        restore_region(conn, "eu-west-1")
    by = report.by_region()
    assert by["us-west-2"].healthy
    eu = by["eu-west-1"]
    assert eu.error is None and eu.throttled and eu.api is not None and eu.api.status == 500
    ap = by["ap-southeast-2"]
    assert ap.error_kind == "region_unavailable" and "isolated" in (ap.error or "")
    assert ap.api is not None and not ap.api.ok
    assert elapsed < 3  # an isolated region fails fast instead of hanging the whole status
    assert not report.ok
