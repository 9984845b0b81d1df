"""``diff``: compare the table across regions and report items missing or different."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from gtcore.cli import Progress, emit_json, format_table
from gtcore.cli.arguments import number
from gtcore.probes.diff import DiffProgress, DiffReport, diff_replicas
from gtcore.target import Connection


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "diff", help="compare every replica item by item (exit 1 when they diverge)"
    )
    p.add_argument("--segments", type=number(1, 64, integer=True), default=4, help="parallel scan segments per region")
    p.add_argument("--settle", type=number(0, 3600), default=3.0, metavar="SECONDS",
                   help="wait before re-reading differing keys (longer than replication lag)")
    p.add_argument("--rechecks", type=number(1, 100, integer=True), default=3,
                   help="re-read rounds for keys that keep changing (default 3)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--limit", type=number(0, 100_000, integer=True), default=50, help="print at most this many keys")


def _on_progress(show: Progress) -> Any:
    def cb(ev: DiffProgress) -> None:
        if ev.phase == "scan":
            show(f"scanning: {ev.done}/{ev.total} segments, {ev.items} items", phase="scan")
        elif ev.phase in ("settle", "recheck"):
            show(f"{ev.phase}: {ev.message} (round {ev.done + 1}/{ev.total})", phase=ev.phase,
                 force=True)

    return cb


def _run_cancellable(conn: Connection, args: argparse.Namespace) -> DiffReport:
    """Run the diff in a worker so Ctrl-C cancels it cleanly (between pages)."""
    cancel = threading.Event()
    show = Progress()
    out: dict[str, Any] = {}

    def work() -> None:
        try:
            out["report"] = diff_replicas(
                conn, segments=args.segments, settle_seconds=args.settle, rechecks=args.rechecks,
                progress=None if args.quiet else _on_progress(show), cancel=cancel,
            )
        except BaseException as err:  # handed to the main thread
            out["error"] = err

    worker = threading.Thread(target=work, name="gt-diff", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        cancel.set()
        worker.join(10)
        raise
    if "error" in out:
        raise out["error"]
    return out["report"]


def run(args: argparse.Namespace, conn: Connection) -> int:
    report = _run_cancellable(conn, args)
    code = 0 if report.ok else 1
    if args.json:
        emit_json(report.to_dict())
        return code
    print(f"diff of {conn.target.describe()}: {report.summary()}")
    regions = list(report.regions)
    for title, diffs in (("divergent", report.divergent), ("still changing", report.unsettled)):
        if not diffs:
            continue
        print(f"\n{title}:")
        rows = []
        for d in diffs[: args.limit]:
            key = ", ".join(str(v) for v in d.key.values())
            state = {
                r: ("missing" if r in d.missing_in else "present") for r in d.images
            }
            rows.append([
                key, d.kind, *(state.get(r, "?") for r in regions),
                ", ".join(d.differing_attributes) or "-",
            ])
        print(format_table(["key", "kind", *regions, "attributes differing"], rows))
        if len(diffs) > args.limit:
            print(f"... and {len(diffs) - args.limit} more (use --json for all)")
    for region, msg in report.errors.items():
        print(f"error in {region}: {msg}")
    print("replicas agree" if report.ok else "replicas DO NOT agree (or could not be compared)")
    return code
