"""Emulator benchmark: prints, from one run,

1. PutItem latency through the emulator (on a 3-region global table) vs a bare moto server
   (one plain table), both in their own process, same client; target ratio <= 1.25;
2. replicated writes applied per second, sustained across three regions (load from three
   separate processes, one per region); target >= 500 on a 2-core machine;
3. the delivered lag error against `fixed:<ms>` (apply time minus write time minus the lag) at
   p50 and p99; target within 10 ms at p99. Printed for each load: at a paced load (what probes
   and demos generate) and flat out, where the one core the emulator gets is saturated and
   deliveries queue behind requests;
4. TransactWriteItems of one item on a table of --table-items items (25,000 by default): its
   latency, and a PutItem's to the same region while transactions run back to back (moto
   deep-copied every table a transaction names, holding the region's lock meanwhile).

Run: .venv/bin/python bench/bench_emulator.py [--seconds 10] [--only transactions]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from setup.emulator import spawn  # noqa: E402

REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")
CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=30, max_pool_connections=50)


def ddb(endpoint: str, region: str):
    return boto3.client("dynamodb", region_name=region, endpoint_url=endpoint, config=CONFIG)


def create(endpoint: str, table: str, replicas: tuple[str, ...] = ()) -> None:
    home = ddb(endpoint, REGIONS[0])
    home.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                              {"AttributeName": "SK", "AttributeType": "S"}],
    )
    for region in replicas:
        home.update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": region}}])
    while replicas:
        desc = home.describe_table(TableName=table)["Table"]
        if all(r["ReplicaStatus"] == "ACTIVE" for r in desc.get("Replicas", [])) and desc["TableStatus"] == "ACTIVE":
            break
        time.sleep(0.1)


def put_latencies(endpoint: str, table: str, n: int) -> list[float]:
    client = ddb(endpoint, REGIONS[0])
    for i in range(50):  # warm-up
        client.put_item(TableName=table, Item={"PK": {"S": "warm"}, "SK": {"S": str(i)}})
    out = []
    for i in range(n):
        item = {"PK": {"S": f"u{i % 100}"}, "SK": {"S": str(i)}, "bookmark": {"S": f"0.{i}"}}
        t0 = time.perf_counter()
        client.put_item(TableName=table, Item=item)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def bare_moto() -> tuple[subprocess.Popen, str]:
    code = ("from moto.server import ThreadedMotoServer; import time\n"
            "s = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False); s.start()\n"
            "print('moto on http://127.0.0.1:%d' % s.get_host_and_port()[1], flush=True)\n"
            "time.sleep(3600)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    return proc, line.split(" on ")[1].strip()


def latency_ratio(n: int) -> None:
    proc, moto_endpoint = bare_moto()
    try:
        create(moto_endpoint, "bench")
        bare = put_latencies(moto_endpoint, "bench", n)
    finally:
        proc.terminate()
    with spawn("fixed:100") as emu:
        create(emu.endpoint, "bench", REGIONS[1:])
        ours = put_latencies(emu.endpoint, "bench", n)
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"1. PutItem latency, {n} sequential writes: bare moto median {b:.2f} ms, emulator (3-region global "
          f"table) median {o:.2f} ms -> ratio {o / b:.2f} (target <= 1.25); p99 {sorted(bare)[int(n * .99)]:.2f} "
          f"vs {sorted(ours)[int(n * .99)]:.2f} ms")


def _load(endpoint: str, region: str, seconds: float, batch: int, counter, rate: float | None) -> None:
    """Write as fast as possible, or at `rate` requests per second."""
    client = ddb(endpoint, region)
    start = time.monotonic()
    deadline, i, sent = start + seconds, 0, 0
    while time.monotonic() < deadline:
        if rate is not None:
            time.sleep(max(0.0, start + sent / rate - time.monotonic()))
        sent += 1
        if batch == 1:
            client.put_item(TableName="load", Item={"PK": {"S": f"{region}-{i % 500}"}, "SK": {"S": "x"},
                                                    "v": {"N": str(i)}})
        else:
            client.batch_write_item(RequestItems={"load": [
                {"PutRequest": {"Item": {"PK": {"S": f"{region}-{(i + j) % 500}"}, "SK": {"S": "x"},
                                         "v": {"N": str(i)}}}} for j in range(batch)]})
        i += batch
    with counter.get_lock():
        counter.value += i


def throughput_and_lag(seconds: float, lag_ms: int) -> None:
    from gtcore.emulator import Emulator
    from gtcore.emulator.server import tune_process

    tune_process()  # as the emulator's own process is tuned
    emu = Emulator(port=0, lag=f"fixed:{lag_ms}", replica_create_seconds=0.2).start()
    errors: list[float] = []
    emu.add_delivery_listener(lambda d, applied_at: errors.append((applied_at - d.write.ts) * 1000 - lag_ms))
    try:
        create(emu.endpoint, "load", REGIONS[1:])
        for label, batch, rate in (("paced PutItem, 50/s per region", 1, 50.0), ("PutItem, flat out", 1, None),
                                   ("BatchWriteItem x25, flat out", 25, None)):
            errors.clear()
            start_applied = emu.engine.applied_count
            counter = mp.Value("i", 0)
            procs = [mp.Process(target=_load, args=(emu.endpoint, r, seconds, batch, counter, rate)) for r in REGIONS]
            t0 = time.monotonic()
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            elapsed = time.monotonic() - t0
            backlog = emu.engine.pending_total()
            emu.wait_replicated(120)
            drained = time.monotonic() - t0
            applied = emu.engine.applied_count - start_applied
            errors.sort()
            p50, p99 = errors[len(errors) // 2], errors[int(len(errors) * 0.99)]
            print(f"{label}: {counter.value} local writes in {elapsed:.1f} s across 3 regions, {applied} replicated "
                  f"writes applied = {applied / drained:.0f}/s (backlog at end {backlog}, drained at {drained:.1f} s); "
                  f"delivered lag error vs fixed:{lag_ms}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    finally:
        emu.stop()


def _fill(endpoint: str, table: str, items: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = ddb(endpoint, REGIONS[0])

    def batch(start: int) -> None:
        client.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"PK": {"S": f"fill{i}"}, "SK": {"S": "x"}, "v": {"N": str(i)}}}}
            for i in range(start, min(start + 25, items))]})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(batch, range(0, items, 25)))


def transaction_cost(items: int, n: int) -> None:
    import threading

    with spawn("fixed:100") as emu:
        create(emu.endpoint, "tx")
        _fill(emu.endpoint, "tx", items)
        client = ddb(emu.endpoint, REGIONS[0])
        tx_ms: list[float] = []
        put_ms: list[float] = []
        done = threading.Event()

        def puts() -> None:
            other = ddb(emu.endpoint, REGIONS[0])
            i = 0
            while not done.is_set():
                t0 = time.perf_counter()
                other.put_item(TableName="tx", Item={"PK": {"S": "side"}, "SK": {"S": str(i % 50)}})
                put_ms.append((time.perf_counter() - t0) * 1000)
                i += 1

        side = threading.Thread(target=puts)
        side.start()
        for i in range(n):
            t0 = time.perf_counter()
            client.transact_write_items(TransactItems=[{"Put": {"TableName": "tx", "Item": {
                "PK": {"S": "tx"}, "SK": {"S": str(i)}}}}])
            tx_ms.append((time.perf_counter() - t0) * 1000)
        done.set()
        side.join()
    tx_ms.sort()
    put_ms.sort()
    print(f"4. TransactWriteItems, 1 item on a {items}-item table, {n} transactions: median "
          f"{statistics.median(tx_ms):.1f} ms, max {tx_ms[-1]:.1f} ms; a PutItem to the same region meanwhile: "
          f"median {statistics.median(put_ms):.1f} ms, p99 {put_ms[int(len(put_ms) * .99)]:.1f} ms, "
          f"max {put_ms[-1]:.1f} ms ({len(put_ms)} puts)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--table-items", type=int, default=25_000)
    parser.add_argument("--transactions", type=int, default=20)
    parser.add_argument("--only", choices=("transactions",), default=None)
    args = parser.parse_args()
    if args.only is None:
        latency_ratio(args.writes)
        throughput_and_lag(args.seconds, 100)
    transaction_cost(args.table_items, args.transactions)


if __name__ == "__main__":
    main()
