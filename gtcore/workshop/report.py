"""What provisioning and teardown tell: progress events, the steps they took, the final report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# What changed things, for WorkshopReport.changed.
CHANGED = frozenset({"created", "updated", "written", "deleted", "recorded"})


@dataclass(frozen=True)
class WorkshopProgress:
    """One progress event: ``fraction`` of the whole job done (0..1), what is happening now."""

    step: str
    message: str
    region: str | None = None
    fraction: float | None = None
    replicas: dict[str, str] | None = None  # region -> "ACTIVE" / "CREATING 40%" while waiting
    done: Step | None = None  # set when a step has just finished


ProgressFn = Callable[[WorkshopProgress], None]


@dataclass
class Step:
    """One thing setup looked at and what it did: ``outcome`` is one of created, updated,
    written, deleted, recorded (changes) or exists, absent, kept, checked, skipped, failed."""

    action: str
    region: str | None
    outcome: str
    detail: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "region": self.region,
            "outcome": self.outcome,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class WorkshopReport:
    operation: str  # "up" or "down"
    target: str
    steps: list[Step] = field(default_factory=list)
    api_urls: dict[str, str | None] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(s.outcome in CHANGED for s in self.steps)

    @property
    def ok(self) -> bool:
        return not any(s.outcome == "failed" for s in self.steps)

    @property
    def failures(self) -> list[Step]:
        return [s for s in self.steps if s.outcome == "failed"]

    def summary(self) -> str:
        """One line for people: what changed, or that nothing did."""
        if not self.ok:
            head = f"{len(self.failures)} step(s) failed"
        elif self.changed:
            n = sum(s.outcome in CHANGED for s in self.steps)
            head = f"done: {n} change(s)"
        else:
            head = "nothing to do: everything was already " + (
                "in place" if self.operation == "up" else "gone"
            )
        return f"{head} ({self.target}, {self.seconds:.1f} s)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "target": self.target,
            "changed": self.changed,
            "ok": self.ok,
            "summary": self.summary(),
            "seconds": round(self.seconds, 3),
            "api_urls": dict(self.api_urls),
            "steps": [s.to_dict() for s in self.steps],
        }


class _Run:
    """Bookkeeping shared by provisioning and teardown: steps, progress, timing."""

    def __init__(self, conn: Any, operation: str, progress: ProgressFn | None, total: int):
        self.conn = conn
        self.target = conn.target
        self.report = WorkshopReport(operation, self.target.describe())
        self._progress = progress
        self._total = max(total, 1)
        self._done = 0
        self._start = time.monotonic()
        local = self.target.is_local
        self.poll = 0.2 if local else 5.0

    def tell(self, step: str, message: str, region: str | None = None,
             replicas: dict[str, str] | None = None, done: Step | None = None) -> None:
        if self._progress is not None:
            fraction = min(self._done / self._total, 1.0)
            self._progress(WorkshopProgress(step, message, region, fraction, replicas, done))

    def record(self, action: str, region: str | None, outcome: str, detail: str = "",
               started: float | None = None) -> Step:
        seconds = time.monotonic() - started if started is not None else 0.0
        step = Step(action, region, outcome, detail, seconds)
        self.report.steps.append(step)
        self._done += 1
        self.tell(action, f"{action}: {outcome}" + (f" ({detail})" if detail else ""), region,
                  done=step)
        return step

    def finish(self) -> WorkshopReport:
        self.report.seconds = time.monotonic() - self._start
        if self._progress is not None:
            self._progress(WorkshopProgress("done", self.report.summary(), None, 1.0))
        return self.report

    def ddb(self, region: str) -> Any:
        return self.conn.client("dynamodb", region)
