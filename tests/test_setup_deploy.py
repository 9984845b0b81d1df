"""Everything up to `chalice deploy` against AWS: the command line, the URL registry, discovery.

Deployment itself needs AWS; here chalice is replaced by a recorder at the subprocess boundary.
"""

from __future__ import annotations

import json
import subprocess

import boto3
import pytest

from gtcore import apis
from gtcore.errors import ConfigError, GtError
from gtcore.target import Connection, Target
from gtcore.workshop import ensure_api_urls
from setup.deploy import make_deployer, make_undeployer, parse_api_url, project_dir


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GTCORE_HOME", str(tmp_path / "gthome"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # must not reach chalice
    return tmp_path / "gthome"


class Recorder:
    """Stands in for subprocess.run: records the call, answers like chalice would."""

    def __init__(self, stdout: str = "", returncode: int = 0, stderr: str = "") -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.stdout, self.returncode, self.stderr = stdout, returncode, stderr

    def __call__(self, argv, *, env, **kw):
        self.calls.append((list(argv), dict(env)))
        return subprocess.CompletedProcess(argv, self.returncode, self.stdout, self.stderr)


def _chalice_output(region: str, api_id: str = "abc123") -> str:
    return (
        "Creating deployment package.\nCreating IAM role: global-serverless-dev\n"
        "Creating lambda function: global-serverless-dev\nCreating Rest API\n"
        "Resources deployed:\n"
        f"  - Lambda ARN: arn:aws:lambda:{region}:123456789012:function:global-serverless-dev\n"
        f"  - Rest API URL: https://{api_id}.execute-api.{region}.amazonaws.com/api/\n"
    )


def test_deploy_command_line_and_url(home):
    runner = Recorder(_chalice_output("eu-west-1"))
    url = make_deployer("workshop", runner=runner)("global-serverless", "eu-west-1")
    assert url == "https://abc123.execute-api.eu-west-1.amazonaws.com/api/"
    (argv, env), = runner.calls
    project = home / "chalice" / "global-serverless" / "eu-west-1"
    assert argv[0].endswith("chalice")
    assert argv[1:] == ["--project-dir", str(project), "deploy", "--stage", "dev",
                        "--profile", "workshop"]
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "AWS_ENDPOINT_URL" not in env and "AWS_REGION" not in env
    config = json.loads((project / ".chalice" / "config.json").read_text())
    assert config["app_name"] == "global-serverless"
    assert config["stages"]["dev"]["api_gateway_stage"] == "api"
    assert (project / "app.py").exists() and (project / "chalicelib" / "routes.py").exists()


def test_deploy_failures_are_clear():
    failing = Recorder(returncode=2, stderr="botocore.exceptions.NoCredentialsError: no creds")
    with pytest.raises(GtError, match="chalice exited with 2: .*no creds") as info:
        make_deployer(runner=failing)("global-serverless", "us-west-2")
    assert info.value.region == "us-west-2"
    silent = Recorder(stdout="Resources deployed:\n")
    with pytest.raises(GtError, match="printed no Rest API URL"):
        make_deployer(runner=silent)("global-serverless", "us-west-2")


def test_undeploy_only_what_setup_deployed(home):
    runner = Recorder()
    undeploy = make_undeployer(runner=runner)
    assert undeploy("global-serverless", "us-west-2") is False and runner.calls == []
    record = project_dir("global-serverless", "us-west-2") / ".chalice" / "deployed"
    record.mkdir(parents=True)
    (record / "dev.json").write_text("{}")
    assert undeploy("global-serverless", "us-west-2") is True
    (argv, env), = runner.calls
    assert argv[3:6] == ["delete", "--stage", "dev"] and env["AWS_DEFAULT_REGION"] == "us-west-2"


def test_parse_api_url():
    assert parse_api_url(_chalice_output("ap-south-1", "x9")) == (
        "https://x9.execute-api.ap-south-1.amazonaws.com/api/"
    )
    assert parse_api_url("no url here") is None


def test_registry_round_trip(home):
    assert apis.recorded_api_url("global-serverless", "us-west-2") is None
    apis.record_api_url("global-serverless", "us-west-2", "https://a.example/api/")
    apis.record_api_url("global-serverless", "eu-west-1", "https://b.example/api/")
    apis.record_api_url("other", "us-west-2", "https://c.example/api/")
    assert apis.recorded_api_urls("global-serverless") == {
        "us-west-2": "https://a.example/api/", "eu-west-1": "https://b.example/api/"}
    assert apis.registry_path() == home / "apis.json"
    assert apis.forget_api_url("global-serverless", "us-west-2") is True
    assert apis.forget_api_url("global-serverless", "us-west-2") is False
    assert apis.recorded_api_url("other", "us-west-2") == "https://c.example/api/"
    with pytest.raises(ConfigError):
        apis.record_api_url("global-serverless", "us-west-2", "not a url")


