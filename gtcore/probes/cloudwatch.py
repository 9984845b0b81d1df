"""CloudWatch ``ReplicationLatency`` for every (source, receiving) region pair.

The metric lives in the SOURCE region's CloudWatch (namespace ``AWS/DynamoDB``, dimensions
``TableName`` and ``ReceivingRegion``): lag A->B is read from A with ``ReceivingRegion=B``. One
refresh makes at most ONE ``GetMetricData`` call per source region: every receiving region x
statistic is a query in that call. Source regions are read concurrently.

The result is a tidy DataFrame (source, receiving, timestamp, stat, value) plus a state per pair
(``ok``, ``no_datapoints`` or ``error``), so "nothing published yet" is explicit rather than an
empty frame.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from gtcore.errors import ConfigError, GtError, wrap
from gtcore.target import Connection

__all__ = [
    "COLUMNS",
    "METRIC",
    "NAMESPACE",
    "STATS",
    "LatencyResult",
    "PairState",
    "build_queries",
    "replication_latency",
]

NAMESPACE = "AWS/DynamoDB"
METRIC = "ReplicationLatency"
STATS: tuple[str, ...] = ("Average", "Minimum", "Maximum", "SampleCount")
COLUMNS = ["source", "receiving", "timestamp", "stat", "value"]
_ALLOWED_STATS = {"Average", "Minimum", "Maximum", "SampleCount", "Sum"}
_MAX_QUERIES = 500  # GetMetricData limit per call
_MAX_POINTS = 100_800  # datapoints one GetMetricData page may return


_MAX_WINDOW_S = 455 * 24 * 3600.0  # CloudWatch's retention (15 months)

@dataclass(frozen=True)
class PairState:
    """What one (source, receiving) pair has in the window."""

    source: str
    receiving: str
    state: str  # "ok" | "no_datapoints" | "error"
    datapoints: int = 0  # timestamps with data
    latest: dict[str, float] = field(default_factory=dict)  # stat -> value at the newest point
    latest_at: datetime | None = None
    error: str | None = None


@dataclass
class LatencyResult:
    """One refresh: the tidy frame, the state of each pair, and how many calls it took."""

    table: str
    frame: pd.DataFrame
    pairs: list[PairState]
    start: datetime
    end: datetime
    period: int
    stats: tuple[str, ...]
    calls: int  # GetMetricData calls made (at most one per source region)
    errors: dict[str, str] = field(default_factory=dict)  # source region -> message
    elapsed_ms: float = 0.0

    def pair(self, source: str, receiving: str) -> PairState:
        for p in self.pairs:
            if (p.source, p.receiving) == (source, receiving):
                return p
        raise KeyError((source, receiving))

    def no_datapoints(self) -> list[tuple[str, str]]:
        return [(p.source, p.receiving) for p in self.pairs if p.state == "no_datapoints"]

    def mean_by_pair(self) -> dict[tuple[str, str], float]:
        """Sample-weighted mean of Average over the window, per pair with data."""
        out: dict[tuple[str, str], float] = {}
        f = self.frame
        if f.empty:
            return out
        wide = f.pivot_table(
            index=["source", "receiving", "timestamp"], columns="stat", values="value"
        )
        for (src, dst), part in wide.groupby(level=[0, 1]):
            if "Average" not in part:
                continue
            avg = part["Average"]
            if "SampleCount" in part and part["SampleCount"].sum() > 0:
                w = part["SampleCount"].fillna(0)
                out[(src, dst)] = float((avg * w).sum() / w.sum())
            else:
                out[(src, dst)] = float(avg.mean())
        return out

    def to_dict(self) -> dict[str, Any]:
        rows = self.frame.assign(timestamp=self.frame["timestamp"].astype(str))
        return {
            "table": self.table,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "period": self.period,
            "stats": list(self.stats),
            "calls": self.calls,
            "errors": dict(self.errors),
            "pairs": [
                {
                    "source": p.source,
                    "receiving": p.receiving,
                    "state": p.state,
                    "datapoints": p.datapoints,
                    "latest": p.latest,
                    "latest_at": p.latest_at.isoformat() if p.latest_at else None,
                    "error": p.error,
                }
                for p in self.pairs
            ],
            "datapoints": rows.to_dict(orient="records"),
        }


def _check_period(period: int) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period <= 0:
        raise ConfigError(f"period must be a positive number of seconds, got {period!r}")
    if period not in (1, 5, 10, 30) and period % 60:
        raise ConfigError(
            f"CloudWatch period {period}s is not allowed",
            hint="use 1, 5, 10, 30 or a multiple of 60 seconds",
        )
    return period


def build_queries(
    table: str, receiving: Sequence[str], stats: Sequence[str], period: int
) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
    """The MetricDataQueries of one source region and a map query id -> (receiving, stat)."""
    queries: list[dict[str, Any]] = []
    ids: dict[str, tuple[str, str]] = {}
    for i, dst in enumerate(receiving):
        for j, stat in enumerate(stats):
            qid = f"r{i}s{j}"
            ids[qid] = (dst, stat)
            queries.append(
                {
                    "Id": qid,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACE,
                            "MetricName": METRIC,
                            "Dimensions": [
                                {"Name": "TableName", "Value": table},
                                {"Name": "ReceivingRegion", "Value": dst},
                            ],
                        },
                        "Period": period,
                        "Stat": stat,
                        "Unit": "Milliseconds",
                    },
                    "ReturnData": True,
                }
            )
    return queries, ids


def _read_source(
    conn: Connection,
    source: str,
    receiving: Sequence[str],
    stats: Sequence[str],
    start: datetime,
    end: datetime,
    period: int,
) -> list[tuple[str, str, datetime, str, float]]:
    table = conn.target.table
    queries, ids = build_queries(table, receiving, stats, period)
    with wrap(f"read {METRIC} of table {table} from CloudWatch", source):
        resp = conn.client("cloudwatch", source).get_metric_data(
            MetricDataQueries=queries,
            StartTime=start,
            EndTime=end,
            ScanBy="TimestampAscending",
        )
    rows: list[tuple[str, str, datetime, str, float]] = []
    for res in resp.get("MetricDataResults", []):
        dst, stat = ids.get(res.get("Id", ""), (None, None))
        if dst is None:
            continue
        for ts, val in zip(res.get("Timestamps", []), res.get("Values", []), strict=False):
            rows.append((source, dst, ts, stat, float(val)))
    return rows


def _pair_state(part: pd.DataFrame, source: str, dst: str) -> PairState:
    if part.empty:
        return PairState(source, dst, "no_datapoints")
    newest = part["timestamp"].max()
    at_newest = part[part["timestamp"] == newest]
    latest = {str(s): float(v) for s, v in zip(at_newest["stat"], at_newest["value"], strict=True)}
    return PairState(
        source,
        dst,
        "ok",
        datapoints=int(part["timestamp"].nunique()),
        latest=latest,
        latest_at=newest.to_pydatetime(),
    )


def replication_latency(
    conn: Connection,
    *,
    window: timedelta | float = timedelta(hours=1),
    period: int = 60,
    stats: Iterable[str] = STATS,
    end: datetime | None = None,
    sources: Iterable[str] | None = None,
) -> LatencyResult:
    """ReplicationLatency for every ordered pair of the target's regions over ``window``.

    ``window`` is a timedelta or seconds; ``period`` the CloudWatch aggregation period in
    seconds; ``end`` defaults to now rounded up to a period boundary. Per-source failures are
    recorded in ``errors`` and mark that source's pairs as ``error``; they do not raise.
    """
    stats = tuple(stats)
    bad = [s for s in stats if s not in _ALLOWED_STATS]
    if not stats or bad:
        raise ConfigError(
            f"unsupported statistics: {', '.join(bad) or '(none)'}",
            hint=f"choose from {', '.join(sorted(_ALLOWED_STATS))}",
        )
    period = _check_period(period)
    seconds = window.total_seconds() if isinstance(window, timedelta) else float(window)
    if not math.isfinite(seconds) or not 0 < seconds <= _MAX_WINDOW_S:
        raise ConfigError(
            f"window must be a positive number of seconds up to 455 days, got {window!r}",
            hint="e.g. --window 60 (minutes); CloudWatch keeps datapoints for 15 months",
        )
    span = timedelta(seconds=seconds)
    if span.total_seconds() < period:
        raise ConfigError(
            f"window ({span.total_seconds():.0f}s) is shorter than the period ({period}s)"
        )
    regions = conn.target.regions
    srcs = tuple(sources) if sources is not None else regions
    if end is None:
        # Round up to the next period boundary: the current, partial period is included (and
        # aligned times are what CloudWatch answers fastest).
        now = datetime.now(UTC)
        epoch = now.timestamp()
        end = datetime.fromtimestamp(epoch - epoch % period + period, UTC)
    end = end.astimezone(UTC)
    start = end - span
    points = int(span.total_seconds() // period) + 1
    n_queries = (len(regions) - 1) * len(stats)
    if n_queries > _MAX_QUERIES or n_queries * points > _MAX_POINTS:
        raise ConfigError(
            f"{n_queries} queries x {points} periods do not fit in one GetMetricData call",
            hint="use a longer period or a shorter window",
        )

    t0 = time.perf_counter()
    rows: list[tuple[str, str, datetime, str, float]] = []
    errors: dict[str, str] = {}
    calls = 0
    work = {src: [r for r in regions if r != src] for src in srcs}
    work = {src: dsts for src, dsts in work.items() if dsts}
    if work:
        with ThreadPoolExecutor(max_workers=len(work)) as pool:
            futures = {
                src: pool.submit(_read_source, conn, src, dsts, stats, start, end, period)
                for src, dsts in work.items()
            }
            calls = len(futures)
            for src, fut in futures.items():
                try:
                    rows.extend(fut.result())
                except GtError as err:
                    errors[src] = str(err)

    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["value"] = frame["value"].astype(float)
    frame = frame.sort_values(["source", "receiving", "timestamp", "stat"]).reset_index(
        drop=True
    )

    pairs: list[PairState] = []
    for src, dsts in work.items():
        for dst in dsts:
            if src in errors:
                pairs.append(PairState(src, dst, "error", error=errors[src]))
                continue
            part = frame[(frame["source"] == src) & (frame["receiving"] == dst)]
            pairs.append(_pair_state(part, src, dst))

    return LatencyResult(
        table=conn.target.table,
        frame=frame,
        pairs=pairs,
        start=start,
        end=end,
        period=period,
        stats=stats,
        calls=calls,
        errors=errors,
        elapsed_ms=round((time.perf_counter() - t0) * 1000.0, 1),
    )
