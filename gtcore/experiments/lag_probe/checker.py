"""Lag probe checker: the lag samples a probe history implies, and their summaries.

Bounds.  Let ``A`` be the moment the source applied the write and ``V`` the moment the item
became visible in the destination; the lag is ``L = V - A``.  All times are ``time.monotonic()``.

* the write was applied within its own request: ``ws <= A <= wr`` (send, receive of PutItem);
* a read that missed was served at some moment ``>= ms`` (its send) when the item was not yet
  visible, so ``V > ms``; the tightest such fact is the *latest-sent* miss;
* a read that hit was served at some moment ``<= hr`` (its receive) when it was visible, so
  ``V <= hr``; the tightest is the *earliest-received* hit.

Hence ``lower = max(0, last_miss_send - wr) < L <= upper = first_hit_recv - ws``.  These hold
whatever the network or the server's queueing did.  The point estimate assumes each request
was served half-way through its round trip: ``(mid(last miss) + mid(first hit)) / 2 -
mid(write)``, clamped into the bounds.  A destination that never shows the token before the
timeout yields a ``timeout`` sample (its lower bound still says how long it was not there); it
is never dropped.

Overload.  Against the project's emulator the run notes in its history whenever the emulator
says it delivers a pair behind its lag model (``emulator-overload`` entries: the pairs behind,
from then on).  A sample of a pair reported behind at any moment from its write to its end is
marked ``overload``: it measured the emulator's backlog, not AWS-like lag.  Summaries count such
samples and leave them out of the lag percentiles.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from gtcore.history import History, Op

if TYPE_CHECKING:
    import pandas as pd

SAMPLE_COLUMNS: tuple[str, ...] = (
    "run_id", "probe", "seq", "source", "destination", "status", "lag_ms", "lower_ms",
    "upper_ms", "write_rtt_ms", "reads", "misses", "read_errors", "regressions", "write_wall",
    "overload",
)

OVERLOAD_OP = "emulator-overload"  # history entry: the pairs the emulator delivers behind its model
OverloadReports = Sequence[tuple[float, frozenset[tuple[str, str]]]]  # (time, pairs behind from then)


@dataclass(frozen=True)
class LagSample:
    """One (probe, destination) outcome.  Times in milliseconds; NaN where unknown.

    status: ``ok`` (seen), ``timeout`` (not seen within the timeout), ``cancelled`` (the run
    stopped first), ``write_failed`` / ``write_unknown`` (the probe write was refused / its
    outcome is unknown, so there is nothing to measure).  ``overload``: the emulator reported
    the pair behind its lag model while the sample was taken (see the module docstring).
    """

    run_id: str
    probe: str
    seq: int
    source: str
    destination: str
    status: str
    lag_ms: float
    lower_ms: float
    upper_ms: float
    write_rtt_ms: float
    reads: int
    misses: int
    read_errors: int
    regressions: int
    write_wall: float
    overload: bool = False

    @property
    def width_ms(self) -> float:
        return self.upper_ms - self.lower_ms

    def contains(self, lag_ms: float) -> bool:
        return self.status == "ok" and self.lower_ms <= lag_ms <= self.upper_ms


def overload_reports(history: History) -> list[tuple[float, frozenset[tuple[str, str]]]]:
    """The emulator's overload reports a run noted, in time order."""
    reports = [(op.time, frozenset((str(s), str(d)) for s, d in op.value or ()))
               for op in history.ops if op.f == OVERLOAD_OP]
    return sorted(reports, key=lambda r: r[0])


def taken_under_overload(reports: OverloadReports, pair: tuple[str, str], start: float, end: float) -> bool:
    """Whether ``pair`` was reported behind at any moment in [start, end] (a report holds until
    the next one)."""
    before = [pairs for at, pairs in reports if at <= start]
    if before and pair in before[-1]:
        return True
    return any(pair in pairs for at, pairs in reports if start < at <= end)


