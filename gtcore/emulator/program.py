"""The emulator as a program: its command line, its process's tuning, and a clean stop.

A launcher hands it what the emulator serves and runs it in the foreground::

    sys.exit(main(regional_api=code, prog="python -m setup.emulator"))

Once the emulator answers, it prints ``... listening on http://127.0.0.1:PORT ...`` (the line
:func:`gtcore.emulator.client.start_emulator_process` waits for), then runs until SIGTERM or
Ctrl-C, or, with ``--exit-with-stdin``, until its standard input closes: a parent that started it
with a pipe on stdin takes it down with itself, even when that parent is killed outright.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from typing import TYPE_CHECKING

from gtcore.emulator.errors import EmulatorError
from gtcore.emulator.lag import LagSpecError, parse_lag

if TYPE_CHECKING:
    from gtcore.emulator.regional_api import FunctionCode


def main(argv: list[str] | None = None, *, regional_api: FunctionCode | None = None,
         prog: str = "python -m gtcore.emulator") -> int:
    """Run the emulator until told to stop; 0 after a clean stop, 2 when it cannot start."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Local multi-region DynamoDB Global Tables emulator on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument(
        "--lag", default="realistic",
        help="lag model: realistic | fixed:<ms> | uniform:<lo>-<hi> | pairs:SRC>DST=<ms>,...[;default=<spec>]",
    )
    parser.add_argument("--replica-create-seconds", type=float, default=2.0, help="time to backfill a new replica")
    parser.add_argument("--exit-with-stdin", action="store_true",
                        help="stop when standard input closes (the parent holding its other end exited)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a TCP port (0-65535)")
    try:
        lag = parse_lag(args.lag)
    except LagSpecError as err:
        parser.error(str(err))

    from gtcore.emulator.server import Emulator, tune_process  # moto loads here, after the usage checks

    emu = Emulator(args.port, lag, replica_create_seconds=args.replica_create_seconds, regional_api=regional_api)
    tune_process()  # this process exists to be the emulator
    try:
        emu.start()
    except EmulatorError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Global Tables emulator listening on {emu.endpoint} (lag: {emu.lag_description()})", flush=True)
    print(f"  export AWS_ENDPOINT_URL={emu.endpoint}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    if args.exit_with_stdin:
        threading.Thread(target=_set_at_eof, args=(done,), name="gt-parent-watch", daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    emu.stop()
    return 0


def _set_at_eof(done: threading.Event) -> None:
    """Read standard input to its end (nobody writes to it), then ask the emulator to stop."""
    with contextlib.suppress(OSError, ValueError):
        while sys.stdin.buffer.read(4096):
            pass
    done.set()
