"""gtcore.regional_client against a small loopback HTTP server that records what it is sent."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gtcore.errors import ConfigError, RegionUnavailableError
from gtcore.regional_client import ApiReply, RegionalApi
from gtcore.regional_urls import region_from_url


class _Recorder(BaseHTTPRequestHandler):
    # (status, body bytes) per raw path prefix; default echoes the raw path back
    answers: dict[str, tuple[int, bytes]] = {}
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen.append(self.path)
        match = [v for k, v in type(self).answers.items() if self.path.startswith(k)]
        if match:
            status, body = match[0]
        else:
            status = 200
            body = json.dumps({"path": self.path, "Region": "eu-west-1", "Latency": 4.5}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server():
    _Recorder.answers = {}
    _Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/_api/eu-west-1/api"
    httpd.shutdown()
    httpd.server_close()


def test_routes_build_quoted_paths(server):
    api = RegionalApi(server + "/")
    assert api.region == "eu-west-1"
    assert api.ping().body["path"] == "/_api/eu-west-1/api/"
    assert api.health().body["path"] == "/_api/eu-west-1/api/health"
    assert api.scan().body["path"] == "/_api/eu-west-1/api/scan"
    assert api.scan(consistent=True).body["path"] == "/_api/eu-west-1/api/scan?consistent=true"
    assert api.query("user 10").body["path"] == "/_api/eu-west-1/api/query/user%2010"
    reply = api.get("a/b", "ç?#", consistent=True)
    assert reply.body["path"] == "/_api/eu-west-1/api/get/a%2Fb/%C3%A7%3F%23?consistent=true"
    assert api.increment("user100", "AshlandValley", -1).body["path"].endswith(
        "/update/user100/AshlandValley/-1"
    )
    assert api.set_value("user100", "AshlandValley", 42).body["path"].endswith(
        "/set/user100/AshlandValley/42"
    )
    assert api.set_bookmark("user10", "03", "0.137", "spring.svg").body["path"].endswith(
        "/update/user10/03/0.137/spring.svg"
    )


def test_reply_fields(server):
    reply = RegionalApi(server).get("user100", "AshlandValley")
    assert isinstance(reply, ApiReply)
    assert reply.ok and reply.status == 200
    assert reply.region == "eu-west-1"
    assert reply.db_latency_ms == 4.5
    assert reply.rtt_ms > 0


def test_gateway_500_raises_with_message(server):
    _Recorder.answers = {"/_api/eu-west-1/api/get": (500, b'{"message": "Internal server error"}')}
    api = RegionalApi(server)
    with pytest.raises(RegionUnavailableError) as info:
        api.get("user100", "AshlandValley")
    err = info.value
    assert err.region == "eu-west-1"
    assert "HTTP 500" in err.message and "Internal server error" in err.message
    assert server in err.message
    assert "throttled" in (err.hint or "")


def test_error_returned_when_not_raising(server):
    _Recorder.answers = {
        "/_api/eu-west-1/api/scan": (503, b'{"Error": "ResourceNotFoundException", '
                                          b'"Message": "no table", "Region": "eu-west-1"}'),
        "/_api/eu-west-1/api/health": (502, b"<html>bad gateway</html>"),
    }
    api = RegionalApi(server, raise_for_status=False)
    reply = api.scan()
    assert reply.status == 503 and not reply.ok
    assert reply.message == "no table" and reply.region == "eu-west-1"
    html = api.health()
    assert html.status == 502 and html.body == {"raw": "<html>bad gateway</html>"}
    assert html.message == "<html>bad gateway</html>"


def test_connection_refused():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/_api/us-west-2/api"
    with pytest.raises(RegionUnavailableError) as info:
        RegionalApi(url, timeout=1).ping()
    assert "did not answer" in info.value.message and info.value.region == "us-west-2"
    reply = RegionalApi(url, timeout=1, raise_for_status=False).ping()
    assert reply.status == 0 and reply.message


def test_timeout():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)  # accepts the TCP connection but never answers
    try:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
        with pytest.raises(RegionUnavailableError) as info:
            RegionalApi(url, timeout=0.3).ping()
        assert "timed out" in info.value.message
    finally:
        sock.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda api: api.get("", "x"),
        lambda api: api.get("x", None),
        lambda api: api.increment("a", "b", 1.5),
        lambda api: api.increment("a", "b", True),
        lambda api: api.set_value("a", "b", "3"),
        lambda api: api.set_bookmark("a", "b", "", "t"),
    ],
)
def test_bad_arguments_rejected_before_sending(server, call):
    with pytest.raises(ConfigError):
        call(RegionalApi(server))
    assert _Recorder.seen == []


def test_bad_base_url():
    with pytest.raises(ConfigError):
        RegionalApi("ftp://example/api")
    with pytest.raises(ConfigError):
        RegionalApi("")


def test_region_from_url():
    assert region_from_url("https://abc.execute-api.ap-southeast-2.amazonaws.com/api/") == (
        "ap-southeast-2"
    )
    assert region_from_url("http://127.0.0.1:1234/_api/us-gov-west-1/api") == "us-gov-west-1"
    assert region_from_url("http://example.com/api") is None