def make_sample(
    run_id: str,
    write_inv: Op,
    write_done: Op | None,
    destination: str,
    reads: Iterable[tuple[Op, Op | None]],
    give_up: Op | None,
    overload: OverloadReports = (),
) -> LagSample:
    """The sample of one (probe, destination): bounds and estimate from the write and the reads
    of that destination (see the module docstring); ``give_up`` says why polling stopped;
    ``overload``: the emulator's overload reports of the run."""
    token = write_inv.value
    extra = write_inv.extra
    base: dict[str, Any] = {
        "run_id": run_id,
        "probe": str(extra.get("probe")),
        "seq": int(extra.get("seq", -1)),
        "source": write_inv.region,
        "destination": destination,
        "write_wall": write_inv.wall,
    }
    nan = math.nan
    reads = list(reads)
    answered = [(i, c) for i, c in reads if c is not None and c.type == "ok"]
    errors = sum(1 for _, c in reads if c is None or c.type != "ok")
    if write_done is None or write_done.type != "ok":
        status = "write_failed" if write_done is not None and write_done.type == "fail" else (
            "write_unknown"
        )
        return LagSample(
            **base, status=status, lag_ms=nan, lower_ms=nan, upper_ms=nan, write_rtt_ms=nan,
            reads=len(reads), misses=0, read_errors=errors, regressions=0,
        )
    ws, wr = write_inv.time, write_done.time
    hits = [(i, c) for i, c in answered if c.value == token]
    misses = [(i, c) for i, c in answered if c.value != token]
    rtt_ms = (wr - ws) * 1000.0
    pair = (write_inv.region, destination)
    if not hits:
        ends = [c.time for _, c in reads if c is not None] + ([give_up.time] if give_up is not None else [])
        end = max(ends, default=wr)
        base["overload"] = taken_under_overload(overload, pair, ws, end)
        lower = max(0.0, max((i.time for i, _ in misses), default=wr) - wr)
        reason = (give_up.extra.get("reason") if give_up is not None else None) or "cancelled"
        return LagSample(
            **base, status="timeout" if reason == "timeout" else "cancelled", lag_ms=nan,
            lower_ms=lower * 1000.0, upper_ms=nan, write_rtt_ms=rtt_ms, reads=len(reads),
            misses=len(misses), read_errors=errors, regressions=0,
        )
    first_hit_recv = min(c.time for _, c in hits)
    base["overload"] = taken_under_overload(overload, pair, ws, first_hit_recv)
    hit_mid = min((i.time + c.time) / 2 for i, c in hits)
    before = [(i, c) for i, c in misses if i.time < first_hit_recv]
    regressions = len(misses) - len(before)  # not there any more after it had been seen
    upper = first_hit_recv - ws
    lower = max(0.0, max((i.time for i, _ in before), default=wr) - wr)
    miss_mids = [(i.time + c.time) / 2 for i, c in before if (i.time + c.time) / 2 < hit_mid]
    estimate = (
        (max(miss_mids) + hit_mid) / 2 - (ws + wr) / 2 if miss_mids else (lower + upper) / 2
    )
    estimate = min(max(estimate, lower), upper)
    return LagSample(
        **base, status="ok", lag_ms=estimate * 1000.0, lower_ms=lower * 1000.0,
        upper_ms=upper * 1000.0, write_rtt_ms=rtt_ms, reads=len(reads), misses=len(misses),
        read_errors=errors, regressions=regressions,
    )


def derive_samples(history: History) -> list[LagSample]:
    """Re-check: the lag samples a probe history implies (see the module docstring)."""
    run_id = str(history.meta.get("run_id", ""))
    writes: dict[str, tuple[Op, Op | None]] = {}
    reads: dict[tuple[str, str], list[tuple[Op, Op | None]]] = {}
    give_ups: dict[tuple[str, str], Op] = {}
    for inv, done in history.pairs():
        probe = str(inv.extra.get("probe"))
        if inv.f == "write":
            writes[probe] = (inv, done)
        elif inv.f == "read":
            reads.setdefault((probe, inv.region), []).append((inv, done))
    for op in history.ops:
        if op.f == "give-up":
            give_ups[(str(op.extra.get("probe")), op.region)] = op
    reports = overload_reports(history)
    samples = []
    for probe, (inv, done) in writes.items():
        for dst in inv.extra.get("destinations", []):
            samples.append(
                make_sample(run_id, inv, done, dst, reads.get((probe, dst), []),
                            give_ups.get((probe, dst)), reports)
            )
    samples.sort(key=lambda s: (s.seq, s.source, s.destination))
    return samples


