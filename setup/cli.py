"""`python -m setup up|down`: the workshop's table, replicas, sample data and regional API.

    python -m setup up   --endpoint http://127.0.0.1:4566          # the local emulator
    python -m setup up   --regions us-west-2,eu-west-1 --profile me  # real AWS
    python -m setup up   --deploy-api                                # ... and chalice deploy
    python -m setup up   --consistency strong --endpoint ...         # MRSC: us-west-2,us-east-1,us-east-2
    python -m setup up   --consistency strong --regions us-east-1,us-east-2 --witness us-west-2
    python -m setup down --endpoint http://127.0.0.1:4566
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from gtcore.cli.arguments import OneLineParser, document_ranges, number
from gtcore.consistency import REGION_SETS, check_strong_members
from gtcore.errors import ConfigError, GtError
from gtcore.regional_urls import format_api_urls
from gtcore.target import Connection, Target
from gtcore.workshop import WorkshopProgress, WorkshopReport, provision_workshop, teardown_workshop

STRONG_DEFAULT_REGIONS = ("us-west-2", *(r for r in REGION_SETS["US"] if r != "us-west-2"))
_MARK = {
    "created": "+", "updated": "~", "written": "+", "recorded": "+", "deleted": "-",
    "exists": "=", "absent": "=", "checked": "ok", "kept": "=", "skipped": ".", "failed": "!!",
}


class ProgressPrinter:
    """Prints finished steps as lines; on a terminal also a live line while waiting."""

    def __init__(self, stream: TextIO, *, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self._last = ""
        self._shown = False

    def __call__(self, event: WorkshopProgress) -> None:
        if event.done is not None:
            step = event.done
            where = f" [{step.region}]" if step.region else ""
            detail = f": {step.detail}" if step.detail else ""
            self._clear()
            print(f"  {_MARK.get(step.outcome, '?'):>2} {step.outcome:<8} {step.action}{where}"
                  f"{detail}", file=self.stream, flush=True)
            return
        if event.step == "done":
            self._clear()
            return
        text = event.message
        if event.replicas:
            text += "  " + "  ".join(f"{r}:{s}" for r, s in sorted(event.replicas.items()))
        pct = f"{int((event.fraction or 0) * 100):3d}%"
        line = f"  {pct} {text}"
        if self.live:
            self._clear()
            self.stream.write(line[:160])
            self.stream.flush()
            self._shown = True
        elif line != self._last and event.step in ("wait", "verify", "replica"):
            print(line, file=self.stream, flush=True)
        self._last = line

    def _clear(self) -> None:
        if self.live and self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--regions", help="comma-separated, home region first "
                        "(default us-west-2,eu-west-1, or GT_REGIONS)")
    common.add_argument("--table", help="table name (default global-serverless, or GT_TABLE)")
    where = common.add_mutually_exclusive_group()
    where.add_argument("--endpoint", help="the local emulator's URL, e.g. http://127.0.0.1:4566 "
                       "(or AWS_ENDPOINT_URL)")
    where.add_argument("--profile", help="AWS profile for real AWS (or AWS_PROFILE)")
    common.add_argument("--config", help="TOML/JSON file with regions, table, endpoint, profile")
    common.add_argument("--timeout", type=number(0, 86_400, above=True),
                        help="seconds to wait for each table/replica change (default 60 on the "
                        "emulator, 1800 on AWS)")
    common.add_argument("--json", action="store_true", help="print the report as JSON")
    common.add_argument("--quiet", action="store_true", help="no progress, just the summary")

    parser = OneLineParser(
        prog="python -m setup",
        description="Create or remove the workshop's global table, replicas, sample data and "
        "regional API (against the local emulator with --endpoint, else real AWS).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", parents=[common], help="create everything (idempotent)")
    up.add_argument("--no-data", action="store_true", help="do not load the sample data")
    up.add_argument("--consistency", type=str.lower, choices=("eventual", "strong"), default="eventual",
                    help="the global table's consistency mode: eventual (MREC, the default) or strong (MRSC: "
                    "three regions of one region set, default " + ",".join(STRONG_DEFAULT_REGIONS) + ")")
    up.add_argument("--witness", metavar="REGION",
                    help="with --consistency strong: a witness region instead of a third replica")
    up.add_argument("--deploy-api", action="store_true",
                    help="AWS only: run `chalice deploy` per region and record the API URLs "
                    "(default: discover existing global-serverless APIs)")
    down = sub.add_parser("down", parents=[common],
                          help="remove what `up` made, replicas first, nothing else")
    down.add_argument("--force", action="store_true",
                      help="delete the table even though `up` did not create it")
    document_ranges(parser)
    return parser


def _print_report(report: WorkshopReport, args: argparse.Namespace, out: TextIO) -> None:
    if args.json:
        print(json.dumps(report.to_dict(), indent=2), file=out)
        return
    if args.quiet:
        for step in report.failures:
            print(f"  !! {step.action} [{step.region}]: {step.detail}", file=out)
    urls = {r: u for r, u in report.api_urls.items() if u}
    if urls and report.operation == "up":
        print("\n".join(format_api_urls(urls)), file=out)
    print(report.summary(), file=out)
    if not report.changed and report.ok:
        print("Nothing was changed.", file=out)


def _regions(args: argparse.Namespace) -> str | None:
    """--regions, or for an MRSC table with none given anywhere, the US region set (home us-west-2)."""
    if args.regions is not None or args.command != "up" or args.consistency != "strong":
        return args.regions
    if os.environ.get("GT_REGIONS") or args.config:
        return None
    return ",".join([r for r in STRONG_DEFAULT_REGIONS if r != args.witness][:2 if args.witness else 3])


def main(argv: list[str] | None = None, *, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failed, 2 bad input)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    try:
        target = Target.from_sources(regions=_regions(args), table=args.table,
                                     endpoint=args.endpoint, profile=args.profile,
                                     config_path=args.config)
        if args.command == "up" and (args.consistency == "strong" or args.witness):
            if args.consistency != "strong":
                raise ConfigError("--witness is for MRSC tables", hint="add --consistency strong")
            check_strong_members(target.regions, args.witness)
        conn = Connection(target).open()
        progress = None if (args.quiet or args.json) else ProgressPrinter(err)
        verb = "Setting up" if args.command == "up" else "Tearing down"
        if not args.json:
            print(f"{verb} the workshop: {target.describe()}", file=err, flush=True)
        if args.command == "up":
            deploy = None
            if args.deploy_api:
                if target.is_local:
                    print("--deploy-api is for real AWS; the emulator serves the API itself",
                          file=err)
                else:
                    from setup.deploy import make_deployer

                    deploy = make_deployer(target.profile)
            report = provision_workshop(conn, progress=progress, load_data=not args.no_data,
                                        deploy=deploy, timeout=args.timeout,
                                        consistency=args.consistency.upper(), witness=args.witness)
        else:
            undeploy = None
            if not target.is_local:
                from setup.deploy import make_undeployer

                undeploy = make_undeployer(target.profile)
            report = teardown_workshop(conn, progress=progress, force=args.force,
                                       undeploy=undeploy, timeout=args.timeout)
    except GtError as error:
        if args.json:
            print(json.dumps({"ok": False, "error": error.to_dict()}, indent=2), file=out)
        else:
            print(f"error: {error}", file=err)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted; run the same command again to carry on", file=err)
        return 130
    _print_report(report, args, out)
    return 0 if report.ok else 1
