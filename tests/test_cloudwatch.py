"""ReplicationLatency probe over HTTP: one GetMetricData per source region, tidy frame, states."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore import exceptions as bce

from gtcore.errors import ConfigError
from gtcore.probes.cloudwatch import COLUMNS, STATS, build_queries, replication_latency
from gtcore.target import Connection, Target

REGIONS = ("us-west-2", "eu-west-1", "ap-northeast-1")


@pytest.fixture
def endpoint(emulator):
    """The session emulator's endpoint (tests/conftest.py); tables are named per test."""
    return emulator.endpoint


def _publish(conn: Connection, source: str, receiving: str, values, when: datetime) -> None:
    conn.client("cloudwatch", source).put_metric_data(
        Namespace="AWS/DynamoDB",
        MetricData=[
            {
                "MetricName": "ReplicationLatency",
                "Dimensions": [
                    {"Name": "TableName", "Value": conn.target.table},
                    {"Name": "ReceivingRegion", "Value": receiving},
                ],
                "Timestamp": when,
                "Value": float(v),
                "Unit": "Milliseconds",
            }
            for v in values
        ],
    )


def _count_calls(conn: Connection, regions) -> list[str]:
    calls: list[str] = []
    for r in regions:
        client = conn.client("cloudwatch", r)

        def rec(model, _r=r, **_):
            calls.append(f"{_r}:{model.name}")

        client.meta.events.register("before-call.cloudwatch", rec)
    return calls


def test_one_call_per_source_region_with_all_pairs_and_stats(endpoint):
    conn = Connection(Target(regions=REGIONS, table="cw-t1", endpoint=endpoint))
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    when = end - timedelta(minutes=3) + timedelta(seconds=10)
    _publish(conn, "us-west-2", "eu-west-1", [100, 200, 300], when)
    _publish(conn, "us-west-2", "ap-northeast-1", [900], when)
    _publish(conn, "eu-west-1", "us-west-2", [50, 70], when)
    # Another table's metric in the same region must not leak in.
    other = Connection(Target(regions=REGIONS, table="cw-other", endpoint=endpoint))
    _publish(other, "ap-northeast-1", "us-west-2", [5000], when)
    calls = _count_calls(conn, REGIONS)

    res = replication_latency(conn, window=timedelta(minutes=10), period=60, end=end)

    assert sorted(calls) == sorted(f"{r}:GetMetricData" for r in REGIONS)
    assert res.calls == len(REGIONS)
    assert list(res.frame.columns) == COLUMNS
    assert str(res.frame["timestamp"].dt.tz) == "UTC"

    f = res.frame
    uw_eu = f[(f.source == "us-west-2") & (f.receiving == "eu-west-1")]
    got = dict(zip(uw_eu.stat, uw_eu.value, strict=True))
    assert got == {"Average": 200.0, "Minimum": 100.0, "Maximum": 300.0, "SampleCount": 3.0}

    assert res.pair("us-west-2", "ap-northeast-1").latest["Maximum"] == 900.0
    assert res.pair("eu-west-1", "us-west-2").state == "ok"
    assert res.pair("eu-west-1", "us-west-2").latest["Average"] == 60.0
    # Pairs nobody published for are explicit, not just missing rows.
    assert sorted(res.no_datapoints()) == sorted(
        [("eu-west-1", "ap-northeast-1"), ("ap-northeast-1", "us-west-2"),
         ("ap-northeast-1", "eu-west-1")]
    )
    assert len(res.pairs) == len(REGIONS) * (len(REGIONS) - 1)
    assert res.mean_by_pair()[("us-west-2", "eu-west-1")] == 200.0
    json.dumps(res.to_dict())


def test_weighted_mean_over_several_periods(endpoint):
    conn = Connection(Target(regions=REGIONS[:2], table="cw-t2", endpoint=endpoint))
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    _publish(conn, "us-west-2", "eu-west-1", [100], end - timedelta(minutes=5, seconds=-5))
    later = end - timedelta(minutes=2, seconds=-5)
    _publish(conn, "us-west-2", "eu-west-1", [400, 400, 400], later)
    res = replication_latency(conn, window=600, period=60, end=end, stats=STATS)
    p = res.pair("us-west-2", "eu-west-1")
    assert p.datapoints == 2
    assert p.latest["Average"] == 400.0
    assert res.mean_by_pair()[("us-west-2", "eu-west-1")] == pytest.approx(325.0)


