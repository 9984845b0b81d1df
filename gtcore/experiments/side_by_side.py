"""MREC next to MRSC, for a room: the same conflict and the same region failure on two tables.

On the emulator, two copies of the workshop over the US Region set (us-west-2 home, us-east-1,
us-east-2): ``gt-demo-mrec`` (eventual consistency) and ``gt-demo-mrsc`` (strong consistency),
set up with the setup's own :func:`provision_workshop` (idempotent: a second run reuses them).
Then, in background threads:

1. the conflict lab on both tables at once (one writer per region, released together);
2. the failover drill on both tables at once, and one region failure for both: home is isolated
   (the emulator's network fault) after ``outage_at`` seconds for ``outage_for`` seconds.

Each lab and drill records into its own history; the verdicts are the experiments' own
(:meth:`ConflictLab.summary`, :class:`DrillVerdict`). A region cannot be taken down on real AWS,
so this runs on an emulator only (the caller passes its control client).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gtcore.background import BackgroundRun
from gtcore.errors import GtError, wrap
from gtcore.experiments.conflict import ConflictConfig, ConflictLab
from gtcore.experiments.drill import DrillConfig, FailoverDrill
from gtcore.target import Connection
from gtcore.workshop import WorkshopProgress, provision_workshop

US = ("us-west-2", "us-east-1", "us-east-2")
MODES = {"EVENTUAL": "gt-demo-mrec", "STRONG": "gt-demo-mrsc"}
LABELS = {"EVENTUAL": "MREC", "STRONG": "MRSC"}


class RegionFault(Protocol):
    """What the demo needs of an emulator: take a region off the network and bring it back."""

    def isolate(self, region: str) -> None: ...

    def heal(self, region: str) -> None: ...


@dataclass(frozen=True)
class SideBySideConfig:
    trials: int = 5
    outage_at: float = 1.5  # seconds into the drill
    outage_for: float = 2.5
    settle: float = 1.5  # drill keeps going this long after the region is back
    interval: float = 0.1  # bookmark writes


@dataclass
class ModeResult:
    """One mode's verdicts: the conflict lab's summary and the drill's verdict, as dicts."""

    consistency: str
    table: str
    conflict: dict[str, Any] | None = None
    drill: dict[str, Any] | None = None
    setup: str = ""

    @property
    def label(self) -> str:
        return LABELS[self.consistency]


@dataclass
class SideBySideState:
    phase: str  # idle, setup, conflict, drill, done, failed
    message: str
    results: dict[str, ModeResult] = field(default_factory=dict)


class SideBySide(BackgroundRun):
    """The demo: ``start()``, poll :meth:`state`, ``wait()``; :attr:`error` when it failed."""

    what = "MREC/MRSC demo"

    def __init__(self, connect: Callable[[str], Connection], fault: RegionFault,
                 config: SideBySideConfig | None = None) -> None:
        """``connect(table)`` gives a connection to ``table`` over :data:`US` on the emulator."""
        super().__init__(None)
        self.config = config or SideBySideConfig()
        self.fault = fault
        self.conns = {mode: connect(table) for mode, table in MODES.items()}
        self.results = {mode: ModeResult(mode, table) for mode, table in MODES.items()}
        self.labs: dict[str, ConflictLab] = {}
        self.drills: dict[str, FailoverDrill] = {}
        self._phase = "idle"
        self._message = "not started"

    def state(self) -> SideBySideState:
        with self._lock:
            phase = "failed" if self.error is not None else self._phase
            return SideBySideState(phase, self._message, dict(self.results))

    def _say(self, phase: str, message: str) -> None:
        with self._lock:
            self._phase, self._message = phase, message

    def _begin(self) -> None:
        self._clock_start()
        self._spawn(self._main, "side-by-side")

    def _main(self) -> None:
        try:
            self._setup()
            self._conflict()
            self._drill()
            self._say("done", "both tables saw the same conflict and the same region failure")
        except GtError as err:
            self.error = err
        except Exception as err:  # a bug: name it rather than hang the page
            self.error = GtError(f"the demo stopped: {type(err).__name__}: {err}")
        finally:
            self._end("cancelled" if self._cancel.is_set() else "done")

    def _setup(self) -> None:
        for mode, conn in self.conns.items():
            label = f"{LABELS[mode]} table {MODES[mode]}"

            def progress(p: WorkshopProgress, label: str = label) -> None:
                self._say("setup", f"setting up the {label}: {p.message}")

            self._say("setup", f"setting up the {label} ({', '.join(US)})")
            report = provision_workshop(conn, progress=progress, consistency=mode)
            if not report.ok:
                raise GtError(f"setting up the {label} failed: {report.summary()}")
            self.results[mode].setup = report.summary()

    def _conflict(self) -> None:
        self._say("conflict", f"the same conflict on both tables: {self.config.trials} trials, "
                  "a writer in each region at once")
        for mode, conn in self.conns.items():
            self.labs[mode] = ConflictLab(conn, ConflictConfig(trials=self.config.trials)).start()
        for mode, lab in self.labs.items():
            lab.wait()
            if lab.error is not None:
                raise lab.error
            self.results[mode].conflict = lab.summary()

    def _drill(self) -> None:
        cfg = self.config
        home = US[0]
        self._say("drill", f"the same region failure on both tables: the video player writes every "
                  f"{cfg.interval * 1000:.0f} ms; {home} goes off the network after {cfg.outage_at:g} s")
        for mode, conn in self.conns.items():
            self.drills[mode] = FailoverDrill(conn, DrillConfig(interval=cfg.interval, health_every=3))
        for drill in self.drills.values():
            drill.start()
        try:
            time.sleep(cfg.outage_at)
            with wrap("isolate a region", home):
                self.fault.isolate(home)
            self._say("drill", f"{home} is off the network: both players fail over")
            time.sleep(cfg.outage_for)
        finally:
            with wrap("heal a region", home):
                self.fault.heal(home)
        self._say("drill", f"{home} is back: the drills fail back, converge and judge")
        time.sleep(cfg.settle)
        for drill in self.drills.values():
            drill.stop()
        for mode, drill in self.drills.items():
            drill.wait(120)
            if drill.error is not None:
                raise drill.error
            if drill.verdict is None:
                raise GtError(f"the {LABELS[mode]} drill gave no verdict within 120 s")
            self.results[mode].drill = drill.verdict.to_dict()

