"""``cloudwatch``: ReplicationLatency per region pair (one GetMetricData per source region)."""

from __future__ import annotations

import argparse
from typing import Any

from gtcore.cli import emit_json, format_table
from gtcore.cli.arguments import number
from gtcore.probes.cloudwatch import STATS, replication_latency
from gtcore.target import Connection


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cloudwatch", help="show CloudWatch ReplicationLatency for every region pair"
    )
    p.add_argument("--window", type=number(0, 655_200, above=True), default=60.0, metavar="MINUTES",
                   help="how far back to look (default 60 minutes)")
    p.add_argument("--period", type=number(1, 86_400, integer=True), default=60, metavar="SECONDS",
                   help="aggregation period (1, 5, 10, 30 or a multiple of 60; default 60)")
    p.add_argument("--stats", default=",".join(STATS),
                   help=f"statistics, comma-separated (default {','.join(STATS)})")
    p.add_argument("--points", action="store_true",
                   help="print every datapoint, not just a line per pair")


def _fmt(value: float | None) -> str | None:
    return None if value is None else f"{value:.0f}"


def run(args: argparse.Namespace, conn: Connection) -> int:
    stats = [s.strip() for s in args.stats.split(",") if s.strip()]
    res = replication_latency(conn, window=args.window * 60.0, period=args.period, stats=stats)
    if args.json:
        emit_json(res.to_dict())
        return 1 if res.errors else 0
    print(
        f"ReplicationLatency (ms) of table {res.table}, {res.start:%Y-%m-%d %H:%M} to "
        f"{res.end:%H:%M} UTC, period {res.period}s — {res.calls} GetMetricData call(s)"
    )
    means = res.mean_by_pair()
    rows = []
    for p in res.pairs:
        state = {"ok": "ok", "no_datapoints": "no datapoints", "error": "ERROR"}[p.state]
        rows.append([
            f"{p.source} -> {p.receiving}", state, p.datapoints or None,
            _fmt(means.get((p.source, p.receiving))), _fmt(p.latest.get("Average")),
            _fmt(p.latest.get("Minimum")), _fmt(p.latest.get("Maximum")),
            _fmt(p.latest.get("SampleCount")),
        ])
    print(format_table(
        ["pair", "state", "periods", "window mean", "last avg", "last min", "last max",
         "last samples"],
        rows,
    ))
    if args.points and not res.frame.empty:
        print()
        wide = res.frame.pivot_table(
            index=["source", "receiving", "timestamp"], columns="stat", values="value"
        ).reset_index()
        cols = [c for c in res.stats if c in wide.columns]
        print(format_table(
            ["source", "receiving", "timestamp", *cols],
            [[r["source"], r["receiving"], f"{r['timestamp']:%H:%M:%S}",
              *(_fmt(r[c]) for c in cols)] for _, r in wide.iterrows()],
        ))
    for src, msg in res.errors.items():
        print(f"error reading {src}: {msg}")
    return 1 if res.errors else 0
