"""The replication engine: ships each write to every other replica, last writer wins.

The engine knows nothing of HTTP or moto. It is told about local writes (region, table, key,
full new image or None for a delete), stamps each with a hidden write timestamp, schedules one
delivery per other replica after a lag drawn from the lag model, and applies due deliveries
through a `ReplicaStore` only when their timestamp is newer than the one the replica holds for
that item. So every replica converges to the same image, and no replica ever goes back to an
older one (per item, order holds). Timestamps never show in items.

Deliveries keep to the model under load. Each destination has its own queue, and what is due
for a destination is applied in one batch under one acquisition of its region lock, where only
the newest image of each item is applied (last writer wins: an older image in the same batch
would be overwritten before anyone could read it; counted as superseded). Request handlers
also land what is due for their region before they run (`deliver_due`), so a request served
after a delivery's due time sees it however busy the replication thread is. Listeners are told
from the replication thread, never under a region lock. How far behind the model deliveries
land, per pair, is reported by `overload()` (see `overload`).

Faults hold deliveries instead of dropping them: a paused (table, region) or an isolated region
keeps every delivery into or out of it until resumed or healed, then the queue drains.

Delivery is supervised: a delivery the replica store cannot apply (it raised) never stops the
others. It is tried again after a short back-off (`RETRY_DELAYS`), and when every attempt failed
it is recorded in `faults` (item key, pair, reason, count) and the item stays as the replica had
it; its hidden stamp is only set by a write that was applied, so a later write still lands.

Everything runs on an injectable clock: tests drive `pump()` by hand with a `FakeClock`.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
from collections import Counter, deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from gtcore.emulator.clock import Clock, SystemClock
from gtcore.emulator.faults import FaultLog
from gtcore.emulator.lag import LagModel, RealisticLag
from gtcore.emulator.overload import LatenessTracker

Image = dict[str, Any] | None  # DynamoDB JSON attribute map, or None for a delete
Stamp = tuple[float, str]  # (write timestamp, source region): total order for last-writer-wins

TOMBSTONE_SECONDS = 300.0
COLLECT_EVERY = 1.0  # seconds between tombstone collections
RETRY_DELAYS = (0.05, 0.25)  # seconds before the second and the third attempt


class ReplicaStore(Protocol):
    def region_lock(self, region: str) -> AbstractContextManager[Any]: ...

    def apply(self, region: str, table: str, key: str, image: Image) -> bool:
        """Write (or delete) the item in that region's table; False if the table is gone."""
        ...


@dataclass(frozen=True)
class Write:
    source: str
    table: str
    key: str
    image: Image
    stamp: Stamp

    @property
    def ts(self) -> float:
        return self.stamp[0]


@dataclass(order=True)
class Delivery:
    due: float
    seq: int
    write: Write = field(compare=False)
    dst: str = field(compare=False)
    attempt: int = field(default=0, compare=False)
    held: bool = field(default=False, compare=False)  # a fault held it: its lateness is not overload

    @property
    def pair(self) -> tuple[str, str]:
        return (self.write.source, self.dst)


Applied = Callable[[Delivery, float], None]


