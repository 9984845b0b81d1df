"""``conflict``: write one item in several regions at once and judge who won.

Exit 1 when a trial's replicas diverged or the outcome broke last-writer-wins.  Lost writes and
lost increments are what the lab demonstrates, not failures.
"""

from __future__ import annotations

import argparse
from typing import Any

from gtcore.cli import emit_json, export_run, format_table, run_with_progress
from gtcore.cli.arguments import number, numbers, output_file
from gtcore.experiments.conflict import CONFLICT_PK, ConflictConfig, ConflictLab, ConflictProgress
from gtcore.target import Connection


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "conflict",
        help="conflict lab: concurrent writes to one item in every region; winner, lost "
        "writes, last-writer-wins",
    )
    p.add_argument("--trials", type=number(1, 10_000, integer=True), default=10, metavar="M",
                   help="trials (default 10)")
    p.add_argument("--mode", choices=("set", "increment"), default="set",
                   help="set: Bookmark = <distinct value per region>; increment: "
                   "Bookmark = Bookmark + 1 (default set)")
    p.add_argument("--amounts", type=numbers(-1_000_000, 1_000_000, integer=True), default=(),
                   metavar="A1,A2,...",
                   help="increment mode: what each region adds, in --regions order "
                   "(e.g. 1,-1 for the workshop's demo; default 1 everywhere)")
    p.add_argument("--path", choices=("dynamodb", "api"), default="dynamodb",
                   help="write with DynamoDB UpdateItem (exact) or through the regional API")
    p.add_argument("--stagger-ms", type=number(0, 10_000), default=0.0, metavar="MS",
                   help="start region i i*MS after the others (makes the order known)")
    p.add_argument("--pk", default=CONFLICT_PK,
                   help=f"item partition key (default {CONFLICT_PK}, a dedicated item)")
    p.add_argument("--sk", help="item sort key (default: one per run)")
    p.add_argument("--timeout", type=number(0, 3600, above=True), default=15.0, metavar="S",
                   help="seconds to wait for the replicas to agree after each trial")
    p.add_argument("--out", type=output_file(".csv", ".json"), metavar="FILE.csv|FILE.json",
                   help="write the trials to FILE")
    p.add_argument("--history", type=output_file(), metavar="FILE.json",
                   help="write the raw history to FILE")


def _describe(p: ConflictProgress) -> str:
    return (f"conflict ({p.consistency or '?'}): {p.done}/{p.total} trials, {p.conflicts} conflicts, "
            f"{p.lost_writes} lost writes, {p.rejected} rejected")


def run(args: argparse.Namespace, conn: Connection) -> int:
    config = ConflictConfig(
        trials=args.trials, mode=args.mode, amounts=args.amounts, path=args.path, stagger_ms=args.stagger_ms,
        pk=args.pk, sk=args.sk, converge_timeout=args.timeout,
    )
    lab = ConflictLab(conn, config)
    run_with_progress(lab, lambda: _describe(lab.progress()))
    results = lab.results()
    summary = lab.summary()
    export_run(lab, args.out, args.history)
    bad = [r for r in results if not r.converged or r.lww == "violation"]
    if args.json:
        emit_json({
            "run_id": lab.run_id,
            "state": lab.state,
            "mode": lab.mode.to_dict() if lab.mode else None,
            "summary": summary,
            "trials": [r.to_dict() for r in results],
        })
    else:
        print(format_table(
            ["trial", "conflict", "winner", "lost", "rejected", "lost incr.", "final", "LWW", "verdict",
             "skew ms"],
            [[r.trial, r.conflict, r.winner or "/".join(r.winner_candidates) or "-",
              ",".join(r.lost) or "-", r.rejected, r.lost_increments, r.final, r.lww, r.verdict,
              r.start_skew_ms] for r in results],
        ))
        rate = summary["conflict_rate"]
        print(
            f"{summary['trials']} trials, conflict rate "
            f"{'n/a' if rate is None else f'{rate:.0%}'}, {summary['lost_writes']} lost writes"
            + (f", {summary['lost_increments']} lost increments"
               if args.mode == "increment" else "")
            + f"; start skew median {summary['start_skew_ms_median']:.1f} ms, "
            f"p99 {summary['start_skew_ms_p99']:.1f} ms"
        )
        latency = summary["write_latency_ms_p50"]
        if latency is not None:
            print(f"write latency p50 {latency:.1f} ms, p99 {summary['write_latency_ms_p99']:.1f} ms")
        print(summary["said"])
        if args.mode == "increment" and summary["lost_increments"]:
            print("increments were lost: use absolute values (Bookmark = 25), as the workshop "
                  "advises")
    return 1 if bad else 0