def test_corrupt_registry_is_reported_and_kept(home):
    home.mkdir(parents=True)
    path = home / "apis.json"
    path.write_text('{"apis": {"global-serverless": {"us-west-2": {"url": "https://a/api/"}')
    with pytest.raises(ConfigError, match="apis.json is not valid JSON") as info:
        apis.recorded_api_url("global-serverless", "us-west-2")
    assert "nothing is lost" in info.value.hint
    moved = apis.record_api_url("global-serverless", "eu-west-1", "https://b.example/api/")
    assert moved is not None and moved.name.startswith("apis.json.corrupt-")
    assert moved.read_text().startswith('{"apis": {"global-serverless"')  # original bytes kept
    assert apis.recorded_api_urls("global-serverless") == {"eu-west-1": "https://b.example/api/"}

    path.write_text('{"apis": ["wrong"]}')
    with pytest.raises(ConfigError, match="expected layout"):
        apis.recorded_api_urls("global-serverless")


def test_connection_finds_recorded_urls_for_aws_targets(home):
    apis.record_api_url("global-serverless", "eu-west-1", "https://b.example/api/")
    conn = Connection(Target(regions=("us-west-2", "eu-west-1")))  # real AWS: no calls made
    assert conn.api_base_url("eu-west-1") == "https://b.example/api/"
    assert conn.api_base_url("us-west-2") is None


def test_ensure_api_urls_records_deployed_urls(emulator, unique_table, home):
    conn = Connection(Target(regions=("us-west-2", "eu-west-1"), table=unique_table,
                             endpoint=emulator.endpoint))
    runner = Recorder()

    def deploy(table: str, region: str) -> str:
        runner.stdout = _chalice_output(region, f"id-{region}")
        return make_deployer(runner=runner)(table, region)

    report = ensure_api_urls(conn, deploy=deploy)
    assert [s.outcome for s in report.steps] == ["recorded", "recorded"]
    for region in ("us-west-2", "eu-west-1"):
        assert apis.recorded_api_url(unique_table, region) == (
            f"https://id-{region}.execute-api.{region}.amazonaws.com/api/"
        )
    assert [call[1]["AWS_DEFAULT_REGION"] for call in runner.calls] == ["us-west-2", "eu-west-1"]
    again = ensure_api_urls(conn, deploy=deploy)
    assert not again.changed


def test_ensure_api_urls_discovers_existing_apis(emulator, unique_table, home):
    gateway = boto3.client("apigateway", region_name="eu-west-1", endpoint_url=emulator.endpoint)
    api_id = gateway.create_rest_api(name=unique_table)["id"]
    gateway.create_rest_api(name=f"{unique_table}-other")
    conn = Connection(Target(regions=("us-west-2", "eu-west-1"), table=unique_table,
                             endpoint=emulator.endpoint))
    report = ensure_api_urls(conn)
    outcomes = {s.region: s.outcome for s in report.steps}
    assert outcomes == {"us-west-2": "skipped", "eu-west-1": "recorded"}
    assert apis.recorded_api_url(unique_table, "eu-west-1") == (
        f"https://{api_id}.execute-api.eu-west-1.amazonaws.com/api/"
    )
    skipped = next(s for s in report.steps if s.outcome == "skipped")
    assert "--deploy-api" in skipped.detail
    gateway.delete_rest_api(restApiId=api_id)


def test_health_check_of_recorded_apis(home):
    """After recording URLs on AWS, setup calls each API: the workshop's original app (no
    /health, API Gateway's 403 for unknown routes) passes with a note; a failing one fails."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from gtcore.workshop import _check_apis, _Run

    class WorkshopOriginal(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path.startswith("/ok/api/"):
                status, body = (200, b'{"ping": "ok"}') if self.path == "/ok/api/" else (
                    403, b'{"message": "Missing Authentication Token"}')
            else:
                status, body = 500, b'{"message": "Internal server error"}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), WorkshopOriginal)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        apis.record_api_url("global-serverless", "us-west-2", f"{base}/ok/api/")
        apis.record_api_url("global-serverless", "eu-west-1", f"{base}/broken/api/")
        conn = Connection(Target(regions=("us-west-2", "eu-west-1", "ap-south-1")))
        run = _Run(conn, "up", None, 3)
        _check_apis(run)
        steps = {s.region: s for s in run.report.steps}
        assert steps["us-west-2"].outcome == "checked"
        assert "original app" in steps["us-west-2"].detail
        assert steps["eu-west-1"].outcome == "failed"
        assert "HTTP 500: Internal server error" in steps["eu-west-1"].detail
        assert "ap-south-1" not in steps  # nothing recorded there: nothing to call
        assert run.report.api_urls["ap-south-1"] is None
    finally:
        server.shutdown()
        server.server_close()