class ReplicationEngine:
    def __init__(
        self,
        store: ReplicaStore,
        *,
        clock: Clock | None = None,
        lag: LagModel | None = None,
        rng: random.Random | None = None,
        on_applied: Applied | None = None,
    ) -> None:
        self._store = store
        self.clock = clock or SystemClock()
        self._lag: LagModel = lag or RealisticLag()
        self._rng = rng or random.Random()
        self._listeners: list[Applied] = [on_applied] if on_applied is not None else []
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._seq = itertools.count()
        self._queues: dict[str, list[Delivery]] = {}  # destination -> heap by due time
        self._notify: deque[tuple[Delivery, float]] = deque()  # applied, listeners not told yet
        self._held: list[Delivery] = []
        self._pending: Counter[tuple[str, str]] = Counter()
        self._stamps: dict[tuple[str, str, str], Stamp] = {}
        self._tombstones: deque[tuple[float, tuple[str, str, str]]] = deque()
        self._groups: dict[str, dict[str, str]] = {}  # table -> {region: replica status}
        self._paused: set[tuple[str, str]] = set()  # (table, region)
        self._isolated: set[str] = set()
        self._last_collect = 0.0
        self.applied_count = 0
        self.discarded_count = 0
        self.superseded_count = 0
        self.retried_count = 0
        self.listener_errors = 0
        self.faults = FaultLog(self.clock.now)
        self.lateness = LatenessTracker(self.clock.now)
        self.last_error: str | None = None  # the last thing that went wrong in run()

    # -- lag -----------------------------------------------------------------------------
    @property
    def lag(self) -> LagModel:
        return self._lag

    def set_lag(self, model: LagModel) -> None:
        with self._lock:
            self._lag = model

    # -- listeners -----------------------------------------------------------------------
    def add_listener(self, listener: Applied) -> None:
        """Call `listener(delivery, applied_at)` after every applied replicated write."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Applied) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- membership ----------------------------------------------------------------------
    def add_replica(self, table: str, region: str, status: str = "CREATING") -> None:
        with self._lock:
            self._groups.setdefault(table, {})[region] = status

    def set_status(self, table: str, region: str, status: str) -> None:
        with self._lock:
            if region in self._groups.get(table, {}):
                self._groups[table][region] = status

    def remove_replica(self, table: str, region: str) -> None:
        """Forget a replica: its pending deliveries and hidden stamps go with it."""
        with self._lock:
            members = self._groups.get(table, {})
            members.pop(region, None)
            if len(members) == 0:
                self._groups.pop(table, None)
            queue = [d for d in self._queues.get(region, []) if not self._drop_if_to(d, table, region)]
            heapq.heapify(queue)
            self._queues[region] = queue
            self._held = [d for d in self._held if not self._drop_if_to(d, table, region)]
            for k in [k for k in self._stamps if k[0] == region and k[1] == table]:
                del self._stamps[k]

    def _drop_if_to(self, d: Delivery, table: str, region: str) -> bool:
        if d.write.table == table and d.dst == region:
            self._pending[d.pair] -= 1
            return True
        return False

    def members(self, table: str) -> dict[str, str]:
        with self._lock:
            return dict(self._groups.get(table, {}))

    def groups(self) -> dict[str, dict[str, str]]:
        with self._lock:
            return {t: dict(m) for t, m in self._groups.items()}

    # -- writes --------------------------------------------------------------------------
    def stamp_of(self, region: str, table: str, key: str) -> Stamp | None:
        with self._lock:
            return self._stamps.get((region, table, key))

    def local_write(self, region: str, table: str, key: str, image: Image) -> Write:
        """Record a write that was just applied in `region` (the caller holds its lock)."""
        with self._lock:
            now = self.clock.now()
            previous = self._stamps.get((region, table, key))
            ts = now if previous is None or now > previous[0] else previous[0] + 1e-6
            write = Write(region, table, key, image, (ts, region))
            self._set_stamp(region, table, key, write.stamp, image is None)
            earliest = None
            for dst, status in self._groups.get(table, {}).items():
                if dst == region or status == "DELETING":
                    continue
                due = ts + self._lag.sample(region, dst, self._rng)
                heapq.heappush(self._queues.setdefault(dst, []), Delivery(due, next(self._seq), write, dst))
                self._pending[(region, dst)] += 1
                earliest = due if earliest is None else min(earliest, due)
            if earliest is not None:
                self._wake.notify_all()
            return write

    def seed_stamp(self, region: str, table: str, key: str, stamp: Stamp) -> bool:
        """Backfill: give `region` an item copied with its source stamp, unless it has newer."""
        with self._lock:
            current = self._stamps.get((region, table, key))
            if current is not None and current >= stamp:
                return False
            self._stamps[(region, table, key)] = stamp
            return True

    def _set_stamp(self, region: str, table: str, key: str, stamp: Stamp, delete: bool) -> None:
        self._stamps[(region, table, key)] = stamp
        if delete:
            self._tombstones.append((stamp[0], (region, table, key)))

    # -- delivery ------------------------------------------------------------------------
    def _held_now(self, d: Delivery) -> bool:
        w = d.write
        return (
            w.source in self._isolated
            or d.dst in self._isolated
            or (w.table, d.dst) in self._paused
            or (w.table, w.source) in self._paused
        )

    def _take_due(self, dst: str, now: float) -> list[Delivery]:
        """Pop what is due for `dst` (the caller holds its region lock); held ones go aside."""
        due: list[Delivery] = []
        with self._lock:
            queue = self._queues.get(dst)
            while queue and queue[0].due <= now:
                d = heapq.heappop(queue)
                if self._held_now(d):
                    d.held = True
                    self._held.append(d)
                else:
                    due.append(d)
        return due

    def pump(self) -> int:
        """Apply every delivery that is due and not held; returns how many were applied."""
        now = self.clock.now()
        with self._lock:
            destinations = [dst for dst, queue in self._queues.items() if queue and queue[0].due <= now]
        applied = 0
        for dst in destinations:
            with self._store.region_lock(dst):
                applied += self._deliver_due(dst)
        self._tell_listeners()
        self._collect_tombstones(now)
        return applied

    def deliver_due(self, region: str) -> int:
        """Apply what is due for `region` now; the caller holds its region lock (a request handler,
        before it runs: a request served after a delivery's due time sees it)."""
        with self._lock:
            queue = self._queues.get(region)
            if not queue or queue[0].due > self.clock.now():
                return 0
        applied = self._deliver_due(region)
        if applied:
            with self._wake:
                self._wake.notify_all()  # the replication thread tells the listeners
        return applied

    def _deliver_due(self, dst: str) -> int:
        """One batch for `dst` under its region lock: only the newest image of each item."""
        now = self.clock.now()
        newest: dict[tuple[str, str], Delivery] = {}
        for d in self._take_due(dst, now):
            if not d.held:
                self.lateness.record(d.pair, d.due, now)
            item = (d.write.table, d.write.key)
            kept = newest.get(item)
            if kept is not None and kept.write.stamp >= d.write.stamp:
                kept, d = d, kept
            newest[item] = d
            if kept is not None:
                with self._lock:
                    self._pending[kept.pair] -= 1
                    self.superseded_count += 1
        return sum(self._deliver(d) for d in sorted(newest.values()))

    def _deliver(self, d: Delivery) -> int:
        w = d.write
        with self._lock:
            self._pending[d.pair] -= 1
            if d.dst not in self._groups.get(w.table, {}):
                return 0
            current = self._stamps.get((d.dst, w.table, w.key))
            if current is not None and w.stamp <= current:
                self.discarded_count += 1
                return 0
        try:
            applied = self._store.apply(d.dst, w.table, w.key, w.image)
        except Exception as err:  # the replica refused it: retry or record, never stop
            self._failed(d, f"{type(err).__name__}: {getattr(err, 'message', None) or err}")
            return 0
        if not applied:
            return 0
        applied_at = self.clock.now()
        with self._lock:
            self._set_stamp(d.dst, w.table, w.key, w.stamp, w.image is None)
            self.applied_count += 1
            self._notify.append((d, applied_at))
        return 1

    def _tell_listeners(self) -> None:
        while True:
            with self._lock:
                if not self._notify:
                    return
                applied, listeners = list(self._notify), list(self._listeners)
                self._notify.clear()
            for d, applied_at in applied:
                for listener in listeners:
                    try:
                        listener(d, applied_at)
                    except Exception:  # an observer's bug must not cost the next deliveries
                        self.listener_errors += 1

    def _failed(self, d: Delivery, reason: str) -> None:
        if d.attempt < len(RETRY_DELAYS):
            retry = Delivery(self.clock.now() + RETRY_DELAYS[d.attempt], next(self._seq), d.write, d.dst,
                             d.attempt + 1)
            with self._lock:
                heapq.heappush(self._queues.setdefault(d.dst, []), retry)
                self._pending[d.pair] += 1
                self.retried_count += 1
            return
        self.faults.record(d.write.table, d.write.key, d.write.source, d.dst, reason)

    def _collect_tombstones(self, now: float) -> None:
        """Forget deletes older than the window AND older than every write still queued or held:
        a tombstone dropped while an older write to that key waits (paused, isolated) would let
        the deleted item come back when it is delivered."""
        with self._lock:
            if now - self._last_collect < COLLECT_EVERY or not self._tombstones:
                return
            self._last_collect = now
            queued = itertools.chain.from_iterable(self._queues.values())
            oldest_pending = min((d.write.ts for d in itertools.chain(queued, self._held)), default=now)
            cutoff = min(now - TOMBSTONE_SECONDS, oldest_pending)
            while self._tombstones and self._tombstones[0][0] < cutoff:
                _, k = self._tombstones.popleft()
                stamp = self._stamps.get(k)
                if stamp is not None and stamp[0] < cutoff:
                    del self._stamps[k]

    def next_due(self) -> float | None:
        with self._lock:
            return min((queue[0].due for queue in self._queues.values() if queue), default=None)

    def run(self, stop: threading.Event, max_sleep: float = 0.2) -> None:
        """Deliver on time until `stop` is set (the emulator's replication thread)."""
        while not stop.is_set():
            try:
                self.pump()
            except Exception as err:  # keep delivering; the error shows in state and health
                self.last_error = f"{type(err).__name__}: {err}"
                stop.wait(max_sleep)
                continue
            with self._wake:
                nxt = self.next_due()
                delay = max_sleep if nxt is None else min(max_sleep, nxt - self.clock.now())
                if delay > 0 and not self._notify:
                    self._wake.wait(delay)

    # -- faults --------------------------------------------------------------------------
    def pause(self, table: str, region: str) -> None:
        with self._lock:
            self._paused.add((table, region))

    def resume(self, table: str, region: str) -> None:
        with self._lock:
            self._paused.discard((table, region))
            self._release()

    def isolate(self, region: str) -> None:
        with self._lock:
            self._isolated.add(region)

    def heal(self, region: str) -> None:
        with self._lock:
            self._isolated.discard(region)
            self._release()

    def is_isolated(self, region: str) -> bool:
        with self._lock:
            return region in self._isolated

    def isolated(self) -> list[str]:
        with self._lock:
            return sorted(self._isolated)

    def paused(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._paused)

    def _release(self) -> None:
        keep: list[Delivery] = []
        for d in self._held:
            if self._held_now(d):
                keep.append(d)
            else:
                heapq.heappush(self._queues.setdefault(d.dst, []), d)
        self._held = keep
        self._wake.notify_all()

    # -- observation ---------------------------------------------------------------------
    def pending(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return {pair: n for pair, n in self._pending.items() if n > 0}

    def pending_total(self) -> int:
        with self._lock:
            return sum(n for n in self._pending.values() if n > 0)

    def overload(self) -> dict[str, Any]:
        """How far behind its lag model delivery is, per pair (see `overload.LatenessTracker`)."""
        now = self.clock.now()
        overdue: dict[tuple[str, str], float] = {}
        with self._lock:
            for queue in self._queues.values():
                stack = [0]  # walk only the heap's due part: a node's children are due no sooner
                while stack:
                    i = stack.pop()
                    if i >= len(queue) or queue[i].due > now:
                        continue
                    d = queue[i]
                    if not self._held_now(d):
                        overdue[d.pair] = max(overdue.get(d.pair, 0.0), now - d.due)
                    stack += [2 * i + 1, 2 * i + 2]
            pending = self.pending()
        return self.lateness.report(overdue, pending)

    def sizes(self) -> dict[str, int]:
        """What the engine holds: each must stay bounded over a long run."""
        with self._lock:
            return {"queue": sum(map(len, self._queues.values())), "held": len(self._held), "stamps": len(self._stamps),
                    "tombstones": len(self._tombstones)}

    def reset(self) -> None:
        with self._lock:
            self._queues.clear()
            self._notify.clear()
            self._held.clear()
            self._pending.clear()
            self._stamps.clear()
            self._tombstones.clear()
            self._groups.clear()
            self._paused.clear()
            self._isolated.clear()
        self.faults.clear()
        self.lateness.reset()
        self.last_error = None
