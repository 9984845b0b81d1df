"""Soak benchmark: a compressed day of use against one emulator process, with growth figures.

For ``--minutes`` (default 3) it runs, all at once, against an emulator in its own process
(workshop table in three regions, plus a stream- and TTL-enabled global table):

* steady writes (``--rate`` per second over the three regions): new items with a short TTL (so
  the TTL sweeper deletes them and the deletes replicate), updates to a hot set of items, and
  reads of items that do not exist (as a data explorer or a typo would);
* a lag probe every 20 s, a conflict batch every 30 s, status + CloudWatch + replica diff every
  15 s (a dashboard refreshing), and one failover drill watching for the whole run;
* a fault every 60 s: one region isolated for 3 s, then healed (replication queues and drains).

Every ``--sample-every`` seconds it records the emulator's RSS (``/proc/<pid>/status``) and its
sizes (``GET /_emulator/state``: queues, hidden stamps, tombstones, items, hash-key buckets,
stream records, metric datums, warm API environments). At the end it prints the samples, and
for each figure the growth per minute over the second half of the run (least squares) and that
extrapolated to an hour. A figure still growing is flagged GROWING.

Run: .venv/bin/python bench/bench_soak.py [--minutes 3] [--rate 20] [--sample-every 10]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                  AWS_EC2_METADATA_DISABLED="true")
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

from gtcore.errors import GtError  # noqa: E402
from gtcore.target import Connection, Target  # noqa: E402
from setup.emulator import spawn  # noqa: E402

REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")
STREAM_TABLE = "soak-stream"
HOT_KEYS = 100


def rss_mb(pid: int) -> float:
    if not pid:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def process_counts(pid: int) -> dict[str, int]:
    """Threads and open file descriptors of the emulator process (leaks show here first)."""
    if not pid:
        return {}
    threads = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text()
                   .splitlines() if line.startswith("Threads:"))
    return {"os_threads": threads, "open_fds": len(os.listdir(f"/proc/{pid}/fd"))}


class Soak:
    def __init__(self, endpoint: str, pid: int, args: argparse.Namespace) -> None:
        self.endpoint, self.pid, self.args = endpoint, pid, args
        self.conn = Connection(Target(regions=REGIONS, endpoint=endpoint))
        self.stream_conn = Connection(Target(regions=REGIONS, table=STREAM_TABLE,
                                             endpoint=endpoint))
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []
        self.samples: list[tuple[float, float, dict[str, int]]] = []

    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def error(self, what: str, err: BaseException) -> None:
        with self.lock:
            self.errors.append(f"{what}: {err}")

    # -- setup ---------------------------------------------------------------------------------

    def prepare(self) -> None:
        from gtcore.workshop import provision_workshop

        report = provision_workshop(self.conn)
        assert report.ok, report.summary()
        home = self.stream_conn.client("dynamodb", REGIONS[0])
        home.create_table(
            TableName=STREAM_TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                       {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                  {"AttributeName": "SK", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        home.update_time_to_live(TableName=STREAM_TABLE, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "ttl"})
        for region in REGIONS[1:]:
            home.update_table(TableName=STREAM_TABLE,
                              ReplicaUpdates=[{"Create": {"RegionName": region}}])
        while True:
            desc = home.describe_table(TableName=STREAM_TABLE)["Table"]
            replicas = desc.get("Replicas", [])
            if len(replicas) == len(REGIONS) - 1 and all(
                    r["ReplicaStatus"] == "ACTIVE" for r in replicas):
                break
            time.sleep(0.2)

    # -- load ----------------------------------------------------------------------------------

    def writer(self) -> None:
        rng = random.Random(7)
        clients = {r: self.stream_conn.client("dynamodb", r) for r in REGIONS}
        interval = 1.0 / self.args.rate
        next_at = time.monotonic()
        n = 0
        while not self.stop.is_set():
            region = REGIONS[n % len(REGIONS)]
            ddb = clients[region]
            try:
                kind = rng.random()
                if kind < 0.6:  # a new item that expires soon
                    ddb.put_item(TableName=STREAM_TABLE, Item={
                        "PK": {"S": f"item-{uuid.uuid4().hex[:12]}"}, "SK": {"S": "0"},
                        "v": {"N": str(n)}, "ttl": {"N": str(int(time.time()) + 20)}})
                    self.count("puts (new, TTL 20 s)")
                elif kind < 0.9:  # a hot item, updated in place
                    ddb.update_item(TableName=STREAM_TABLE,
                                    Key={"PK": {"S": f"hot-{rng.randrange(HOT_KEYS)}"},
                                         "SK": {"S": "0"}},
                                    UpdateExpression="SET v = :v",
                                    ExpressionAttributeValues={":v": {"N": str(n)}})
                    self.count("updates (hot set)")
                else:  # an item that is not there
                    ddb.get_item(TableName=STREAM_TABLE,
                                 Key={"PK": {"S": f"missing-{uuid.uuid4().hex[:12]}"},
                                      "SK": {"S": "0"}})
                    self.count("reads of missing items")
            except Exception as err:  # noqa: BLE001 - counted; an isolated region refuses
                if "isolated" not in str(err).lower() and "503" not in str(err):
                    self.error("write", err)
                self.count("writes refused (isolated region)")
            n += 1
            next_at += interval
            self.stop.wait(max(0.0, next_at - time.monotonic()))

    def every(self, seconds: float, what: str, fn: Any) -> None:
        while not self.stop.wait(seconds):
            try:
                fn()
                self.count(what)
            except GtError as err:
                self.error(what, err)
            except Exception as err:  # noqa: BLE001 - a bug: recorded and printed at the end
                self.error(what, err)

    def probe(self) -> None:
        from gtcore.experiments.lag_probe import LagProbe, ProbeConfig, all_pairs

        run = LagProbe(self.conn, ProbeConfig(pairs=all_pairs(REGIONS), samples=4, rate=4,
                                              timeout=15, threads_per_region=2))
        frame = run.run()
        self.count("probe samples", len(frame))
        bad = frame[frame["status"] != "ok"]
        if len(bad):
            self.count("probe samples not ok (fault window)", len(bad))

    def conflict(self) -> None:
        from gtcore.experiments.conflict import ConflictConfig, ConflictLab

        results = ConflictLab(self.conn, ConflictConfig(trials=2, converge_timeout=20)).run()
        if any(r.lww == "violation" or not r.converged for r in results):
            raise AssertionError(f"conflict trial went wrong: {[r.to_row() for r in results]}")

    def dashboard_refresh(self) -> None:
        from gtcore.probes.cloudwatch import replication_latency
        from gtcore.probes.diff import diff_replicas
        from gtcore.probes.status import table_status

        table_status(self.conn)
        replication_latency(self.conn, window=600)
        diff_replicas(self.conn, settle_seconds=2)

    def fault(self) -> None:
        from gtcore.emulator.client import EmulatorControl

        control = EmulatorControl(self.endpoint)
        control.isolate("eu-west-1")
        try:
            self.stop.wait(3)
        finally:
            control.heal("eu-west-1")

    def sampler(self, t0: float) -> None:
        from gtcore.emulator.client import EmulatorControl

        control = EmulatorControl(self.endpoint, timeout=30)
        while True:
            sizes = {**control.state()["sizes"], **process_counts(self.pid)}
            self.samples.append((time.monotonic() - t0, rss_mb(self.pid), sizes))
            if self.stop.wait(self.args.sample_every):
                return

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> None:
        from gtcore.experiments.drill import DrillConfig, FailoverDrill

        drill = FailoverDrill(self.conn, DrillConfig(video="soak", interval=0.5, api_timeout=5,
                                                     converge_timeout=60)).start()
        t0 = time.monotonic()
        threads = [
            threading.Thread(target=self.sampler, args=(t0,), name="sampler"),
            threading.Thread(target=self.writer, name="writer"),
            threading.Thread(target=self.every, args=(20, "probe runs", self.probe)),
            threading.Thread(target=self.every, args=(30, "conflict batches", self.conflict)),
            threading.Thread(target=self.every, args=(15, "dashboard refreshes",
                                                      self.dashboard_refresh)),
            threading.Thread(target=self.every, args=(60, "faults (isolate 3 s)", self.fault)),
        ]
        for t in threads:
            t.daemon = True
            t.start()
        self.stop.wait(self.args.minutes * 60)
        self.stop.set()
        drill.stop()
        for t in threads:
            t.join(120)
        drill.wait(120)
        self.drill = drill
        self.elapsed = time.monotonic() - t0


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of value over time, per minute."""
    if len(points) < 3:
        return float("nan")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60.0 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def report(soak: Soak) -> None:
    s = soak.samples
    keys = sorted(s[-1][2])
    print(f"\nsoak: {soak.elapsed / 60:.1f} min against one emulator process; regions "
          f"{', '.join(REGIONS)}")
    for what, n in sorted(soak.counts.items()):
        print(f"  {what}: {n}")
    v = soak.drill.verdict
    if v is not None:
        print(f"  drill: {v.writes} writes, {v.acked} acknowledged, {v.failed} failed, "
              f"{len(v.failovers)} region switches, lost: {v.lost_acked}, passed: {v.passed}")
    else:
        print(f"  drill: no verdict ({soak.drill.error})")
    print(f"  errors: {len(soak.errors)}")
    for e in soak.errors[:10]:
        print(f"    {e}")

    print("\nsamples (t s, RSS MB, sizes):")
    header = ["t", "rss_mb", *keys]
    print("  " + "  ".join(f"{h:>10}" for h in header))
    for t, rss, sizes in s:
        print("  " + "  ".join(f"{v:>10}" for v in [f"{t:.0f}", f"{rss:.1f}",
                                                       *(sizes[k] for k in keys)]))

    half, tail = s[len(s) // 2:], s[-max(3, len(s) // 3):]
    before_tail = s[:len(s) - len(tail)] or s[:1]
    print("\ngrowth per minute (least squares) over the second half and over the last third of "
          "the run, the last third extrapolated to an hour. GROWING: the last third rises "
          "steadily and sets new highs; bounded: it stopped (or only wobbles).")
    names = ["rss_mb", *keys]

    def series(rows: list[Any], name: str) -> list[tuple[float, float]]:
        return [(t, rss if name == "rss_mb" else float(sz[name])) for t, rss, sz in rows]

    for name in names:
        last = s[-1][1] if name == "rss_mb" else float(s[-1][2][name])
        per_min = slope_per_minute(series(half, name))
        now_per_min = slope_per_minute(series(tail, name))
        per_hour = now_per_min * 60
        floor = 5.0 if name == "rss_mb" else 50.0
        high_before = max(v for _, v in series(before_tail, name))
        high_now = max(v for _, v in series(tail, name))
        growing = per_hour > max(0.1 * max(last, 1.0), floor) and (
            high_now > high_before + max(0.02 * high_before, floor / 10))
        note = KEPT.get(name, "")
        print(f"  {name:>18}: now {last:>10.1f}, {per_min:>+9.1f}/min (2nd half), "
              f"{now_per_min:>+9.1f}/min (last third) = {per_hour:>+10.0f}/hour  "
              f"{'GROWING' if growing else 'bounded'}{'  (' + note + ')' if note else ''}")


# What the emulator keeps for a while by design: these rise until their window is full.
KEPT = {
    "stamps": "one per live item, plus deleted items' stamps for TOMBSTONE_SECONDS (5 min)",
    "tombstones": "kept 5 min (TOMBSTONE_SECONDS) and while older writes are held, then dropped",
    "metric_datums": "ReplicationLatency: one datum per pair, table and minute, kept 3 h, then trimmed",
    "stream_records": "the newest 10,000 per stream are kept",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second, in total")
    parser.add_argument("--sample-every", type=float, default=10.0)
    parser.add_argument("--lag", default="fixed:100")
    parser.add_argument("--endpoint", help="soak an emulator that already runs (on loopback) "
                        "instead of starting one; give --pid for its RSS")
    parser.add_argument("--pid", type=int, help="process id of the --endpoint emulator")
    args = parser.parse_args()
    if not (0 < args.minutes <= 600 and 0 < args.rate <= 1000 and args.sample_every >= 1):
        parser.error("--minutes 0..600, --rate 0..1000, --sample-every >= 1")
    if args.endpoint:
        from urllib.parse import urlsplit

        if urlsplit(args.endpoint).hostname not in ("127.0.0.1", "localhost"):
            parser.error("--endpoint must be an emulator on 127.0.0.1")
        run_soak(args.endpoint, args.pid or 0, args)
        return
    with spawn(args.lag, replica_create_seconds=0.5) as emu:
        run_soak(emu.endpoint, emu.process.pid, args)


def run_soak(endpoint: str, pid: int, args: argparse.Namespace) -> None:
    soak = Soak(endpoint, pid, args)
    soak.prepare()
    print(f"emulator pid {pid or '?'} at {endpoint}; soaking for {args.minutes} min at "
          f"{args.rate:g} writes/s ...", flush=True)
    soak.run()
    report(soak)


if __name__ == "__main__":
    main()
