"""`python -m setup up --consistency strong` / up again / down against a private emulator."""

from __future__ import annotations

import io
import json

import boto3
import botocore.config
import pytest

from setup.cli import main
from setup.emulator import spawn

US = ("us-west-2", "us-east-1", "us-east-2")


@pytest.fixture(scope="module")
def emu():
    with spawn("fixed:50", replica_create_seconds=0.2) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GTCORE_HOME", str(tmp_path / "gtcore-home"))
    monkeypatch.delenv("GT_REGIONS", raising=False)


def _ddb(emu, region: str):
    return boto3.client("dynamodb", region_name=region, endpoint_url=emu.endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=botocore.config.Config(retries={"total_max_attempts": 1}))


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _exists(emu, region: str, table: str) -> bool:
    return table in _ddb(emu, region).list_tables()["TableNames"]


@pytest.mark.slow
def test_up_strong_makes_an_mrsc_table_in_the_us_set_idempotent_and_down_removes_it(emu) -> None:
    table = "gt-mrsc-setup"
    code, out, err = _run("up", "--consistency", "strong", "--endpoint", emu.endpoint, "--table", table, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"]
    for region in US:
        desc = _ddb(emu, region).describe_table(TableName=table)["Table"]
        assert desc["MultiRegionConsistency"] == "STRONG"
        assert sorted(r["RegionName"] for r in desc["Replicas"]) == sorted(set(US) - {region})
        item = _ddb(emu, region).get_item(TableName=table, Key={"PK": {"S": "library"}, "SK": {"S": "01"}},
                                          ConsistentRead=True)
        assert "Item" in item
    code, out, err = _run("up", "--consistency", "strong", "--endpoint", emu.endpoint, "--table", table)
    assert code == 0, err
    assert "Nothing was changed." in out
    code, out, err = _run("up", "--endpoint", emu.endpoint, "--table", table, "--regions", ",".join(US))
    assert code == 2 and "MRSC" in err  # asked for MREC on an MRSC table: said, not changed
    code, out, err = _run("down", "--endpoint", emu.endpoint, "--table", table, "--regions", ",".join(US))
    assert code == 0, err
    assert not any(_exists(emu, r, table) for r in US)


@pytest.mark.slow
def test_up_strong_with_a_witness_and_down(emu) -> None:
    table = "gt-mrsc-witness"
    code, _, err = _run("up", "--consistency", "strong", "--regions", "us-east-1,us-east-2", "--witness",
                        "us-west-2", "--endpoint", emu.endpoint, "--table", table, "--no-data", "--quiet")
    assert code == 0, err
    desc = _ddb(emu, "us-east-1").describe_table(TableName=table)["Table"]
    assert desc["GlobalTableWitnesses"] == [{"RegionName": "us-west-2", "WitnessStatus": "ACTIVE"}]
    assert not _exists(emu, "us-west-2", table)
    code, _, err = _run("down", "--regions", "us-east-1,us-east-2", "--endpoint", emu.endpoint, "--table", table)
    assert code == 0, err
    assert not _exists(emu, "us-east-1", table) and not _exists(emu, "us-east-2", table)


@pytest.mark.parametrize("regions, witness", [
    ("us-east-1,eu-west-1,us-west-2", None),
    ("us-east-1,us-east-2", None),
    ("us-east-1,us-east-2,us-west-2", "eu-west-1"),
])
def test_regions_outside_one_set_or_a_wrong_count_exit_2_in_one_line(emu, regions: str, witness: str | None) -> None:
    table = "gt-mrsc-bad"
    argv = ["up", "--consistency", "strong", "--regions", regions, "--endpoint", emu.endpoint, "--table", table]
    code, out, err = _run(*argv, *(["--witness", witness] if witness else []))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "MRSC" in err
    assert not any(_exists(emu, r, table) for r in regions.split(","))


@pytest.mark.slow
def test_an_mrec_table_is_not_turned_strong(emu) -> None:
    table = "gt-mrsc-was-mrec"
    code, _, err = _run("up", "--regions", "us-west-2,us-east-1", "--endpoint", emu.endpoint, "--table", table,
                        "--no-data", "--quiet")
    assert code == 0, err
    code, _, err = _run("up", "--consistency", "strong", "--endpoint", emu.endpoint, "--table", table, "--no-data")
    assert code == 2 and "cannot be changed" in err
    assert "MultiRegionConsistency" not in _ddb(emu, "us-west-2").describe_table(TableName=table)["Table"]
    assert _run("down", "--regions", "us-west-2,us-east-1", "--endpoint", emu.endpoint, "--table", table)[0] == 0
