"""How far behind its lag model the emulator delivers: the evidence that it is overloaded.

Every delivery has a due time (write time plus the lag the model drew); it lands at or after it.
A few milliseconds late is the scheduler; seconds late means the emulator cannot keep up with
its load, and any lag measured meanwhile is the emulator's backlog, not AWS-like lag. The
tracker keeps, per (source, destination) pair, the lateness of the deliveries of the last
minute, and reports for each pair: how late it is now (the later of the oldest delivery that is
due and not yet applied, and the median lateness of the deliveries of the last second: a backlog,
not one delivery that met a busy moment), the p99 and the maximum over the window, and whether
the pair is *behind* (now later than `BEHIND_SECONDS`).
Deliveries held by a fault (paused, isolated) are the fault's doing, not overload: not counted.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

Pair = tuple[str, str]

BEHIND_SECONDS = 0.25  # later than the model by more than this: the emulator is behind
WINDOW_SECONDS = 60.0
RECENT_SECONDS = 1.0  # deliveries applied this recently say how late the pair is now
KEPT_PER_PAIR = 20_000  # lateness samples kept per pair (a minute at ~330 deliveries/s)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


class LatenessTracker:
    def __init__(self, now: Callable[[], float], *, behind_seconds: float = BEHIND_SECONDS,
                 window_seconds: float = WINDOW_SECONDS) -> None:
        self._now = now
        self.behind_seconds = behind_seconds
        self._window = window_seconds
        self._lock = threading.Lock()
        self._samples: dict[Pair, deque[tuple[float, float]]] = {}  # pair -> (applied at, lateness)

    def record(self, pair: Pair, due: float, applied_at: float) -> None:
        late = max(0.0, applied_at - due)
        with self._lock:
            samples = self._samples.get(pair)
            if samples is None:
                samples = self._samples[pair] = deque(maxlen=KEPT_PER_PAIR)
            samples.append((applied_at, late))

    def report(self, overdue: dict[Pair, float], pending: dict[Pair, int]) -> dict[str, Any]:
        """`overdue`: per pair, how long its oldest due-but-unapplied delivery has been due;
        `pending`: deliveries queued per pair. JSON-ready (milliseconds)."""
        now = self._now()
        pairs = []
        with self._lock:
            for samples in self._samples.values():
                while samples and samples[0][0] < now - self._window:
                    samples.popleft()
            known = {p for p, s in self._samples.items() if s} | set(overdue) | set(pending)
            for pair in sorted(known):
                samples = self._samples.get(pair) or deque()
                lateness = [late for _, late in samples]
                recent = [late for at, late in samples if at >= now - RECENT_SECONDS]
                current = max(statistics.median(recent) if recent else 0.0, overdue.get(pair, 0.0))
                pairs.append({
                    "source": pair[0], "destination": pair[1],
                    "behind": current > self.behind_seconds,
                    "behind_ms": round(current * 1000.0, 1),
                    "p99_ms": round(_p99(lateness) * 1000.0, 1),
                    "max_ms": round(max(lateness, default=0.0) * 1000.0, 1),
                    "deliveries": len(lateness),
                    "pending": pending.get(pair, 0),
                })
        return {"behind": any(p["behind"] for p in pairs), "threshold_ms": self.behind_seconds * 1000.0,
                "window_s": self._window, "pairs": pairs}

    def reset(self) -> None:
        with self._lock:
            self._samples.clear()
