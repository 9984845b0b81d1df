"""The emulator as a program: its command line, control API over HTTP, and standard clients."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest
from emulator_helpers import client, key, make_global, scan_all

from gtcore.emulator import Emulator, EmulatorError
from gtcore.emulator.client import EmulatorControl


@pytest.mark.slow
def test_port_in_use_is_one_clear_line_and_exit_code_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "gtcore.emulator", "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "Traceback" not in done.stderr


@pytest.mark.slow
def test_bad_lag_on_the_command_line_is_a_usage_error() -> None:
    done = subprocess.run([sys.executable, "-m", "gtcore.emulator", "--lag", "fast"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown lag model 'fast'" in done.stderr


def test_one_emulator_per_process(emulator) -> None:
    assert Emulator.running() is emulator
    with pytest.raises(EmulatorError, match="already runs in this process"):
        Emulator(port=0).start()


@pytest.mark.slow
def test_subprocess_emulator_is_driven_over_its_control_api(make_emulator) -> None:
    emu = make_emulator(lag="fixed:50")
    clients = make_global(emu.endpoint, "gt-proc", ("us-west-2", "eu-west-1"))
    emu.set_lag("fixed:300")
    assert emu.lag_description() == "fixed:300"
    emu.isolate("eu-west-1")
    assert emu.is_isolated("eu-west-1")
    clients["us-west-2"].put_item(TableName="gt-proc", Item={**key("a")})
    assert emu.pending() == {("us-west-2", "eu-west-1"): 1}
    assert not emu.wait_replicated(0.5)
    emu.heal("eu-west-1")
    assert emu.wait_replicated(5)
    assert set(scan_all(clients["eu-west-1"], "gt-proc")) == {("a", "0")}
    with pytest.raises(EmulatorError, match="unknown region 'nowhere-1'"):
        emu.isolate("nowhere-1")
    with pytest.raises(EmulatorError, match="unknown lag model"):
        emu.set_lag("soon")
    emu.reset()
    assert clients["us-west-2"].list_tables()["TableNames"] == []


def test_control_api_answers_bad_requests_with_400_json(emulator) -> None:
    for method, path, body in [("POST", "lag", b"not json"), ("POST", "pause", b"{}"), ("POST", "isolate", b"[1]"),
                               ("GET", "nothing-here", None), ("GET", "isolate", None)]:
        req = urllib.request.Request(f"{emulator.endpoint}/_emulator/{path}", data=body, method=method)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code in (400, 404, 405)
        assert "error" in json.loads(err.value.read())
    state = EmulatorControl(emulator.endpoint).state()
    assert state["lag"] == "fixed:100" and state["endpoint"] == emulator.endpoint


def test_the_aws_cli_works_against_the_emulator(emulator, unique_table) -> None:
    make_global(emulator.endpoint, unique_table, ("us-west-2", "eu-west-1"))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    aws = [sys.executable, "-m", "awscli", "--endpoint-url", emulator.endpoint, "--output", "json"]
    done = subprocess.run([*aws, "dynamodb", "describe-table", "--table-name", unique_table, "--region", "eu-west-1"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    table = json.loads(done.stdout)["Table"]
    assert table["GlobalTableVersion"] == "2019.11.21" and table["Replicas"][0]["RegionName"] == "us-west-2"
    ddb = client(emulator.endpoint, "dynamodb", "us-west-2")
    assert unique_table in ddb.list_tables()["TableNames"]


def test_boto3_finds_the_emulator_through_aws_endpoint_url(emulator, unique_table) -> None:
    make_global(emulator.endpoint, unique_table, ("us-west-2", "eu-west-1"))
    code = ("import boto3; c = boto3.client('dynamodb', region_name='eu-west-1'); "
            f"print(c.describe_table(TableName='{unique_table}')['Table']['GlobalTableVersion'])")
    env = {**os.environ, "AWS_ENDPOINT_URL": emulator.endpoint}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2019.11.21"


@pytest.mark.slow
def test_each_tables_regional_api_is_its_own_function(make_emulator) -> None:
    """Two workshop tables in one emulator: throttling one table's function leaves the other's API up."""
    from gtcore.actions.throttle import restore_region, throttle_region
    from gtcore.regional_client import RegionalApi
    from gtcore.target import Connection, Target
    from gtcore.workshop import provision_workshop

    emu = make_emulator()
    conns = {t: Connection(Target(("us-west-2", "eu-west-1"), table=t, endpoint=emu.endpoint))
             for t in ("global-serverless", "second-table")}
    for conn in conns.values():
        provision_workshop(conn)
    urls = {t: c.api_base_url("eu-west-1") for t, c in conns.items()}
    assert urls["global-serverless"].endswith("/_api/eu-west-1/api/")
    assert urls["second-table"].endswith("/_api/eu-west-1/second-table-dev/api/")
    throttle_region(conns["second-table"], "eu-west-1")
    try:
        assert RegionalApi(urls["second-table"], raise_for_status=False).ping().status == 500
        health = RegionalApi(urls["global-serverless"]).health()
        assert health.status == 200 and health.region == "eu-west-1"
    finally:
        restore_region(conns["second-table"], "eu-west-1")
    assert RegionalApi(urls["second-table"]).ping().status == 200
