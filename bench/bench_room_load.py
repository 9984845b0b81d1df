"""Lag under a room's load: does replication keep to its lag model while many clients work?

A room of workshop attendees, emulated: `--clients` clients (24 by default, spread over
`--processes` load processes so the load generator is not one GIL) do GetItem/PutItem 50/50 on a
2-region global table (us-west-2, eu-west-1) for `--seconds` (60) with the lag model at
`fixed:<--lag-ms>` (500); the emulator runs in its own process. A prober writes an item every 2 s,
alternating source regions, and polls the other region every 10 ms until it shows: the lag a
client observes (the mid-point between the last miss and the first hit, minus the write's
mid-point). Every second the bench reads the emulator's state (pending deliveries, applied,
discarded as stale, and what it says about being behind its lag model).

Prints requests/s, client errors, the emulator process's CPU (share of one core), observed lag
median/p90/max, pending deliveries over time, applied and stale-discarded deliveries, and how many
probe samples the emulator itself reported as taken while behind. Targets: observed lag median
<= 0.8 s and max <= 2 s at fixed:500, pending bounded, 0 errors.

`--in-process` runs the emulator inside the bench's own process instead (with the prober and the
sampler, as an embedded emulator shares its process with the app that embeds it).

    .venv/bin/python bench/bench_room_load.py [--clients 24] [--seconds 60] [--lag-ms 500] [--in-process]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from gtcore.emulator.client import EmulatorControl  # noqa: E402
from setup.emulator import spawn  # noqa: E402

REGIONS = ("us-west-2", "eu-west-1")
TABLE = "room"
ITEMS = 200  # keys the room's clients share (a catalog and bookmarks)
CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30, max_pool_connections=64)


def ddb(endpoint: str, region: str) -> Any:
    return boto3.client("dynamodb", region_name=region, endpoint_url=endpoint, config=CONFIG)


def create_table(endpoint: str) -> None:
    home = ddb(endpoint, REGIONS[0])
    home.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                              {"AttributeName": "SK", "AttributeType": "S"}],
    )
    home.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": REGIONS[1]}}])
    while True:
        desc = home.describe_table(TableName=TABLE)["Table"]
        if desc["TableStatus"] == "ACTIVE" and all(r["ReplicaStatus"] == "ACTIVE" for r in desc.get("Replicas", [])):
            return
        time.sleep(0.1)


def _client(endpoint: str, index: int, seconds: float, out: Any) -> None:
    region = REGIONS[index % len(REGIONS)]
    client = ddb(endpoint, region)
    rng = random.Random(index)
    deadline = time.monotonic() + seconds
    done = errors = 0
    while time.monotonic() < deadline:
        key = {"PK": {"S": f"user{rng.randrange(ITEMS)}"}, "SK": {"S": "bookmark"}}
        try:
            if rng.random() < 0.5:
                client.get_item(TableName=TABLE, Key=key)
            else:
                client.put_item(TableName=TABLE, Item={**key, "bookmark": {"S": f"0.{rng.randrange(10**6)}"},
                                                       "by": {"S": f"client{index}"}})
            done += 1
        except Exception:  # counted: the target is 0
            errors += 1
    out.put((done, errors))


def _load_process(endpoint: str, first: int, count: int, seconds: float, out: Any) -> None:
    threads = [threading.Thread(target=_client, args=(endpoint, first + i, seconds, out)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Prober:
    """Writes a probe item every `interval` s and polls the other region for it."""

    def __init__(self, endpoint: str, control: Any, interval: float = 2.0, poll: float = 0.01) -> None:
        self.clients = {r: ddb(endpoint, r) for r in REGIONS}
        self.control = control
        self.interval, self.poll = interval, poll
        self.samples: list[tuple[float, bool]] = []  # (observed lag s, the emulator said it was behind)
        self.errors = 0
        self._stop = threading.Event()

    def run(self, seconds: float) -> None:
        start = time.monotonic()
        n = 0
        while not self._stop.wait(max(0.0, start + n * self.interval - time.monotonic())):
            if time.monotonic() - start > seconds:
                return
            self._probe(n)
            n += 1

    def _probe(self, n: int) -> None:
        src, dst = REGIONS[n % 2], REGIONS[(n + 1) % 2]
        key = {"PK": {"S": "__probe__"}, "SK": {"S": str(n)}}
        try:
            t0 = time.monotonic()
            self.clients[src].put_item(TableName=TABLE, Item={**key, "n": {"N": str(n)}})
            write_mid = (t0 + time.monotonic()) / 2
            last_miss_mid = write_mid
            while True:
                s = time.monotonic()
                item = self.clients[dst].get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
                r = time.monotonic()
                if item is not None:
                    lag = ((last_miss_mid + (s + r) / 2) / 2) - write_mid
                    break
                last_miss_mid = (s + r) / 2
                if r - t0 > 60:
                    raise TimeoutError
                time.sleep(self.poll)
            behind = bool(self.control.state().get("overload", {}).get("behind"))
            self.samples.append((max(lag, 0.0), behind))
        except Exception:
            self.errors += 1


@contextlib.contextmanager
def in_process_emulator(lag: str) -> Any:
    from gtcore.emulator import Emulator
    from gtcore.emulator.server import tune_process

    tune_process()  # as the emulator's own process is tuned
    emu = Emulator(port=0, lag=lag, replica_create_seconds=0.2).start()
    try:
        control = EmulatorControl(emu.endpoint)
        control.pid = os.getpid()  # type: ignore[attr-defined]
        yield control
    finally:
        emu.stop()


@contextlib.contextmanager
def spawned_emulator(lag: str) -> Any:
    with spawn(lag, replica_create_seconds=0.2) as emu:
        emu.pid = emu.process.pid  # type: ignore[attr-defined]
        yield emu


def run(clients: int, processes: int, seconds: float, lag_ms: int, in_process: bool) -> None:
    with (in_process_emulator if in_process else spawned_emulator)(f"fixed:{lag_ms}") as emu:
        create_table(emu.endpoint)
        pid = emu.pid
        out: Any = mp.Queue()
        per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
        firsts = [sum(per[:i]) for i in range(processes)]
        procs = [mp.Process(target=_load_process, args=(emu.endpoint, f, c, seconds, out))
                 for f, c in zip(firsts, per, strict=True) if c]
        prober = Prober(emu.endpoint, emu)
        cpu0, t0 = _cpu_seconds(pid), time.monotonic()
        state0 = emu.state()
        for p in procs:
            p.start()
        probe_thread = threading.Thread(target=prober.run, args=(seconds,))
        probe_thread.start()
        timeline: list[tuple[float, int, float]] = []  # (t, pending, behind s)
        while time.monotonic() - t0 < seconds:
            time.sleep(1.0)
            state = emu.state()
            pending = sum(p["count"] for p in state["pending"])
            behind = max((p.get("behind_ms", 0.0) for p in state.get("overload", {}).get("pairs", [])), default=0.0)
            timeline.append((time.monotonic() - t0, pending, behind / 1000.0))
        results = [out.get() for _ in range(clients)]
        for p in procs:
            p.join()
        elapsed = time.monotonic() - t0
        cpu = _cpu_seconds(pid) - cpu0
        state1 = emu.state()
        probe_thread.join()
        drain0 = time.monotonic()
        emu.wait_replicated(120)
        drained = time.monotonic() - drain0
    done, errors = sum(r[0] for r in results), sum(r[1] for r in results)
    lags = sorted(s for s, _ in prober.samples)
    applied = state1["applied"] - state0["applied"]
    discarded = state1["discarded"] - state0["discarded"]
    superseded = state1.get("superseded", 0) - state0.get("superseded", 0)
    print(f"load: {clients} clients in {len(procs)} processes, GetItem/PutItem 50/50 on {ITEMS} keys, "
          f"{'/'.join(REGIONS)} at fixed:{lag_ms}, {seconds:.0f} s, emulator "
          f"{'in the bench process' if in_process else 'in its own process'}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"requests: {done} in {elapsed:.1f} s = {done / elapsed:.0f}/s, client errors {errors}, "
          f"prober errors {prober.errors}")
    print(f"emulator CPU: {cpu:.1f} s in {elapsed:.1f} s = {cpu / elapsed:.0%} of one core")
    if lags:
        print(f"observed lag ({len(lags)} probes every {prober.interval:g} s): median {statistics.median(lags):.2f} s, "
              f"p90 {lags[int(len(lags) * 0.9)]:.2f} s, max {lags[-1]:.2f} s (target median <= 0.8 s, max <= 2 s); "
              f"taken while the emulator reported being behind: {sum(b for _, b in prober.samples)}")
    print("pending deliveries over time (t s: pending, behind the model s): "
          + ", ".join(f"{t:.0f}: {p} {b:.2f}" for t, p, b in timeline[::5]))
    print(f"pending max {max(p for _, p, _ in timeline)}, at end {timeline[-1][1]}; drained in {drained:.1f} s")
    print(f"deliveries: {applied} applied, {discarded} discarded as stale "
          f"({discarded / max(1, applied + discarded):.0%}), {superseded} superseded before delivery")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--lag-ms", type=int, default=500)
    parser.add_argument("--in-process", action="store_true", help="run the emulator in this process")
    args = parser.parse_args()
    run(args.clients, args.processes, args.seconds, args.lag_ms, args.in_process)


if __name__ == "__main__":
    main()
