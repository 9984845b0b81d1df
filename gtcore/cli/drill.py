"""``drill``: run the workshop's video player against the regional APIs and fail a region.

With ``--fail-region R --fail-after S`` the region is failed S seconds in (``--fault throttle``:
the regional API function's reserved concurrency to 0, as in the workshop; ``--fault isolate``:
the emulator's region isolation) and restored at the end of the watching time (or after
``--restore-after`` seconds), before the replicas are re-read for the verdict.

Exit 1 when the verdict fails: acknowledged bookmarks lost, or replicas that do not converge.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from gtcore.cli import emit_json, write_file
from gtcore.cli.arguments import number, output_file
from gtcore.errors import ConfigError
from gtcore.experiments.drill import DrillConfig, FailoverDrill
from gtcore.target import Connection


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "drill",
        help="failover drill: the video player writes a bookmark every interval, fails over "
        "after repeated failures; verdict with RPO and RTO",
    )
    p.add_argument("--seconds", type=number(0, 86_400, above=True), default=20.0, help="watching time (default 20)")
    p.add_argument("--interval", type=number(0.01, 60), default=0.5,
                   help="seconds between bookmark writes (default 0.5, as the workshop)")
    p.add_argument("--failures", type=number(1, 1000, integer=True), default=3, metavar="K",
                   help="consecutive failed writes before failing over (default 3)")
    p.add_argument("--fail-region", metavar="R", help="region to fail during the drill")
    p.add_argument("--fail-after", type=number(0, 86_400), default=5.0, metavar="S",
                   help="seconds into the drill to fail --fail-region (default 5)")
    p.add_argument("--restore-after", type=number(0, 86_400), metavar="S",
                   help="restore the region S seconds after failing it (default: at the end)")
    p.add_argument("--fault", choices=("throttle", "isolate"), default="throttle",
                   help="throttle the region's API function (default) or isolate the region "
                   "(emulator only)")
    p.add_argument("--user", default="user10", help="viewer (PK, default user10)")
    p.add_argument("--video", default="01", help="video id (SK, default 01)")
    p.add_argument("--no-failback", action="store_true",
                   help="stay in the failover region when home is healthy again")
    p.add_argument("--history", type=output_file(), metavar="FILE.json", help="write the raw history to FILE")


class _Fault:
    def __init__(self, conn: Connection, region: str, kind: str) -> None:
        self.conn, self.region, self.kind = conn, region, kind
        self.active = False
        if kind == "isolate":
            if not conn.target.is_local:
                raise ConfigError("--fault isolate needs the emulator (--endpoint)",
                                  hint="use --fault throttle on AWS")
            from gtcore.emulator.client import EmulatorControl

            self._control = EmulatorControl(conn.target.endpoint or "")

    def inject(self) -> str:
        return self._set(failed=True)

    def restore(self) -> str:
        if not self.active:
            return "nothing to restore"
        return self._set(failed=False)

    def _set(self, *, failed: bool) -> str:
        """Fail the region or put it back; returns the note to show."""
        if self.kind == "throttle":
            from gtcore.actions.throttle import restore_region, throttle_region

            note = (throttle_region if failed else restore_region)(self.conn, self.region).note
        else:
            (self._control.isolate if failed else self._control.heal)(self.region)
            note = "isolated" if failed else "healed"
        self.active = failed
        return note


def _line(drill: FailoverDrill) -> str:
    s = drill.state()
    reads = " ".join(
        f"{r}={'-' if v.read_wall is None else v.value if v.ok else 'ERR'}"
        for r, v in s.regions.items()
    )
    return (f"t={s.elapsed_s:5.1f}s active={s.active} acked={s.last_acked} "
            f"({s.last_acked_region}) fails={s.consecutive_failures} | {reads}")


def run(args: argparse.Namespace, conn: Connection) -> int:
    if args.fail_region and args.fail_region not in conn.target.regions:
        raise ConfigError(f"--fail-region {args.fail_region} is not one of --regions "
                          f"{','.join(conn.target.regions)}")
    if args.fail_region and args.fail_after >= args.seconds:
        raise ConfigError("--fail-after must be shorter than --seconds")
    config = DrillConfig(user=args.user, video=args.video, interval=args.interval,
                         fail_after=args.failures, auto_failback=not args.no_failback)
    fault = _Fault(conn, args.fail_region, args.fault) if args.fail_region else None
    drill = FailoverDrill(conn, config)
    say = (lambda m: None) if args.json else print
    drill.start()
    t0 = time.monotonic()
    restore_at = None
    try:
        while time.monotonic() - t0 < args.seconds and not drill.wait(0):
            elapsed = time.monotonic() - t0
            if fault and not fault.active and restore_at is None and elapsed >= args.fail_after:
                say(f"--- {args.fault} {fault.region}: {fault.inject()}")
                restore_at = (elapsed + args.restore_after if args.restore_after is not None
                              else None)
            if fault and fault.active and restore_at is not None and elapsed >= restore_at:
                say(f"--- restore {fault.region}: {fault.restore()}")
            say(_line(drill))
            time.sleep(min(1.0, max(0.05, args.seconds - elapsed)))
    except KeyboardInterrupt:
        say("interrupted: restoring and judging")
    finally:
        if fault and fault.active:
            say(f"--- restore {fault.region}: {fault.restore()}")
        drill.stop()
        drill.wait()
    if args.history:
        write_file("--history", args.history, drill.history.to_json)
    if drill.error is not None:
        raise drill.error
    verdict = drill.verdict
    assert verdict is not None
    if args.json:
        emit_json({"mode": drill.mode.to_dict() if drill.mode else None, "verdict": verdict.to_dict(), "log": [
            {"wall": e.wall, "kind": e.kind, "region": e.region, "message": e.message,
             "ok": e.ok} for e in drill.state().log if e.kind != "write" or not e.ok
        ]})
    else:
        for e in drill.state().log:
            if e.kind in ("failover", "failback"):
                print(f"{e.kind}: {e.message}")
        print(verdict.describe())
        print("final: " + ", ".join(f"{r}={v}" for r, v in verdict.final_by_region.items()))
    return 0 if verdict.passed else 1
