"""State DynamoDB keeps per table that moto does not, kept with the moto table it belongs to.

Settings live in a weak map keyed by moto's `Table` object, so they go when the table goes:
DeleteTable, a replica's removal and `/moto-api/reset` all forget them, and a table created again
under the same name starts clean, as it does in AWS. Changes that AWS applies asynchronously
(ENABLING, then ENABLED) are a `Phase`: in motion for `settle_seconds`, then settled.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from moto.dynamodb.models.table import Table

from gtcore.emulator.replicas import ApiError
from gtcore.emulator.store import MotoStore

T = TypeVar("T")
Clock = Callable[[], float]


@dataclass
class Phase:
    """A status that is `moving` (e.g. ENABLING) for a while after `since`, then `settled`."""

    moving: str
    settled: str
    since: float

    def status(self, now: float, settle_seconds: float) -> str:
        return self.settled if now - self.since >= settle_seconds else self.moving


@dataclass
class KinesisDestination:
    stream_arn: str
    phase: Phase
    precision: str = "MILLISECOND"


@dataclass
class TableExtras:
    """Everything the emulator stores for one table in one region (one replica)."""

    contributor_insights: dict[str, tuple[Phase, str]] = field(default_factory=dict)  # index or "" -> (phase, mode)
    kinesis: dict[str, KinesisDestination] = field(default_factory=dict)  # stream ARN -> destination
    replica_overrides: dict[str, Any] = field(default_factory=dict)  # UpdateTable ReplicaUpdates Update
    auto_scaling: dict[str, Any] = field(default_factory=dict)  # "read"/"write"/(index, "read"|"write") -> settings
    legacy_since: float | None = None  # member of a 2017.11.29 global table since (epoch seconds)


class TableExtrasStore:
    def __init__(self, store: MotoStore, *, clock: Clock = time.time, settle_seconds: float = 1.0) -> None:
        self.moto = store
        self.clock = clock
        self.settle_seconds = settle_seconds
        self._extras: weakref.WeakKeyDictionary[Table, TableExtras] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def of(self, table: Table) -> TableExtras:
        with self._lock:
            extras = self._extras.get(table)
            if extras is None:
                extras = self._extras[table] = TableExtras()
            return extras

    def peek(self, table: Table) -> TableExtras | None:
        """The table's extras if any were ever stored (reading never creates them)."""
        with self._lock:
            return self._extras.get(table)

    def status(self, phase: Phase) -> str:
        return phase.status(self.clock(), self.settle_seconds)

    def table(self, region: str, name_or_arn: str) -> Table:
        """The table named (or ARN'd) in `region`, or AWS's ResourceNotFoundException."""
        table = self.moto.table(region, table_name(name_or_arn))
        if table is None:
            raise not_found(name_or_arn)
        return table

    def tables(self, region: str) -> list[Table]:
        return sorted(self.moto.backend(region).tables.values(), key=lambda t: t.name)


def table_name(name_or_arn: str) -> str:
    """`arn:aws:dynamodb:REGION:ACCOUNT:table/NAME` or NAME -> NAME (every TableName member takes both)."""
    if name_or_arn.startswith("arn:") and ":table/" in name_or_arn:
        return name_or_arn.split(":table/", 1)[1].split("/", 1)[0]
    return name_or_arn


def not_found(table: str) -> ApiError:
    return ApiError("ResourceNotFoundException", f"Requested resource not found: Table: {table} not found")


def page(items: Sequence[T], token: Any, limit: Any, *, most: int) -> tuple[list[T], str | None]:
    """One page of `items` from an opaque position token; the next token, or None at the end.

    Tokens are 16 hex digits, which every NextToken pattern in DynamoDB's model accepts."""
    try:
        start = int(token, 16) if token is not None else 0
    except ValueError as err:
        raise ApiError("ValidationException", f"Invalid NextToken: {token!r}") from err
    size = min(int(limit), most) if limit is not None else most
    chunk = list(items[start:start + size])
    return chunk, (f"{start + size:016x}" if start + size < len(items) else None)