def samples_frame(samples: Iterable[LagSample]) -> pd.DataFrame:
    """Tidy table: one row per sample, columns :data:`SAMPLE_COLUMNS` plus ``width_ms``."""
    import pandas as pd

    frame = pd.DataFrame([asdict(s) for s in samples], columns=list(SAMPLE_COLUMNS))
    frame["width_ms"] = frame["upper_ms"] - frame["lower_ms"]
    return frame


def _quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank-with-interpolation quantile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    if lo == hi or ordered[lo] == ordered[hi]:
        return ordered[lo]
    if math.isinf(ordered[hi]):
        return math.inf
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per pair: samples, ok, timeouts, errors, samples taken under the emulator's overload, lag
    p50/p90/p99/max, mean bound width.

    Timeouts count as infinitely late for the percentiles (a pair with 2% timeouts has an
    infinite p99), so a summary never looks better than what was observed.  Samples taken while
    the emulator was behind its lag model are counted (``overloaded``) but left out of the
    percentiles: they measured the emulator's backlog, not replication lag.
    """
    import pandas as pd

    rows = []
    for (src, dst), group in frame.groupby(["source", "destination"], sort=False):
        ok = group[group["status"] == "ok"]
        timeouts = int((group["status"] == "timeout").sum())
        under_overload = group["overload"].fillna(False).astype(bool) if "overload" in group else None
        clean = group if under_overload is None else group[~under_overload]
        lags = ([float(v) for v in clean.loc[clean["status"] == "ok", "lag_ms"]]
                + [math.inf] * int((clean["status"] == "timeout").sum()))
        rows.append({
            "source": src,
            "destination": dst,
            "samples": len(group),
            "ok": len(ok),
            "timeouts": timeouts,
            "errors": int(group["status"].isin(["write_failed", "write_unknown"]).sum()),
            "overloaded": 0 if under_overload is None else int(under_overload.sum()),
            "p50_ms": _quantile(lags, 0.5),
            "p90_ms": _quantile(lags, 0.9),
            "p99_ms": _quantile(lags, 0.99),
            "max_ms": max(lags) if lags else math.nan,
            "mean_width_ms": float(ok["width_ms"].mean()) if len(ok) else math.nan,
        })
    return pd.DataFrame(rows, columns=[
        "source", "destination", "samples", "ok", "timeouts", "errors", "overloaded", "p50_ms", "p90_ms",
        "p99_ms", "max_ms", "mean_width_ms",
    ])


def accuracy(frame: pd.DataFrame, true_lag_ms: float) -> dict[str, float]:
    """How well the samples match a known lag: median (signed and absolute) error of the
    estimates, and the share of samples whose bounds contain it (timeouts count as misses)."""
    measured = frame[frame["status"].isin(["ok", "timeout"])]
    ok = measured[measured["status"] == "ok"]
    errors = [float(v) - true_lag_ms for v in ok["lag_ms"]]
    covered = ((ok["lower_ms"] <= true_lag_ms) & (true_lag_ms <= ok["upper_ms"])).sum()
    return {
        "samples": float(len(measured)),
        "timeouts": float(len(measured) - len(ok)),
        "median_error_ms": statistics.median(errors) if errors else math.nan,
        "median_abs_error_ms": statistics.median(abs(e) for e in errors) if errors else math.nan,
        "coverage": float(covered) / len(measured) if len(measured) else math.nan,
        "mean_width_ms": float(ok["width_ms"].mean()) if len(ok) else math.nan,
    }

