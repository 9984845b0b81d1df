"""``throttle``: simulate a region failure (the regional API function's concurrency to 0)."""

from __future__ import annotations

import argparse
from typing import Any

from gtcore.actions.throttle import throttle_region
from gtcore.cli import emit_json
from gtcore.target import Connection


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "throttle",
        help="throttle the regional API function in REGION (reserved concurrency 0); "
        "`unthrottle` restores exactly what was there",
    )
    p.add_argument("region", nargs="+", help="region(s) to throttle")


def run(args: argparse.Namespace, conn: Connection) -> int:
    changes = [throttle_region(conn, region) for region in args.region]
    if args.json:
        emit_json({"throttled": [c.to_dict() for c in changes]})
        return 0
    for c in changes:
        print(f"{c.region}: {c.function}: {c.note}")
    print(f"restore with: python -m gtcore unthrottle {' '.join(args.region)}")
    return 0
