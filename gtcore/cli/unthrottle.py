"""``unthrottle``: restore a throttled region's function exactly as it was (or all regions)."""

from __future__ import annotations

import argparse
from typing import Any

from gtcore.actions.throttle import ThrottleChange, restore_all, restore_region
from gtcore.cli import emit_json
from gtcore.errors import GtError
from gtcore.target import Connection


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "unthrottle", help="restore the function's previous reserved concurrency"
    )
    p.add_argument("region", nargs="*", help="region(s) to restore")
    p.add_argument("--all", action="store_true",
                   help="restore every region of the target that gtcore throttled")


def run(args: argparse.Namespace, conn: Connection) -> int:
    if bool(args.region) == bool(args.all):
        from gtcore.errors import ConfigError

        raise ConfigError("give either REGION(s) or --all", hint="e.g. unthrottle eu-west-1")
    results: list[ThrottleChange | GtError]
    if args.all:
        results = restore_all(conn)
    else:
        results = []
        for region in args.region:
            try:
                results.append(restore_region(conn, region))
            except GtError as err:
                if len(args.region) == 1:
                    raise
                results.append(err)
    failed = [r for r in results if isinstance(r, GtError)]
    if args.json:
        emit_json({
            "restored": [r.to_dict() for r in results if isinstance(r, ThrottleChange)],
            "errors": [e.to_dict() for e in failed],
        })
        return 1 if failed else 0
    if not results:
        print("nothing to restore: no region of the target carries gtcore's throttle mark")
    for r in results:
        if isinstance(r, GtError):
            print(f"error: {r}")
        else:
            print(f"{r.region}: {r.function}: {r.note}")
    return 1 if failed else 0
