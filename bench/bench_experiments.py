"""Experiments against the local emulator: lag-probe accuracy, conflict start skew, drill RTO.

* Lag probe at fixed lags of 100, 500 and 1500 ms over both pairs of us-west-2/eu-west-1: median
  error of the estimates against the configured lag, the share of samples whose bounds contain
  the configured lag, and (in-process emulator only) the same against what the emulator
  recorded for each delivery (it applies a delivery at its due time or a little after, so the
  true lag of a sample lies between the configured lag and the recorded one); samples/s.
* Conflict lab: start skew of the barrier-released writes (median, p99) over 3 regions, and
  the conflict rate at 100 ms lag.
* Failover drill: RTO across an isolated home region and across a throttled one (500 ms
  interval as in the workshop, failover after 3 failed writes).

    python bench/bench_experiments.py [--scale 1.0] [--spawn]

``--spawn`` runs the emulator in a subprocess (client and server do not share a GIL; no
per-delivery truth then).  ``--scale`` multiplies the sample counts.  About 2-3 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

from gtcore.experiments.conflict import ConflictConfig, ConflictLab  # noqa: E402
from gtcore.experiments.drill import DrillConfig, FailoverDrill  # noqa: E402
from gtcore.experiments.lag_probe import (  # noqa: E402
    LagProbe,
    ProbeConfig,
    accuracy,
    all_pairs,
)
from gtcore.target import Connection, Target  # noqa: E402
from gtcore.workshop import provision_workshop  # noqa: E402

REGIONS = ("us-west-2", "eu-west-1")
CONFLICT_REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")
# (lag ms, samples per pair at scale 1, probes per second per source). The rate keeps about three
# probes in flight: at 5/s with a 1.5 s lag ~8 probes poll at once, the emulator's one core is
# busy answering them and delivers ~10 ms late, which is the emulator's lateness, not the probe's.
LAGS = ((100, 100, 5.0), (500, 60, 5.0), (1500, 40, 2.0))


def _item_key(pk: str, sk: str) -> str:
    return json.dumps({"PK": {"S": pk}, "SK": {"S": sk}}, sort_keys=True, separators=(",", ":"))


class _Deliveries:
    """Per-delivery lag the in-process emulator recorded (first delivery per key)."""

    def __init__(self, emu: Any) -> None:
        self.log: dict[tuple[str, str], float] = {}

        def spy(delivery: Any, applied_at: float) -> None:
            self.log.setdefault((delivery.write.key, delivery.dst),
                                (applied_at - delivery.write.ts) * 1000.0)

        emu.add_delivery_listener(spy)

    def truth(self, frame: Any) -> tuple[float, float, float]:
        """(coverage of [configured, recorded], median |error| vs recorded, median lateness)."""
        covered, errors, late = 0, [], []
        lag = None
        for row in frame.itertuples():
            key = _item_key("__gtprobe__", f"{row.run_id}#{row.source}#{row.seq:06d}")
            recorded = self.log.get((key, row.destination))
            if recorded is None or row.status != "ok":
                continue
            lag = lag if lag is not None else self.configured
            covered += row.lower_ms <= recorded and lag <= row.upper_ms
            errors.append(abs(row.lag_ms - recorded))
            late.append(recorded - lag)
        n = len(frame)
        return (covered / n if n else float("nan"),
                statistics.median(errors) if errors else float("nan"),
                statistics.median(late) if late else float("nan"))

    configured = 0.0


def bench_probe(conn: Connection, emu: Any, deliveries: _Deliveries | None, scale: float) -> None:
    print("\n== lag probe: accuracy against fixed lag (pairs us-west-2<->eu-west-1) ==")
    header = (f"{'lag ms':>7} {'samples':>7} {'timeouts':>8} {'med err':>8} {'med |err|':>9} "
              f"{'coverage':>8} {'width':>7} {'samples/s':>9}")
    if deliveries:
        header += f" {'cov truth':>9} {'|err| truth':>11} {'emu late':>8}"
    print(header)
    for lag_ms, samples, rate in LAGS:
        emu.set_lag(f"fixed:{lag_ms}")
        n = max(5, int(samples * scale))
        cfg = ProbeConfig(pairs=all_pairs(REGIONS), samples=n, rate=rate, timeout=10.0)
        t0 = time.monotonic()
        probe = LagProbe(conn, cfg)
        frame = probe.run()
        elapsed = time.monotonic() - t0
        acc = accuracy(frame, lag_ms)
        line = (f"{lag_ms:>7} {len(frame):>7} {int(acc['timeouts']):>8} "
                f"{acc['median_error_ms']:>8.2f} {acc['median_abs_error_ms']:>9.2f} "
                f"{acc['coverage']:>8.1%} {acc['mean_width_ms']:>7.1f} "
                f"{len(frame) / elapsed:>9.2f}")
        if deliveries:
            deliveries.configured = float(lag_ms)
            cov, err, late = deliveries.truth(frame)
            line += f" {cov:>9.1%} {err:>11.2f} {late:>8.2f}"
        print(line, flush=True)
    emu.set_lag("fixed:100")
    print("(med err: estimate - configured lag; coverage: bounds contain the configured lag;"
          " width: mean upper-lower; cov truth: bounds meet [configured, recorded] delivery;"
          " emu late: median recorded - configured)")


def bench_conflict(conn: Connection, scale: float) -> None:
    print("\n== conflict lab: start skew of barrier-released writes, 3 regions, lag 100 ms ==")
    for mode in ("set", "increment"):
        lab = ConflictLab(conn, ConflictConfig(regions=CONFLICT_REGIONS,
                                               trials=max(5, int(40 * scale)), mode=mode))
        lab.run()
        s = lab.summary()
        print(f"{mode:>9}: {s['trials']} trials, conflict rate {s['conflict_rate']:.0%}, "
              f"start skew median {s['start_skew_ms_median']:.2f} ms, "
              f"p99 {s['start_skew_ms_p99']:.2f} ms, lost writes {s['lost_writes']}, "
              f"lost increments {s['lost_increments']}, LWW ok/tie/violation "
              f"{s['lww_ok']}/{s['lww_tie']}/{s['lww_violations']}, convergence median "
              f"{s['convergence_ms_median']:.0f} ms", flush=True)


def bench_drill(conn: Connection, emu: Any) -> None:
    from gtcore.actions.throttle import restore_region, throttle_region

    print("\n== failover drill: RTO (interval 500 ms, failover after 3 failed writes) ==")
    faults = {
        "isolate": (lambda: emu.isolate("us-west-2"), lambda: emu.heal("us-west-2")),
        "throttle": (lambda: throttle_region(conn, "us-west-2"),
                     lambda: restore_region(conn, "us-west-2")),
    }
    for video, (name, (fail, restore)) in zip(("07", "08"), faults.items(), strict=True):
        drill = FailoverDrill(conn, DrillConfig(video=video, interval=0.5)).start()
        try:
            time.sleep(2.0)
            fail()
            time.sleep(4.0)
        finally:
            restore()
        time.sleep(3.0)
        drill.stop()
        drill.wait()
        v = drill.verdict
        rto = f"{v.rto_ms:.0f} ms" if v and v.rto_ms is not None else "n/a"
        print(f"{name:>9}: RTO {rto}, lost acknowledged writes {v.lost_acked if v else '?'}, "
              f"switches {len(v.failovers) if v else '?'}, "
              f"{'PASSED' if v and v.passed else 'FAILED'}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply sample counts")
    parser.add_argument("--spawn", action="store_true",
                        help="run the emulator in a subprocess (no per-delivery truth)")
    args = parser.parse_args()
    t0 = time.monotonic()
    if args.spawn:
        from setup.emulator import spawn

        cm = spawn("fixed:100", replica_create_seconds=0.2)
        emu = cm.__enter__()
        deliveries = None
    else:
        from gtcore.emulator import Emulator
        from gtcore.emulator.server import tune_process
        from setup.emulator import regional_api

        cm = None
        tune_process()  # as the emulator's own process is tuned
        emu = Emulator(port=0, lag="fixed:100", replica_create_seconds=0.2,
                       regional_api=regional_api()).start()
        deliveries = _Deliveries(emu)
    try:
        conn = Connection(Target(regions=CONFLICT_REGIONS, endpoint=emu.endpoint))
        report = provision_workshop(conn)
        if not report.ok:
            print(f"setup failed: {report.to_dict()}", file=sys.stderr)
            return 1
        two = Connection(Target(regions=REGIONS, endpoint=emu.endpoint))
        print(f"emulator {'subprocess' if args.spawn else 'in-process'} at {emu.endpoint}; "
              f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
        bench_probe(two, emu, deliveries, args.scale)
        bench_conflict(conn, args.scale)
        bench_drill(two, emu)
    finally:
        if cm is not None:
            cm.__exit__(None, None, None)
        else:
            emu.stop()
    print(f"\ntotal {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
