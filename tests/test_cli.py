"""CLI: commands against the emulator, JSON output, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gtcore.cli import COMMANDS, format_table, main
from gtcore.target import Connection, Target

REGIONS = "us-west-2,eu-west-1"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workshop(emulator, unique_table):
    """A set-up workshop (table, replica, data, functions) on the session emulator."""
    from gtcore.workshop import provision_workshop

    conn = Connection(
        Target(regions=tuple(REGIONS.split(",")), table=unique_table, endpoint=emulator.endpoint)
    )
    assert provision_workshop(conn).ok
    return ["--endpoint", emulator.endpoint, "--regions", REGIONS, "--table", unique_table]


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_status_ok_then_not_ok_when_a_region_is_throttled(workshop, capsys):
    assert main(["status", *workshop]) == 0
    out = capsys.readouterr().out
    assert "status: OK" in out and "eu-west-1" in out and "2019.11.21" in out

    assert main(["throttle", "eu-west-1", *workshop]) == 0
    assert "throttled; will restore unreserved" in capsys.readouterr().out
    try:
        assert main(["status", "--json", *workshop]) == 1
        doc = _json(capsys)
        eu = next(r for r in doc["regions"] if r["region"] == "eu-west-1")
        assert eu["reserved_concurrency"] == 0 and eu["api"]["ok"] is False
        assert doc["ok"] is False
    finally:
        assert main(["unthrottle", "--all", *workshop]) == 0
    assert "restored unreserved" in capsys.readouterr().out
    # Flags may also come before the command.
    assert main([*workshop, "status", "--no-api"]) == 0


def test_diff_exit_codes_follow_divergence(workshop, emulator, capsys):
    table = workshop[-1]
    assert main(["diff", "--settle", "0.2", "--json", *workshop]) == 0
    assert _json(capsys)["ok"] is True

    emulator.pause_replication(table, "eu-west-1")
    try:
        Connection(
            Target(regions=("eu-west-1",), table=table, endpoint=emulator.endpoint)
        ).client("dynamodb", "eu-west-1").put_item(
            TableName=table, Item={"PK": {"S": "user100"}, "SK": {"S": "AshlandValley"},
                                   "Bookmark": {"N": "999"}}
        )
        assert main(["diff", "--settle", "0.2", *workshop]) == 1
        captured = capsys.readouterr()
    finally:
        emulator.resume_replication(table, "eu-west-1")
    assert "1 divergent key(s)" in captured.out
    assert "user100, AshlandValley" in captured.out and "Bookmark" in captured.out
    assert "scanning:" in captured.err  # progress goes to stderr
    assert emulator.wait_replicated(10)


def test_cloudwatch_json(workshop, emulator, capsys):
    from gtcore.probes.cloudwatch import replication_latency

    # A write at home replicates (setup's sample data does not: new replicas are backfilled).
    conn = Connection(Target(regions=tuple(REGIONS.split(",")), table=workshop[-1], endpoint=emulator.endpoint))
    conn.client("dynamodb", "us-west-2").put_item(TableName=workshop[-1], Item={"PK": {"S": "cw"}, "SK": {"S": "1"}})
    deadline = time.monotonic() + 15
    while replication_latency(conn, window=600).pair("us-west-2", "eu-west-1").state != "ok":
        assert time.monotonic() < deadline, "no ReplicationLatency datapoint after a replicated write"
        time.sleep(0.2)
    assert main(["cloudwatch", "--window", "10", "--json", *workshop]) == 0
    doc = _json(capsys)
    assert doc["calls"] == 2
    states = {(p["source"], p["receiving"]): p["state"] for p in doc["pairs"]}
    assert states[("us-west-2", "eu-west-1")] == "ok"
    assert states[("eu-west-1", "us-west-2")] == "no_datapoints"
    assert main(["cloudwatch", "--points", *workshop]) == 0
    assert "us-west-2 -> eu-west-1" in capsys.readouterr().out


def test_read_only_refuses_throttle_with_exit_2(workshop, capsys):
    assert main(["throttle", "eu-west-1", "--read-only", *workshop]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "read-only" in err[0]
    assert main(["status", "--read-only", "--no-api", *workshop]) == 0  # reads are fine


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nosuchcommand"],
        ["status", "--regions", "not-a-region!"],
        ["status", "--table", "x"],
        ["status", "--endpoint", "localhost"],
        ["cloudwatch", "--period", "45", "--endpoint", "http://127.0.0.1:9"],
        ["diff", "--segments", "0", "--endpoint", "http://127.0.0.1:9"],
        ["unthrottle", "--endpoint", "http://127.0.0.1:9"],
        ["throttle", "--endpoint", "http://127.0.0.1:9"],
        ["throttle", "sa-east-1", "--endpoint", "http://127.0.0.1:9"],  # not a target region
        ["status", "--config", "/nonexistent/gt.toml"],
    ],
)
def test_usage_and_configuration_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(c in out for c in COMMANDS)


def test_json_error_document(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["throttle", "us-west-2", "--json", "--endpoint", f"http://127.0.0.1:{port}"])
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["error"]["kind"] == "region_unavailable"
    assert captured.err.count("\n") == 1


@pytest.mark.slow
def test_python_dash_m_gtcore_real_exit_codes():
    """The real entry point, in a subprocess: one-line errors, no traceback, right codes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_EC2_METADATA_DISABLED="true", PYTHONPATH=str(ROOT))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "gtcore", *args], capture_output=True, text=True,
            env=env, cwd=ROOT, timeout=60,
        )

    down = run("status", "--endpoint", f"http://127.0.0.1:{port}", "--no-api")
    assert down.returncode == 1  # the check failed: no region answers
    assert "could not connect" in down.stdout and "Traceback" not in down.stderr

    bad = run("status", "--regions", "moon-1")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0 and "moon-1" in bad.stderr

    usage = run("diff", "--segments", "many")
    assert usage.returncode == 2 and "must be a whole number from 1 to 64" in usage.stderr
    assert usage.stderr.count("\n") == 1  # usage errors are one line too


def test_format_table():
    text = format_table(["a", "bb"], [[1, None], ["long value", 2.25]])
    lines = text.splitlines()
    assert lines[0].split() == ["a", "bb"] and lines[2].split() == ["1", "-"]
    assert lines[3].split() == ["long", "value", "2.2"]


def test_credentials_never_appear_in_output(workshop, capsys, monkeypatch):
    key, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    for argv in (["status", "--json"], ["status"], ["diff", "--settle", "0"],
                 ["throttle", "eu-west-1", "--read-only"]):
        main([*argv, *workshop])
        captured = capsys.readouterr()
        for text in (captured.out, captured.err):
            assert key not in text and secret not in text
