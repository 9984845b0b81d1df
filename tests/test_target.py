"""Target resolution (flags > env > config > defaults) and Connection (clients, read-only)."""

from __future__ import annotations

import json
import threading

import pytest

from gtcore.errors import ConfigError, ReadOnlyError
from gtcore.target import DEFAULT_REGIONS, Connection, Target, is_read_operation


@pytest.fixture
def moto_endpoint(emulator):
    """The session emulator's endpoint (tests/conftest.py); tables are named per test."""
    return emulator.endpoint


# --- Target ----------------------------------------------------------------------------------


def test_defaults():
    t = Target.from_sources(env={})
    assert t.regions == DEFAULT_REGIONS
    assert t.table == "global-serverless"
    assert t.endpoint is None and not t.is_local
    assert t.read_only is False
    assert t.home == "us-west-2"
    assert t.function_name == "global-serverless-dev"


def test_precedence_flags_env_config(tmp_path):
    conf = tmp_path / "gt.toml"
    conf.write_text(
        'regions = ["ap-south-1", "eu-central-1"]\ntable = "from-config"\n'
        'endpoint = "http://127.0.0.1:1111"\nprofile = "confprof"\nread_only = true\n'
    )
    only_conf = Target.from_sources(config_path=conf, env={})
    assert only_conf.regions == ("ap-south-1", "eu-central-1")
    assert only_conf.table == "from-config"
    assert only_conf.endpoint == "http://127.0.0.1:1111"
    assert only_conf.profile == "confprof"
    assert only_conf.read_only is True

    env = {
        "GT_REGIONS": "us-east-1, us-east-2",
        "GT_TABLE": "from-env",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:2222/",
        "AWS_PROFILE": "envprof",
        "GT_READ_ONLY": "0",
    }
    env_over = Target.from_sources(config_path=conf, env=env)
    assert env_over.regions == ("us-east-1", "us-east-2")
    assert env_over.table == "from-env"
    assert env_over.endpoint == "http://127.0.0.1:2222"
    assert env_over.profile == "envprof"
    assert env_over.read_only is False

    flags = Target.from_sources(
        regions="eu-west-1,us-west-2,eu-west-1",
        table="flag-table",
        endpoint="http://127.0.0.1:3333",
        profile="flagprof",
        read_only=True,
        config_path=conf,
        env=env,
    )
    assert flags.regions == ("eu-west-1", "us-west-2")  # order kept, duplicates dropped
    assert flags.table == "flag-table"
    assert flags.endpoint == "http://127.0.0.1:3333"
    assert flags.profile == "flagprof"
    assert flags.read_only is True


def test_json_config_and_target_section(tmp_path):
    conf = tmp_path / "gt.json"
    conf.write_text(json.dumps({"target": {"regions": "sa-east-1", "table": "abc"}}))
    t = Target.from_sources(config_path=conf, env={})
    assert t.regions == ("sa-east-1",) and t.table == "abc"


def test_config_path_from_env(tmp_path):
    conf = tmp_path / "gt.json"
    conf.write_text(json.dumps({"table": "via-env-path"}))
    assert Target.from_sources(env={"GT_CONFIG": str(conf)}).table == "via-env-path"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"regions": "us-west-2,Mars-1"},
        {"regions": ""},
        {"regions": "us-west-2;eu-west-1"},
        {"table": "x"},
        {"table": "bad name!"},
        {"endpoint": "localhost:4566"},
        {"endpoint": "ftp://127.0.0.1"},
        {"read_only": "maybe"},
    ],
)
def test_invalid_inputs_are_config_errors(kwargs):
    with pytest.raises(ConfigError) as info:
        if "read_only" in kwargs:
            Target.from_sources(env={"GT_READ_ONLY": kwargs["read_only"]})
        else:
            Target.from_sources(env={}, **kwargs)
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_bad_config_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        Target.from_sources(config_path=tmp_path / "missing.toml", env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("regions = [")
    with pytest.raises(ConfigError, match="not valid"):
        Target.from_sources(config_path=broken, env={})
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"tabel": "typo"}')
    with pytest.raises(ConfigError, match="tabel"):
        Target.from_sources(config_path=unknown, env={})


def test_target_is_frozen_and_describe_has_no_secrets():
    t = Target(regions=("us-west-2",), profile="ops")
    with pytest.raises(AttributeError):
        t.table = "other"  # type: ignore[misc]
    assert "ops" in t.describe() and "us-west-2" in t.describe()


# --- read-only allow-list --------------------------------------------------------------------


@pytest.mark.parametrize(
    "op",
    ["DescribeTable", "GetItem", "ListTables", "Query", "Scan", "BatchGetItem",
     "GetMetricData", "GetMetricStatistics", "GetCallerIdentity", "DescribeTimeToLive",
     "GetFunctionConcurrency", "ListTags", "TransactGetItems"],
)
def test_reads_allowed(op):
    assert is_read_operation(op)


@pytest.mark.parametrize(
    "op",
    ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
     "UpdateTable", "CreateTable", "DeleteTable", "PutFunctionConcurrency",
     "DeleteFunctionConcurrency", "TagResource", "UntagResource", "PutMetricData",
     "UpdateTimeToLive", "Invoke", "GetSessionToken", "RestoreTableFromBackup"],
)
def test_writes_refused(op):
    assert not is_read_operation(op)


