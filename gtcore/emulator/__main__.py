"""`python -m gtcore.emulator [--port 4566] [--lag MODEL]`: run the emulator in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from gtcore.emulator import Emulator, EmulatorError
from gtcore.emulator.lag import LagSpecError, parse_lag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gtcore.emulator",
        description="Local multi-region DynamoDB Global Tables emulator on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument(
        "--lag", default="realistic",
        help="lag model: realistic | fixed:<ms> | uniform:<lo>-<hi> | pairs:SRC>DST=<ms>,...[;default=<spec>]",
    )
    parser.add_argument("--replica-create-seconds", type=float, default=2.0, help="time to backfill a new replica")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a TCP port (0-65535)")
    try:
        lag = parse_lag(args.lag)
    except LagSpecError as err:
        parser.error(str(err))
    try:
        emu = Emulator(args.port, lag, replica_create_seconds=args.replica_create_seconds).start()
    except EmulatorError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Global Tables emulator listening on {emu.endpoint} (lag: {emu.lag_description()})", flush=True)
    print(f"  export AWS_ENDPOINT_URL={emu.endpoint}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
