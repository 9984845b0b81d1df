"""Command line: ``python -m gtcore <command> [target flags] [command flags]``.

Contract for a command module ``gtcore/cli/<command>.py`` (listed in :data:`COMMANDS`):

* ``add_parser(subparsers) -> None``: call ``subparsers.add_parser("<command>", help=...)`` and
  add the command's own arguments. The common target flags (``--regions``, ``--table``,
  ``--endpoint``, ``--profile``, ``--config``, ``--read-only``) and ``--json`` are added for
  you, before or after the command name.
* ``run(args, conn) -> int``: do the work with ``conn`` (a :class:`gtcore.target.Connection`
  built from the flags) and return the exit code: 0 fine, 1 the check failed (divergence found,
  a region unhealthy, ...). Print human output to stdout by default and one JSON document to
  stdout when ``args.json`` is set (use :func:`emit_json`); progress goes to stderr (use
  :class:`Progress`). Raise :class:`gtcore.errors.GtError` for failures: ``main`` prints it
  as one line on stderr (never a traceback) and exits with its ``exit_code`` (2 for bad usage
  or configuration, 1 otherwise). Argparse errors are one line too, and exit 2.
* Numeric flags use ``type=number(low, high)`` and files to write ``type=output_file(...)``
  (:mod:`gtcore.cli.arguments`): bad values never reach ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from gtcore.cli.arguments import OneLineParser, document_ranges
from gtcore.errors import ConfigError, GtError

__all__ = ["COMMANDS", "Progress", "build_parser", "emit_json", "format_table", "main"]

# The experiments' commands (probe, conflict, drill) join this list once their modules exist.
COMMANDS: tuple[str, ...] = ("status", "cloudwatch", "throttle", "unthrottle", "diff", "probe", "conflict", "drill")

PROG = "python -m gtcore"


def _target_flags(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("target")
    group.add_argument(
        "--regions", default=default, metavar="R1,R2",
        help="comma-separated regions, home first (env GT_REGIONS; default us-west-2,eu-west-1)",
    )
    group.add_argument(
        "--table", default=default, help="table name (env GT_TABLE; default global-serverless)"
    )
    group.add_argument(
        "--endpoint", default=default, metavar="URL",
        help="local emulator endpoint, e.g. http://127.0.0.1:4566 (env AWS_ENDPOINT_URL); "
        "unset: real AWS",
    )
    group.add_argument("--profile", default=default, help="AWS profile (env AWS_PROFILE)")
    group.add_argument(
        "--config", default=default, metavar="FILE", help="TOML or JSON file with target settings"
    )
    group.add_argument(
        "--read-only", action="store_true", default=default,
        help="refuse every write and control-plane call",
    )
    group.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS if suppress else False,
        help="print one JSON document for machines",
    )


class _Subparsers:
    """Hands command modules a ``subparsers`` whose parsers carry the common flags."""

    def __init__(self, action: Any) -> None:
        self._action = action

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("description", kwargs.get("help"))
        parser = self._action.add_parser(name, **kwargs)
        _target_flags(parser, suppress=True)
        return parser


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Inspect and exercise a DynamoDB global table (real AWS or the local "
        "emulator).",
        epilog="Exit codes: 0 fine, 1 the check failed, 2 bad usage or configuration.",
    )
    _target_flags(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wrapper = _Subparsers(sub)
    for name in COMMANDS:
        module = importlib.import_module(f"gtcore.cli.{name}")
        before = set(sub.choices)
        module.add_parser(wrapper)
        for added in set(sub.choices) - before:
            sub.choices[added].set_defaults(_run=module.run)
    document_ranges(parser)
    return parser


def _connection(args: argparse.Namespace) -> Any:
    from gtcore.target import Connection, Target

    target = Target.from_sources(
        regions=args.regions,
        table=args.table,
        endpoint=args.endpoint,
        profile=args.profile,
        read_only=True if args.read_only else None,
        config_path=args.config,
    )
    return Connection(target).open()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse: --help (0) or a usage error (2)
        return stop.code if isinstance(stop.code, int) else 2
    try:
        try:
            conn = _connection(args)
            return int(args._run(args, conn))
        except OSError as err:  # a file named on the command line (--out, --history, ...)
            if err.filename is None:
                raise
            raise ConfigError(
                f"cannot write or read {err.filename}: {err.strerror or err}",
                hint="check the file name and its directory (--out, --history)",
            ) from err
    except GtError as err:
        print(f"error: {err}", file=sys.stderr)
        if getattr(args, "json", False):
            emit_json({"error": err.to_dict()})
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: one line, traceback only on request
        if os.environ.get("GT_DEBUG"):
            raise
        print(
            f"error: unexpected {type(err).__name__}: {' '.join(str(err).split())} "
            "(set GT_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1


# --- output helpers for command modules ------------------------------------------------------


def emit_json(doc: Any, out: TextIO | None = None) -> None:
    """Print one JSON document (datetimes and other objects as strings)."""
    print(json.dumps(doc, indent=2, default=str, sort_keys=False), file=out or sys.stdout)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain aligned text table."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([line.rstrip(), sep, *(b.rstrip() for b in body)])


class Progress:
    """Progress lines on stderr, at most one every ``interval`` seconds (phase changes always)."""

    def __init__(self, *, interval: float = 0.5, stream: TextIO | None = None) -> None:
        self.interval = interval
        self.stream = stream or sys.stderr
        self._last = 0.0
        self._phase: str | None = None

    def __call__(self, message: str, *, phase: str | None = None, force: bool = False) -> None:
        now = time.monotonic()
        if force or phase != self._phase or now - self._last >= self.interval:
            self._last, self._phase = now, phase
            print(message, file=self.stream, flush=True)


# --- running an experiment from a command ----------------------------------------------------


def run_with_progress(run: Any, describe: Any) -> None:
    """Start ``run`` (an experiment: ``start``/``wait``/``cancel``/``error``), print
    ``describe()`` as progress until it ends, and raise its error.  Ctrl-C cancels the run and
    waits for it to wind down, so the results so far can still be reported."""
    progress = Progress()
    run.start()
    try:
        while not run.wait(0.25):
            progress(describe())
    except KeyboardInterrupt:
        run.cancel()
        run.wait()
    if run.error is not None:
        raise run.error


def export_run(run: Any, out: str | None, history: str | None) -> None:
    """Write ``--out`` (CSV or JSON, by the file name) and ``--history`` (the raw history)."""
    if out:
        write_file("--out", out, run.to_csv if out.lower().endswith(".csv") else run.to_json)
    if history:
        write_file("--history", history, run.history.to_json)


def write_file(flag: str, path: str, write: Callable[[str], None]) -> None:
    """``write(path)``; a failure is a one-line error naming the flag and the file."""
    try:
        write(path)
    except OSError as err:
        raise ConfigError(f"cannot write {flag} {path}: {err.strerror or err}",
                          hint=f"check the file name given to {flag} and its directory") from err
