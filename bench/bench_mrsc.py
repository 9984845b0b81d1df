"""MREC next to MRSC on the same workload: the conflict lab and the failover drill on each mode.

Two private emulators (realistic lag), each with the workshop set up over the US Region set
(us-west-2 home, us-east-1, us-east-2): one as MREC, one as MRSC. On each:

* the conflict lab: ``--trials`` trials, one writer per region released together at one item;
* the failover drill: the video player writes a bookmark every 100 ms; home (us-west-2) is
  isolated after 1.5 s for 2.5 s; failover after 3 failed writes, failback when home is healthy.

Printed side by side: conflicts seen, writes lost, writes rejected, write latency p50/p99 (the
lab's writes, retries included; the drill's bookmark writes through the regional API), RPO (the
acknowledged bookmarks the failover region lacked when it took over, and as time; and those lost
for good) and RTO (first failed write to the next acknowledged one).

    python bench/bench_mrsc.py [--trials 20] [--json]

About a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

from gtcore.experiments.conflict import ConflictConfig, ConflictLab  # noqa: E402
from gtcore.experiments.drill import DrillConfig, FailoverDrill  # noqa: E402
from gtcore.target import Connection, Target  # noqa: E402
from gtcore.workshop import provision_workshop  # noqa: E402
from setup.emulator import spawn  # noqa: E402

US = ("us-west-2", "us-east-1", "us-east-2")
OUTAGE_AT, OUTAGE_FOR = 1.5, 2.5


def _drill(emu: Any, conn: Connection) -> dict[str, Any]:
    drill = FailoverDrill(conn, DrillConfig(interval=0.1, health_every=3))

    def outage() -> None:
        time.sleep(OUTAGE_AT)
        emu.isolate(US[0])
        time.sleep(OUTAGE_FOR)
        emu.heal(US[0])

    fault = threading.Thread(target=outage, daemon=True)
    drill.start()
    fault.start()
    fault.join()
    time.sleep(1.5)
    drill.stop()
    drill.wait(120)
    if drill.error is not None:
        raise drill.error
    assert drill.verdict is not None
    return drill.verdict.to_dict()


def measure(consistency: str, trials: int) -> dict[str, Any]:
    with spawn("realistic", replica_create_seconds=0.2) as emu:
        conn = Connection(Target(regions=US, endpoint=emu.endpoint))
        report = provision_workshop(conn, consistency=consistency)
        if not report.ok:
            raise SystemExit(f"setup failed: {report.to_dict()}")
        lab = ConflictLab(conn, ConflictConfig(trials=trials))
        lab.run()
        return {"conflict": lab.summary(), "drill": _drill(emu, conn)}


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    def both(pick: Any) -> tuple[str, ...]:
        return tuple(pick(results[mode]) for mode in ("EVENTUAL", "STRONG"))

    return [
        ("conflict lab", "MREC", "MRSC"),
        ("trials", *both(lambda r: str(r["conflict"]["trials"]))),
        ("conflicts seen", *both(lambda r: str(r["conflict"]["conflicts"]))),
        ("acknowledged writes", *both(lambda r: str(r["conflict"]["acked_writes"]))),
        ("writes lost", *both(lambda r: str(r["conflict"]["lost_writes"]))),
        ("writes rejected (retried)", *both(lambda r: str(r["conflict"]["writes_rejected"]))),
        ("write latency p50", *both(lambda r: _ms(r["conflict"]["write_latency_ms_p50"]))),
        ("write latency p99", *both(lambda r: _ms(r["conflict"]["write_latency_ms_p99"]))),
        ("failover drill", "", ""),
        ("bookmark write p50", *both(lambda r: _ms(r["drill"]["write_latency_ms_p50"]))),
        ("bookmark write p99", *both(lambda r: _ms(r["drill"]["write_latency_ms_p99"]))),
        ("RPO at failover (writes)", *both(lambda r: str(r["drill"]["failover_lost"]))),
        ("RPO at failover (time)", *both(lambda r: _ms(r["drill"]["failover_rpo_ms"]))),
        ("acknowledged lost for good", *both(lambda r: str(r["drill"]["lost_acked"]))),
        ("RTO", *both(lambda r: _ms(r["drill"]["rto_ms"]))),
        ("verdict", *both(lambda r: "PASSED" if r["drill"]["passed"] else "FAILED")),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="conflict trials per mode (default 20)")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    started = time.monotonic()
    results = {mode: measure(mode, args.trials) for mode in ("EVENTUAL", "STRONG")}
    if args.json:
        print(json.dumps(results, indent=1, default=str))
        return 0
    table = rows(results)
    width = max(len(r[0]) for r in table)
    for name, mrec, mrsc in table:
        print(f"{name:<{width}}  {mrec:>12}  {mrsc:>12}")
    for mode in ("EVENTUAL", "STRONG"):
        print(results[mode]["conflict"]["said"])
        print(results[mode]["drill"]["said"])
    print(f"({time.monotonic() - started:.0f} s; lag model realistic, regions {', '.join(US)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
