"""ReplicationLatency, published where AWS publishes it: the SOURCE region's CloudWatch.

Every applied replicated write adds one sample (milliseconds from the source's apply to the
replica's apply) to an aggregate per (source, receiving region, table). `flush()` turns each
aggregate into one statistic-set datum (SampleCount, Sum, Minimum, Maximum) in moto's CloudWatch
backend of the source region, so GetMetricData and GetMetricStatistics answer Average, Minimum,
Maximum and SampleCount as AWS would. Aggregating keeps memory bounded under load, and datums
older than the retention window are trimmed.
"""

from __future__ import annotations

import threading
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
        self.published = 0

    def record(self, delivery: Delivery, applied_at: float) -> None:
        """Engine callback: one replicated write was applied."""
        ms = max(0.0, (applied_at - delivery.write.ts) * 1000.0)
        key = (delivery.write.source, delivery.dst, delivery.write.table)
        with self._lock:
            self._open.setdefault(key, _Aggregate()).add(ms)

    def flush(self) -> int:
        """Publish what accumulated since the last flush; returns the number of datums."""
        with self._lock:
            batch, self._open = self._open, {}
        now = utcnow()  # moto compares naive UTC datetimes
        for (source, receiving, table), agg in batch.items():
            backend = cloudwatch_backends[self._account_id][source]
            backend.metric_data.append(
                MetricAggregatedDatum(
                    namespace=NAMESPACE,
                    name=METRIC,
                    min_stat=agg.low,
                    max_stat=agg.high,
                    sample_count=float(agg.count),
                    sum_stat=agg.total,
                    dimensions=[
                        {"Name": "TableName", "Value": table},
                        {"Name": "ReceivingRegion", "Value": receiving},
                    ],
                    timestamp=now,
                    unit="Milliseconds",
                )
            )
        self.published += len(batch)
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
