"""CloudWatch calls per dashboard refresh: gtcore's batched reader vs the naive one.

For 3 and 5 regions, against the local emulator (replicated writes from every region, so every
pair has ReplicationLatency datapoints), this measures one refresh of
:func:`gtcore.probes.cloudwatch.replication_latency` (one GetMetricData per source region, every
receiving region x statistic as a query) next to the naive refresh (one GetMetricStatistics call
per pair and statistic), counting the API calls with a botocore event hook and checking both
read the same numbers.

    python bench/bench_cloudwatch.py [--refreshes 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

from gtcore.emulator import Emulator  # noqa: E402
from gtcore.emulator.server import tune_process  # noqa: E402
from gtcore.probes.cloudwatch import METRIC, NAMESPACE, STATS, replication_latency  # noqa: E402
from gtcore.target import Connection, Target  # noqa: E402
from gtcore.workshop import provision_workshop  # noqa: E402

REGION_SETS = {
    3: ("us-west-2", "eu-west-1", "ap-northeast-1"),
    5: ("us-west-2", "eu-west-1", "ap-northeast-1", "us-east-1", "sa-east-1"),
}


def _counter(conn: Connection) -> list[str]:
    calls: list[str] = []
    for region in conn.target.regions:
        conn.client("cloudwatch", region).meta.events.register(
            "before-call.cloudwatch", lambda model, **_: calls.append(model.name)
        )
    return calls


def naive_refresh(conn: Connection, start: datetime, end: datetime, period: int) -> dict:
    """One GetMetricStatistics call per (source, receiving, statistic)."""
    out = {}
    for src in conn.target.regions:
        cw = conn.client("cloudwatch", src)
        for dst in conn.target.regions:
            if dst == src:
                continue
            for stat in STATS:
                resp = cw.get_metric_statistics(
                    Namespace=NAMESPACE, MetricName=METRIC,
                    Dimensions=[{"Name": "TableName", "Value": conn.target.table},
                                {"Name": "ReceivingRegion", "Value": dst}],
                    StartTime=start, EndTime=end, Period=period, Statistics=[stat],
                )
                out[(src, dst, stat)] = sum(p[stat] for p in resp["Datapoints"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refreshes", type=int, default=5)
    ap.add_argument("--writes", type=int, default=5, help="writes per region before measuring")
    args = ap.parse_args()

    window, period = timedelta(minutes=15), 60
    rows = []
    tune_process()  # as the emulator's own process is tuned
    with Emulator(port=0, lag="fixed:50", replica_create_seconds=0.2) as emu:
        for n, regions in REGION_SETS.items():
            target = Target(regions=regions, table=f"bench-cw-{n}", endpoint=emu.endpoint)
            conn = Connection(target)
            provision_workshop(conn, load_data=False)
            for region in regions:
                ddb = conn.client("dynamodb", region)
                for i in range(args.writes):
                    ddb.put_item(TableName=target.table,
                                 Item={"PK": {"S": f"bench-{region}"}, "SK": {"S": str(i)}})
            emu.wait_replicated(30)

            calls = _counter(conn)
            ours_ms, ours_calls = [], []
            for _ in range(args.refreshes):
                before = len(calls)
                t0 = time.perf_counter()
                res = replication_latency(conn, window=window, period=period)
                ours_ms.append((time.perf_counter() - t0) * 1000)
                ours_calls.append(len(calls) - before)
            assert all(p.state == "ok" for p in res.pairs), res.to_dict()

            naive_ms, naive_calls = [], []
            for _ in range(args.refreshes):
                before = len(calls)
                t0 = time.perf_counter()
                naive = naive_refresh(conn, res.start, res.end, period)
                naive_ms.append((time.perf_counter() - t0) * 1000)
                naive_calls.append(len(calls) - before)
            # Same numbers either way (SampleCount summed over the window, per pair).
            f = res.frame
            for (src, dst, stat), total in naive.items():
                if stat == "SampleCount":
                    ours = f[(f.source == src) & (f.receiving == dst) & (f.stat == stat)]
                    assert ours["value"].sum() == total, (src, dst, total)

            pairs = n * (n - 1)
            rows.append((n, pairs, statistics.median(ours_calls), statistics.median(naive_calls),
                         statistics.median(ours_ms), statistics.median(naive_ms)))

    print(f"CloudWatch calls per refresh ({len(STATS)} statistics: {', '.join(STATS)}; "
          f"median of {args.refreshes} refreshes, local emulator)")
    head = ("regions", "pairs", "gtcore calls", "naive calls", "gtcore ms", "naive ms")
    print("  ".join(f"{h:>12}" for h in head))
    for n, pairs, oc, nc, om, nm in rows:
        print(f"{n:>12}  {pairs:>12}  {oc:>12.0f}  {nc:>12.0f}  {om:>12.1f}  {nm:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
