"""``status``: per-region table, replica, settings, regional API and function state."""

from __future__ import annotations

import argparse
from typing import Any

from gtcore.cli import emit_json, format_table
from gtcore.probes.status import LEGACY_NOTE, RegionStatus, table_status
from gtcore.regional_urls import format_api_urls
from gtcore.target import Connection


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("status", help="show the table's status in every region")
    p.add_argument(
        "--count", action="store_true",
        help="also count items with a Select=COUNT scan (ItemCount is hours stale in AWS)",
    )
    p.add_argument("--no-api", action="store_true", help="skip the regional API health check")
    p.add_argument(
        "--no-function", action="store_true", help="skip the function's reserved concurrency"
    )


def _api(r: RegionStatus) -> str:
    if r.api is None:
        return "-"
    if r.api.ok:
        return f"ok {r.api.rtt_ms:.0f} ms" if r.api.rtt_ms is not None else "ok"
    return f"FAIL {r.api.status}" if r.api.status else "FAIL"


def _concurrency(r: RegionStatus) -> str:
    if r.function_found is False:
        return "no function"
    if "function" in r.errors:
        return "?"
    if r.function_name is None:
        return "-"
    if r.reserved_concurrency is None:
        return "unreserved"
    return "THROTTLED (0)" if r.reserved_concurrency == 0 else str(r.reserved_concurrency)


def _mode(r: RegionStatus) -> str:
    """EVENTUAL (MREC) or STRONG (MRSC), with the witness and its status."""
    label = {"EVENTUAL": "EVENTUAL (MREC)", "STRONG": "STRONG (MRSC)"}.get(r.consistency or "", r.consistency or "-")
    if not r.replicas and r.consistency == "EVENTUAL":
        label = "-"  # a single-Region table has no multi-Region mode
    return label + "".join(f", witness {w} {s}" for w, s in sorted(r.witnesses.items()))


def _items(r: RegionStatus) -> str:
    if r.counted_items is not None:
        return f"{r.counted_items}{'+' if r.count_truncated else ''}"
    return f"~{r.item_count}" if r.item_count is not None else "-"


def run(args: argparse.Namespace, conn: Connection) -> int:
    report = table_status(
        conn, count=args.count, check_api=not args.no_api, check_function=not args.no_function
    )
    if args.json:
        emit_json({"target": conn.target.describe(), **report.to_dict()})
        return 0 if report.ok else 1
    print(f"{conn.target.describe()} — checked {report.checked_at}")
    rows = []
    for r in report.regions:
        if r.error:
            rows.append([r.region, "ERROR", "-", "-", "-", "-", "-", "-", _api(r), _concurrency(r)])
            continue
        ttl = r.ttl_status or "-"
        if r.ttl_attribute and r.ttl_status == "ENABLED":
            ttl += f" ({r.ttl_attribute})"
        stream = r.stream_view_type if r.stream_enabled else "off"
        rows.append([
            r.region, r.table_status, ", ".join(r.members),
            f"{r.global_table_version} (legacy)" if r.legacy else r.global_table_version or "-",
            _mode(r), _items(r), ttl, stream, _api(r), _concurrency(r),
        ])
    print(format_table(
        ["region", "table", "members", "GT version", "mode", "items", "TTL", "stream", "API",
         "concurrency"],
        rows,
    ))
    problems = []
    for r in report.regions:
        if r.error:
            problems.append(f"  {r.region}: {r.error}")
        for part, msg in r.errors.items():
            problems.append(f"  {r.region} ({part}): {msg}")
        if r.api is not None and not r.api.ok and "api" not in r.errors and r.api.error:
            problems.append(f"  {r.region} (api): {r.api.error}")
    if report.emulator is not None:
        problems += [f"  {line}" for line in report.emulator.summaries()]
    urls = {r.region: r.api.url for r in report.regions if r.api is not None and r.api.url}
    if urls:
        print("\n".join(format_api_urls(urls)))
    missing = report.missing_replicas()
    if missing:
        problems.append(
            f"  not replicas of the home region's global table: {', '.join(missing)}"
        )
    legacy = [r.region for r in report.regions if r.legacy]
    if legacy:
        print(f"note: {', '.join(legacy)}: {LEGACY_NOTE}")
    if problems:
        print("problems:")
        print("\n".join(problems))
    print("status: OK" if report.ok else "status: NOT OK")
    return 0 if report.ok else 1
