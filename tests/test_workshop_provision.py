"""`python -m setup up` / up again / down against a private emulator, with 2 and 3 regions."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import boto3
import botocore.config
import pytest

from gtcore.errors import ConfigError, ReadOnlyError
from gtcore.regional_client import RegionalApi
from gtcore.target import Connection, Target
from gtcore.workshop import (
    CREATED_BY,
    WorkshopProgress,
    provision_workshop,
    remove_replica,
    sample_items,
    teardown_workshop,
)
from gtcore.workshop.catalog_media import localize
from setup.cli import main
from setup.emulator import spawn

REPO = Path(__file__).resolve().parents[1]
TWO = ("us-west-2", "eu-west-1")
THREE = ("us-west-2", "eu-west-1", "ap-southeast-2")


@pytest.fixture(scope="module")
def emu():
    with spawn("fixed:50", replica_create_seconds=0.2) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GTCORE_HOME", str(tmp_path / "gtcore-home"))


def _client(emu, service: str, region: str):
    return boto3.client(
        service, region_name=region, endpoint_url=emu.endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )


def _conn(emu, regions, table="global-serverless", **kw) -> Connection:
    return Connection(Target(regions=regions, table=table, endpoint=emu.endpoint, **kw))


def _items(emu, region: str, table: str) -> dict[str, dict]:
    items = _client(emu, "dynamodb", region).scan(TableName=table, ConsistentRead=True)["Items"]
    return {f"{i['PK']['S']}/{i['SK']['S']}": i for i in items}


def _table_exists(emu, region: str, table: str) -> bool:
    return table in _client(emu, "dynamodb", region).list_tables()["TableNames"]


def _functions(emu, region: str) -> set[str]:
    return {f["FunctionName"] for f in _client(emu, "lambda", region).list_functions()["Functions"]}


def _run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_cli_up_up_down_two_regions(emu):
    table = "global-serverless"
    where = ["--endpoint", emu.endpoint, "--regions", ",".join(TWO)]

    code, out, err = _run_cli("up", *where)
    assert code == 0, err
    assert "created  table global-serverless [us-west-2]" in err
    assert "created  replica of global-serverless [eu-west-1]" in err
    assert "done:" in out and "Nothing was changed" not in out
    # on the emulator, the catalog's media point at the emulator (the pages then work offline)
    expected = {f"{i['PK']['S']}/{i['SK']['S']}": i for i in localize(sample_items(), emu.endpoint)}
    for region in TWO:
        assert _items(emu, region, table) == expected
        assert "global-serverless-dev" in _functions(emu, region)
        assert f"{emu.endpoint}/_api/{region}/api" in out

    code, out, err = _run_cli("up", *where, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["changed"] is False and report["ok"] is True
    outcomes = {s["outcome"] for s in report["steps"]}
    assert outcomes <= {"exists", "checked"}, outcomes

    code, out, err = _run_cli("down", *where)
    assert code == 0, err
    assert "deleted  replica of global-serverless [eu-west-1]" in err
    assert err.index("replica of global-serverless [eu-west-1]") < err.index(
        "deleted  table global-serverless [us-west-2]"
    )
    for region in TWO:
        assert not _table_exists(emu, region, table)
        assert "global-serverless-dev" not in _functions(emu, region)
    iam = _client(emu, "iam", "us-west-2")
    assert "global-serverless-dev" not in {r["RoleName"] for r in iam.list_roles()["Roles"]}

    code, out, _ = _run_cli("down", *where)
    assert code == 0 and "Nothing was changed" in out


@pytest.mark.slow
def test_three_regions_with_progress_then_teardown(emu):
    table = "gs-three"
    conn = _conn(emu, THREE, table)
    events: list[WorkshopProgress] = []
    report = provision_workshop(conn, progress=events.append)
    assert report.ok and report.changed, report.to_dict()

    fractions = [e.fraction for e in events if e.fraction is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    waiting = [e.replicas for e in events if e.replicas]
    assert any("CREATING" in " ".join(r.values()) for r in waiting)
    assert sum(1 for e in events if e.done is not None) == len(report.steps)

    home_items = _items(emu, "us-west-2", table)
    assert len(home_items) == len(sample_items()) == 14
    for region in THREE:
        assert _items(emu, region, table) == home_items
        reply = RegionalApi(conn.api_base_url(region)).health()
        assert reply.region == region and reply.body["Table"] == table
    desc = _client(emu, "dynamodb", "us-west-2").describe_table(TableName=table)["Table"]
    # DescribeTable lists the other regions' replicas, as AWS does.
    assert {r["RegionName"]: r["ReplicaStatus"] for r in desc["Replicas"]} == {
        r: "ACTIVE" for r in THREE[1:]
    }
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    tags = _client(emu, "dynamodb", "us-west-2").list_tags_of_resource(
        ResourceArn=desc["TableArn"])["Tags"]
    assert CREATED_BY in tags

    again = provision_workshop(conn)
    assert not again.changed and again.ok
    assert "nothing to do" in again.summary()

    down = teardown_workshop(conn, progress=events.append)
    assert down.ok and down.changed
    deleted = [s for s in down.steps if s.outcome == "deleted"]
    assert [s.region for s in deleted[:2]] == ["eu-west-1", "ap-southeast-2"]  # replicas first
    assert deleted[2].action == f"table {table}"
    for region in THREE:
        assert not _table_exists(emu, region, table)
        assert f"{table}-dev" not in _functions(emu, region)


@pytest.mark.slow
def test_up_never_overwrites_items_and_adds_a_region_later(emu):
    table = "gs-grow"
    conn2 = _conn(emu, TWO, table)
    assert provision_workshop(conn2).ok
    ddb = _client(emu, "dynamodb", "eu-west-1")
    ddb.put_item(TableName=table, Item={"PK": {"S": "user100"}, "SK": {"S": "AshlandValley"},
                                        "Bookmark": {"N": "42"}})
    # The bookmark was changed in eu-west-1; wait until us-west-2 has it, then run up again.
    emu.wait_replicated(timeout=5)

    conn3 = _conn(emu, THREE, table)
    report = provision_workshop(conn3)
    assert report.ok
    changed = {(s.action, s.region) for s in report.steps if s.outcome in ("created", "written")}
    assert changed == {
        (f"replica of {table}", "ap-southeast-2"),
        (f"Lambda function {table}-dev", "ap-southeast-2"),
    }
    data_step = next(s for s in report.steps if s.action.startswith("sample data"))
    assert data_step.outcome == "exists" and "14 already there" in data_step.detail
    for region in THREE:
        got = _items(emu, region, table)["user100/AshlandValley"]
        assert got["Bookmark"] == {"N": "42"}

    # down with two regions keeps the third replica, and so the table.
    down = teardown_workshop(conn2)
    kept = [s for s in down.steps if s.outcome == "kept"]
    assert kept and "ap-southeast-2" in kept[0].detail
    assert _table_exists(emu, "us-west-2", table)
    assert _table_exists(emu, "ap-southeast-2", table)
    assert not _table_exists(emu, "eu-west-1", table)

    final = teardown_workshop(conn3)
    assert final.ok
    for region in THREE:
        assert not _table_exists(emu, region, table)


def test_down_refuses_a_table_setup_did_not_make(emu):
    table = "gs-foreign"
    ddb = _client(emu, "dynamodb", "us-west-2")
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                   {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                              {"AttributeName": "SK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    where = ["--endpoint", emu.endpoint, "--regions", "us-west-2", "--table", table]
    code, _, err = _run_cli("down", *where)
    assert code == 2 and "not made by `python -m setup up`" in err and "--force" in err
    assert _table_exists(emu, "us-west-2", table)

    code, _, err = _run_cli("down", *where, "--force")
    assert code == 0, err
    assert not _table_exists(emu, "us-west-2", table)


def test_up_refuses_a_table_with_another_key(emu):
    table = "gs-otherkey"
    _client(emu, "dynamodb", "us-west-2").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(ConfigError, match="not PK"):
        provision_workshop(_conn(emu, TWO, table))
    assert not _table_exists(emu, "eu-west-1", table)


def test_read_only_target_is_refused(emu):
    conn = _conn(emu, TWO, "gs-ro", read_only=True)
    with pytest.raises(ReadOnlyError):
        provision_workshop(conn)
    with pytest.raises(ReadOnlyError):
        teardown_workshop(conn)
    assert not _table_exists(emu, "us-west-2", "gs-ro")


@pytest.mark.slow
def test_python_m_setup_as_a_command(emu, tmp_path):
    where = ["--endpoint", emu.endpoint, "--regions", ",".join(TWO), "--table", "gs-cmd"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GTCORE_HOME": str(tmp_path / "g"),
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_EC2_METADATA_DISABLED": "true"}
    for verb in ("up", "down"):
        done = subprocess.run([sys.executable, "-m", "setup", verb, *where, "--json"], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["operation"] == verb and report["changed"] is True
        assert "testing" not in done.stdout + done.stderr  # no credentials in the output


@pytest.mark.slow
def test_remove_one_replica(emu):
    table = "gs-remove-one"
    conn = _conn(emu, THREE, table)
    assert provision_workshop(conn, load_data=False).ok

    report = remove_replica(conn, "ap-southeast-2")
    assert [(s.action, s.region, s.outcome) for s in report.steps] == [
        (f"replica of {table}", "ap-southeast-2", "deleted"),
        (f"Lambda function {table}-dev", "ap-southeast-2", "deleted"),
    ]
    assert not _table_exists(emu, "ap-southeast-2", table)
    assert _table_exists(emu, "us-west-2", table) and _table_exists(emu, "eu-west-1", table)
    assert f"{table}-dev" in _functions(emu, "eu-west-1")
    assert not remove_replica(conn, "ap-southeast-2").changed

    # The home copy can go too: the request goes through another member.
    assert remove_replica(conn, "us-west-2").ok
    assert not _table_exists(emu, "us-west-2", table)
    desc = _client(emu, "dynamodb", "eu-west-1").describe_table(TableName=table)["Table"]
    assert desc["TableStatus"] == "ACTIVE" and not desc.get("Replicas")
    with pytest.raises(ConfigError, match="only region"):
        remove_replica(_conn(emu, ("eu-west-1",), table), "eu-west-1")

    # Setup again re-adds the missing copies from the one that is left (no new table).
    again = provision_workshop(_conn(emu, TWO, table), load_data=False)
    assert [(s.region, s.outcome) for s in again.steps[:2]] == [
        ("eu-west-1", "exists"), ("us-west-2", "created")]
    # And down (no --force needed: setup tagged every copy it made) finds the table anywhere.
    remove_replica(conn, "us-west-2")
    down = teardown_workshop(conn)
    assert down.ok and ("eu-west-1", "deleted") in [(s.region, s.outcome) for s in down.steps]
    for region in THREE:
        assert not _table_exists(emu, region, table)
