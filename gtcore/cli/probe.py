"""``probe``: measure replication lag per region pair with the lag probe.

Exit 1 when ``--max-lag-ms`` is given and some pair's p99 is above it or any probe timed out.
On an MRSC table (DescribeTable says so) there is no replication lag: the probe measures write
latency and read-after-write visibility instead (a strongly consistent read in every other replica
right after each write), and exits 1 when a read did not see the write.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from gtcore.cli import emit_json, export_run, format_table, run_with_progress
from gtcore.cli.arguments import number, output_file
from gtcore.consistency import TableMode, read_mode_anywhere
from gtcore.experiments.lag_probe import LagProbe, ProbeConfig, ProbeProgress, all_pairs, parse_pairs
from gtcore.experiments.lag_probe.visibility import VisibilityProbe
from gtcore.target import Connection


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "probe",
        help="measure replication lag: write probe items, poll the other replicas until they "
        "appear (bounds from request timings)",
    )
    p.add_argument("--samples", type=number(1, 100_000, integer=True), default=20, metavar="N",
                   help="probes per source region (default 20)")
    p.add_argument("--rate", type=number(0, 1000, above=True), default=2.0, metavar="R",
                   help="probes started per second per source region (default 2)")
    p.add_argument("--pairs", metavar="SRC:DST,...",
                   help="region pairs to measure (default: every ordered pair of --regions)")
    p.add_argument("--timeout", type=number(0, 3600, above=True), default=10.0, metavar="S",
                   help="seconds to wait for a probe in a replica before recording a timeout")
    p.add_argument("--max-lag-ms", type=number(0, 3_600_000), metavar="MS",
                   help="fail (exit 1) when a pair's p99 lag is above MS or a probe timed out")
    p.add_argument("--out", type=output_file(".csv", ".json"), metavar="FILE.csv|FILE.json",
                   help="write the samples (CSV) or samples+summary (JSON) to FILE")
    p.add_argument("--history", type=output_file(), metavar="FILE.json",
                   help="write the raw operation history (re-checkable) to FILE")


def _describe(p: ProbeProgress) -> str:
    overloaded = f", {p.overloaded} under emulator overload" if p.overloaded else ""
    return f"probe: {p.done}/{p.total} samples, {p.timeouts} timeouts{overloaded}, {p.elapsed_s:.0f} s"


def _fmt(ms: float) -> str:
    return "timeout" if math.isinf(ms) else ("-" if math.isnan(ms) else f"{ms:.0f}")


def run(args: argparse.Namespace, conn: Connection) -> int:
    pairs = parse_pairs(args.pairs) if args.pairs else all_pairs(conn.target.regions)
    config = ProbeConfig(pairs=pairs, samples=args.samples, rate=args.rate, timeout=args.timeout)
    mode = read_mode_anywhere(conn, conn.target.table, conn.target.regions)
    if mode.strong:
        return _visibility(args, conn, config, mode)
    probe = LagProbe(conn, config)
    run_with_progress(probe, lambda: _describe(probe.progress()))
    summary = probe.summary()
    export_run(probe, args.out, args.history)
    failed: list[str] = []
    if args.max_lag_ms is not None:
        for row in summary.itertuples():
            if row.timeouts:
                failed.append(f"{row.source}->{row.destination}: {row.timeouts} timeouts")
            elif math.isnan(row.p99_ms):  # no sample it can stand behind: the check cannot pass
                failed.append(f"{row.source}->{row.destination}: no lag measured outside emulator overload "
                              f"({row.overloaded} of {row.samples} samples taken under it)")
            elif row.p99_ms > args.max_lag_ms:
                failed.append(f"{row.source}->{row.destination}: p99 {row.p99_ms:.0f} ms > "
                              f"{args.max_lag_ms:.0f} ms")
    if args.json:
        emit_json({
            "run_id": probe.run_id,
            "state": probe.state,
            "mode": mode.to_dict(),
            "kind": "replication-lag",
            "summary": [_clean(r) for r in summary.to_dict(orient="records")],
            "max_lag_ms": args.max_lag_ms,
            "failed": failed,
            "warnings": probe.warnings,
        })
    else:
        print(format_table(
            ["source", "destination", "samples", "timeouts", "overloaded", "p50 ms", "p90 ms", "p99 ms",
             "max ms", "bound width ms"],
            [[r.source, r.destination, r.samples, r.timeouts, r.overloaded, _fmt(r.p50_ms), _fmt(r.p90_ms),
              _fmt(r.p99_ms), _fmt(r.max_ms), r.mean_width_ms] for r in summary.itertuples()],
        ))
        if summary["overloaded"].sum():
            print("note: 'overloaded' samples were taken while the emulator delivered behind its lag model "
                  "(its backlog, not replication lag); the percentiles leave them out")
        for w in probe.warnings:
            print(f"warning: {w}")
        if args.out:
            print(f"samples written to {args.out}")
        for f in failed:
            print(f"FAIL {f}")
    return 1 if failed else 0


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if hasattr(v, "item"):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = None if math.isnan(v) else "inf"
        out[k] = v
    return out


def _visibility(args: argparse.Namespace, conn: Connection, config: ProbeConfig, mode: TableMode) -> int:
    probe = VisibilityProbe(conn, config)
    run_with_progress(probe, lambda: f"visibility probe (MRSC): {probe.elapsed_s:.0f} s")
    rows = probe.summary()
    export_run(probe, args.out, args.history)
    unseen = [f"{r.source}->{r.destination}: {r.samples - r.visible} of {r.samples} strong reads missed the write"
              for r in rows if r.visible < r.samples]
    if args.json:
        emit_json({"run_id": probe.run_id, "state": probe.state, "mode": mode.to_dict(),
                   "kind": "read-after-write-visibility", "summary": [r.to_dict() for r in rows],
                   "failed": unseen})
    else:
        print(f"table {conn.target.table} is MRSC: no replication lag to measure; write latency and "
              "read-after-write visibility (strongly consistent reads right after each write)")
        print(format_table(
            ["source", "destination", "samples", "visible at once", "write p50 ms", "write p99 ms",
             "read p50 ms", "read p99 ms"],
            [[r.source, r.destination, r.samples, r.visible, _fmt(r.write_p50_ms), _fmt(r.write_p99_ms),
              _fmt(r.read_p50_ms), _fmt(r.read_p99_ms)] for r in rows]))
        for line in unseen:
            print(f"FAIL {line}")
    return 1 if unseen else 0
