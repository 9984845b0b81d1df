"""The reads every viewer of a target makes, made once per interval and shared by all of them.

A dashboard holds one :class:`TargetReads` for the whole server; every session asks it instead of
reading the target itself, so ten sessions on Replicas live cost one read of each region per
interval, not ten. Keys start with the :class:`~gtcore.target.Target` (per target, never mixed),
and what the answer depends on (counting or not, the item, the CloudWatch window) follows.

What stays per session is what only that session knows: its harness's last write and who has
caught up with it (:meth:`items` feeds the shared readings to the session's own harness).
After a write through the dashboard, :meth:`changed` forgets what was read about the target, so
the writer's next look (and everyone's) is a new read, not an answer from before the write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from gtcore.harness import Harness, Reading
from gtcore.probes.status import DEFAULT_COUNT_LIMIT, EmulatorHealth, StatusReport, emulator_health, table_status
from gtcore.shared_reads import SharedReads
from gtcore.target import Connection, Target

if TYPE_CHECKING:  # pandas: imported when CloudWatch is first read, not when the dashboard starts
    from gtcore.probes.cloudwatch import LatencyResult

__all__ = ["CLOUDWATCH_S", "HEALTH_S", "ITEMS_S", "STATUS_S", "TargetReads"]

ITEMS_S = 0.5  # the item in every region: Replicas live shows it twice a second
HEALTH_S = 1.0  # the emulator's own health (threads, replication faults)
STATUS_S = 2.0  # the status report: tables, replicas, APIs, functions, item counts
CLOUDWATCH_S = 10.0  # CloudWatch itself aggregates per minute


class TargetReads:
    """Status, item readings, emulator health and CloudWatch per target, shared (see module doc)."""

    def __init__(self, shared: SharedReads | None = None) -> None:
        self.shared = shared if shared is not None else SharedReads()

    def status(self, conn: Connection, *, count: bool = False, count_limit: int = DEFAULT_COUNT_LIMIT,
               interval: float = STATUS_S) -> StatusReport:
        """:func:`~gtcore.probes.status.table_status` of the target, at most ``interval`` s old."""
        return self.shared.get((conn.target, "status", count, count_limit), interval,
                               lambda: table_status(conn, count=count, count_limit=count_limit))

    def emulator_health(self, conn: Connection, *, interval: float = HEALTH_S) -> EmulatorHealth | None:
        """What the target's emulator says about itself (None on AWS), at most ``interval`` s old."""
        return self.shared.get((conn.target, "emulator_health"), interval, lambda: emulator_health(conn))

    def items(self, conn: Connection, harness: Harness, regions: Sequence[str], *,
              interval: float = ITEMS_S) -> dict[str, Reading]:
        """The harness's item in every region (read through each region's API), at most
        ``interval`` s old; the session's own harness then notes who has caught up."""
        regions = tuple(regions)
        readings = self.shared.get((conn.target, "items", regions, harness.pk, harness.sk), interval,
                                   lambda: harness.read_now(regions))
        harness.observe(readings)
        return readings

    def replication_latency(self, conn: Connection, *, window: timedelta, period: int,
                            stats: Sequence[str], interval: float = CLOUDWATCH_S) -> LatencyResult:
        """CloudWatch ReplicationLatency of every pair over ``window``, at most ``interval`` s old."""
        from gtcore.probes.cloudwatch import replication_latency

        stats = tuple(stats)
        return self.shared.get(
            (conn.target, "cloudwatch", window, period, stats), interval,
            lambda: replication_latency(conn, window=window, period=period, stats=stats))

    def changed(self, target: Target | None = None) -> None:
        """Something was written to ``target`` (to any target when None, e.g. a setup job that
        added a region): what was read about it before is not kept."""
        if target is None:
            self.shared.forget()
        else:
            self.shared.forget(target)