def test_partiql_only_select_is_read():
    assert is_read_operation("ExecuteStatement", {"Statement": '  select * FROM "t"'})
    assert not is_read_operation("ExecuteStatement", {"Statement": "UPDATE t SET a=1"})
    assert not is_read_operation("ExecuteStatement", {"Statement": "/* select */ DELETE FROM t"})
    assert is_read_operation(
        "BatchExecuteStatement", {"Statements": [{"Statement": "SELECT * FROM t"}]}
    )
    assert not is_read_operation(
        "BatchExecuteStatement",
        {"Statements": [{"Statement": "SELECT * FROM t"}, {"Statement": "INSERT INTO t"}]},
    )
    assert not is_read_operation("ExecuteTransaction", {"TransactStatements": []})


# --- Connection ------------------------------------------------------------------------------


def _record_calls(client, sink: list[str]) -> None:
    """Record every API call that actually goes on the wire (before-send)."""

    def rec(request, **_):
        sink.append(request.headers.get("X-Amz-Target", b"").decode() or request.url)

    client.meta.events.register("before-send.*.*", rec)


def test_read_only_refuses_writes_and_nothing_reaches_the_wire(moto_endpoint):
    rw = Connection(Target(regions=("us-west-2",), table="ro-table", endpoint=moto_endpoint))
    ddb_rw = rw.client("dynamodb", "us-west-2")
    ddb_rw.create_table(
        TableName="ro-table",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb_rw.put_item(TableName="ro-table", Item={"PK": {"S": "a"}, "v": {"N": "1"}})

    ro = Connection(
        Target(regions=("us-west-2",), table="ro-table", endpoint=moto_endpoint, read_only=True)
    )
    ddb = ro.client("dynamodb", "us-west-2")
    lam = ro.client("lambda", "us-west-2")
    wire: list[str] = []
    _record_calls(ddb, wire)
    _record_calls(lam, wire)

    # Reads go through.
    assert ddb.describe_table(TableName="ro-table")["Table"]["TableName"] == "ro-table"
    assert ddb.get_item(TableName="ro-table", Key={"PK": {"S": "a"}})["Item"]["v"] == {"N": "1"}
    assert ddb.scan(TableName="ro-table")["Count"] == 1
    assert ddb.execute_statement(Statement='SELECT * FROM "ro-table"')["Items"]
    reads_on_wire = list(wire)
    assert len(reads_on_wire) == 4

    writes = [
        lambda: ddb.put_item(TableName="ro-table", Item={"PK": {"S": "b"}}),
        lambda: ddb.update_item(
            TableName="ro-table", Key={"PK": {"S": "a"}},
            UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}},
        ),
        lambda: ddb.delete_item(TableName="ro-table", Key={"PK": {"S": "a"}}),
        lambda: ddb.batch_write_item(
            RequestItems={"ro-table": [{"PutRequest": {"Item": {"PK": {"S": "c"}}}}]}
        ),
        lambda: ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": "ro-table", "Item": {"PK": {"S": "d"}}}}]
        ),
        lambda: ddb.execute_statement(Statement="DELETE FROM \"ro-table\" WHERE PK='a'"),
        lambda: ddb.update_table(
            TableName="ro-table", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}]
        ),
        lambda: ddb.delete_table(TableName="ro-table"),
        lambda: lam.put_function_concurrency(
            FunctionName="global-serverless-dev", ReservedConcurrentExecutions=0
        ),
        lambda: lam.delete_function_concurrency(FunctionName="global-serverless-dev"),
    ]
    for call in writes:
        with pytest.raises(ReadOnlyError) as info:
            call()
        assert "read-only" in str(info.value)
    assert wire == reads_on_wire  # no write ever reached the endpoint
    # And the data is untouched.
    items = ddb_rw.scan(TableName="ro-table")["Items"]
    assert items == [{"PK": {"S": "a"}, "v": {"N": "1"}}]


def test_clients_are_cached_per_service_and_region_across_threads(moto_endpoint):
    conn = Connection(Target(regions=("us-west-2", "eu-west-1"), endpoint=moto_endpoint))
    got: list[object] = []
    barrier = threading.Barrier(8)

    def grab():
        barrier.wait()
        got.append(conn.client("dynamodb", "eu-west-1"))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len({id(c) for c in got}) == 1
    assert conn.client("dynamodb", "us-west-2") is not got[0]
    assert conn.client("dynamodb", "eu-west-1").meta.region_name == "eu-west-1"
    cfg = got[0].meta.config
    assert cfg.retries["total_max_attempts"] <= 2 and cfg.connect_timeout and cfg.read_timeout


def test_identity_and_api_base_url(moto_endpoint):
    conn = Connection(Target(regions=("us-west-2", "eu-west-1"), endpoint=moto_endpoint))
    ident = conn.identity()
    assert set(ident) == {"Account", "Arn"}
    assert ident["Account"].isdigit()
    assert "testing" not in json.dumps(ident)
    assert conn.api_base_url("eu-west-1") == f"{moto_endpoint}/_api/eu-west-1/api/"


def test_local_target_ignores_endpoint_env(monkeypatch, moto_endpoint):
    # The Target's endpoint is the only truth: AWS_ENDPOINT_URL_* must not redirect clients.
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    conn = Connection(Target(regions=("us-west-2",), endpoint=moto_endpoint))
    assert conn.client("dynamodb", "us-west-2").meta.endpoint_url == moto_endpoint


def test_unknown_profile_is_a_credentials_error_without_network(monkeypatch, tmp_path):
    from gtcore.errors import CredentialsError

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    conn = Connection(Target(regions=("us-west-2",), profile="does-not-exist"))
    with pytest.raises(CredentialsError) as info:
        conn.client("dynamodb", "us-west-2")
    assert "does-not-exist" in str(info.value) and info.value.exit_code == 2