def test_failing_source_region_is_an_error_state_not_an_exception(endpoint):
    conn = Connection(Target(regions=REGIONS, table="cw-t3", endpoint=endpoint))
    end = datetime.now(UTC)
    _publish(conn, "us-west-2", "eu-west-1", [10], end - timedelta(seconds=30))

    def timeout(**_):
        raise bce.ConnectTimeoutError(endpoint_url=endpoint)

    conn.client("cloudwatch", "eu-west-1").meta.events.register(
        "before-send.cloudwatch.GetMetricData", timeout
    )
    res = replication_latency(conn, window=300, period=60, end=end)
    assert set(res.errors) == {"eu-west-1"}
    assert "timed out" in res.errors["eu-west-1"]
    assert res.pair("eu-west-1", "us-west-2").state == "error"
    assert res.pair("us-west-2", "eu-west-1").state == "ok"


def test_empty_window_gives_no_datapoints_for_every_pair(endpoint):
    conn = Connection(Target(regions=REGIONS, table="cw-empty", endpoint=endpoint))
    res = replication_latency(conn, window=300, period=60)
    assert res.frame.empty and list(res.frame.columns) == COLUMNS
    assert all(p.state == "no_datapoints" for p in res.pairs)
    assert res.mean_by_pair() == {}


def test_single_region_makes_no_calls(endpoint):
    conn = Connection(Target(regions=("us-west-2",), table="cw-one", endpoint=endpoint))
    calls = _count_calls(conn, ("us-west-2",))
    res = replication_latency(conn, window=300)
    assert res.calls == 0 and calls == [] and res.pairs == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"period": 45},
        {"period": 0},
        {"stats": ["p99"]},
        {"stats": []},
        {"window": 30, "period": 60},
        {"window": timedelta(days=15), "period": 1},
    ],
)
def test_bad_parameters_are_config_errors(endpoint, kwargs):
    conn = Connection(Target(regions=REGIONS, table="cw-bad", endpoint=endpoint))
    calls = _count_calls(conn, REGIONS)
    with pytest.raises(ConfigError):
        replication_latency(conn, **kwargs)
    assert calls == []


def test_build_queries_shape():
    queries, ids = build_queries("t", ["eu-west-1", "ap-south-1"], ["Average", "Maximum"], 60)
    assert len(queries) == 4 and len(ids) == 4
    dims = queries[0]["MetricStat"]["Metric"]["Dimensions"]
    assert {"Name": "ReceivingRegion", "Value": "eu-west-1"} in dims
    assert {"Name": "TableName", "Value": "t"} in dims
    assert all(q["MetricStat"]["Metric"]["Namespace"] == "AWS/DynamoDB" for q in queries)
    assert len({q["Id"] for q in queries}) == 4


def test_real_replication_publishes_latency_in_the_source_region(emulator, unique_table):
    """Writes replicated by the emulator (lag fixed:100) show up as ReplicationLatency."""
    from gtcore.workshop import provision_workshop

    regions = ("us-west-2", "eu-west-1")
    conn = Connection(Target(regions=regions, table=unique_table, endpoint=emulator.endpoint))
    assert provision_workshop(conn, load_data=False).ok
    for i in range(5):
        conn.client("dynamodb", "eu-west-1").put_item(
            TableName=unique_table, Item={"PK": {"S": "user10"}, "SK": {"S": f"v{i}"}}
        )
    assert emulator.wait_replicated(10)
    calls = _count_calls(conn, regions)
    res = replication_latency(conn, window=600, period=60)
    assert len(calls) == len(regions)
    pair = res.pair("eu-west-1", "us-west-2")
    assert pair.state == "ok", res.to_dict()
    f = res.frame[(res.frame.source == "eu-west-1") & (res.frame.stat == "SampleCount")]
    assert f["value"].sum() == 5
    avg = res.mean_by_pair()[("eu-west-1", "us-west-2")]
    assert 80 <= avg <= 400  # fixed 100 ms lag, plus scheduling
    assert res.pair("us-west-2", "eu-west-1").state == "no_datapoints"
