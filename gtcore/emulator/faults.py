"""Replication faults: deliveries a replica could not apply, kept so someone can see them.

AWS does not log a write a replica refused (validation at the source makes that rare there);
the emulator records each one instead of letting it stop replication: the item key, the pair,
the reason, when it first and last happened and how often. One entry per (table, key, pair,
reason), the oldest dropped past a limit, so a steady stream of failures keeps memory bounded
while `total` still counts every one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

FAULTS_KEPT = 200


@dataclass
class ReplicationFault:
    table: str
    key: str
    source: str
    destination: str
    reason: str
    first_at: float
    last_at: float
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultLog:
    def __init__(self, now: Callable[[], float], *, limit: int = FAULTS_KEPT) -> None:
        self._now = now
        self._limit = limit
        self._lock = threading.Lock()
        self._faults: OrderedDict[tuple[str, str, str, str, str], ReplicationFault] = OrderedDict()
        self.total = 0

    def record(self, table: str, key: str, source: str, destination: str, reason: str) -> ReplicationFault:
        with self._lock:
            self.total += 1
            at = self._now()
            ident = (table, key, source, destination, reason)
            fault = self._faults.pop(ident, None)
            if fault is None:
                fault = ReplicationFault(table, key, source, destination, reason, at, at, 0)
            fault.count += 1
            fault.last_at = at
            self._faults[ident] = fault  # newest last
            while len(self._faults) > self._limit:
                self._faults.popitem(last=False)
            return fault

    def faults(self) -> list[ReplicationFault]:
        """The faults kept, newest first (copies)."""
        with self._lock:
            return [ReplicationFault(**f.to_dict()) for f in reversed(self._faults.values())]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.total = 0
