"""ReplicationLatency, published where AWS publishes it: the SOURCE region's CloudWatch.

Every applied replicated write adds one sample (milliseconds from the source's apply to the
replica's apply) to an aggregate per (source, receiving region, table). `flush()` merges what
accumulated into one statistic-set datum (SampleCount, Sum, Minimum, Maximum) per pair and
minute in moto's CloudWatch backend of the source region, so GetMetricData and
GetMetricStatistics answer Average, Minimum, Maximum and SampleCount as AWS would, at AWS's
one-minute resolution. One datum per pair-minute keeps memory bounded under any load, and
datums older than the retention window are trimmed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from moto.cloudwatch.models import MetricAggregatedDatum, cloudwatch_backends
from moto.core.utils import utcnow

from gtcore.emulator.engine import Delivery

NAMESPACE = "AWS/DynamoDB"
METRIC = "ReplicationLatency"


@dataclass
class _Aggregate:
    count: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = 0.0

    def add(self, ms: float) -> None:
        self.count += 1
        self.total += ms
        self.low = min(self.low, ms)
        self.high = max(self.high, ms)


class LatencyPublisher:
    def __init__(self, account_id: str, retention: timedelta = timedelta(hours=3)) -> None:
        self._account_id = account_id
        self._retention = retention
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str, str], _Aggregate] = {}
        self._minute: dict[tuple[str, str, str], MetricAggregatedDatum] = {}  # this minute's datum per pair
        self.published = 0
        self._excluded: list[Callable[[str], bool]] = []

    def exclude(self, table_test: Callable[[str], bool]) -> None:
        """Publish nothing for tables this says yes to (MRSC tables: their writes are synchronous)."""
        self._excluded.append(table_test)

    def record(self, delivery: Delivery, applied_at: float) -> None:
        """Engine callback: one replicated write was applied."""
        if any(test(delivery.write.table) for test in self._excluded):
            return
        ms = max(0.0, (applied_at - delivery.write.ts) * 1000.0)
        key = (delivery.write.source, delivery.dst, delivery.write.table)
        with self._lock:
            self._open.setdefault(key, _Aggregate()).add(ms)

    def open_aggregates(self) -> int:
        with self._lock:
            return len(self._open)

    def flush(self) -> int:
        """Merge what accumulated since the last flush into each pair's datum for this minute;
        returns the number of pairs that had samples."""
        with self._lock:
            batch, self._open = self._open, {}
        now = utcnow()  # moto compares naive UTC datetimes
        minute = now.replace(second=0, microsecond=0)
        for key, agg in batch.items():
            datum = self._minute.get(key)
            if datum is not None and datum.timestamp == minute:
                datum.min = min(datum.min, agg.low)
                datum.max = max(datum.max, agg.high)
                datum.sum += agg.total
                datum.sample_count += agg.count
                continue
            source, receiving, table = key
            datum = MetricAggregatedDatum(
                namespace=NAMESPACE, name=METRIC, min_stat=agg.low, max_stat=agg.high,
                sample_count=float(agg.count), sum_stat=agg.total,
                dimensions=[{"Name": "TableName", "Value": table}, {"Name": "ReceivingRegion", "Value": receiving}],
                timestamp=minute, unit="Milliseconds",
            )
            cloudwatch_backends[self._account_id][source].metric_data.append(datum)
            self._minute[key] = datum
            self.published += 1
        if batch:
            self._trim({source for source, _, _ in batch}, now)
        return len(batch)

    def _trim(self, regions: set[str], now: datetime) -> None:
        cutoff = now - self._retention
        for region in regions:
            backend = cloudwatch_backends[self._account_id][region]
            if backend.metric_data and backend.metric_data[0].timestamp < cutoff:
                backend.metric_data = [d for d in backend.metric_data if d.timestamp >= cutoff]

    def reset(self) -> None:
        with self._lock:
            self._open.clear()
            self._minute.clear()
