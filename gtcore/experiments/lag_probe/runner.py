"""Lag probe run: write probe items, poll the destinations, record every call.

Polling.  Per destination a small pool of reader threads serves every probe in flight.  Each
(probe, destination) is read by up to ``readers`` concurrent requests whose sends are staggered
``poll_interval / readers`` apart, so the gap between the last miss and the first hit is about
that spacing rather than a full round trip.  The schedule is adaptive: the first probe of
each source goes out alone (a pilot, polled with steps growing with the time waited); after
that each probe approaches the window where the lag seen so far says it will arrive in a few
shrinking steps, polls densely through it, and backs off gradually if the item is later than
that.  The schedule only affects how tight the bounds are, never whether they hold.

Overload.  Against the project's emulator (a target with an endpoint), a watcher asks the
emulator every ``OVERLOAD_POLL`` seconds whether it delivers behind its lag model and notes every
change in the history; samples taken meanwhile are marked (see the checker).

A run keeps every request in its history (about 20-50 operations per sample), and deletes its
probe items at the end (the TTL attribute is the fall-back).

Why one module of this size: the writer, the reader pool, the adaptive schedule and the overload
watcher share one run's state and lock (what is in flight, what each reader owes); the parts that
stand alone already live apart (config, checker, visibility).
"""

from __future__ import annotations

import heapq
import itertools
import json
import statistics
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gtcore.background import BackgroundRun
from gtcore.emulator.errors import EmulatorError
from gtcore.errors import GtError, ReadOnlyError, wrap
from gtcore.experiments.export import records, save
from gtcore.experiments.lag_probe.checker import (
    OVERLOAD_OP,
    LagSample,
    make_sample,
    samples_frame,
    summarize,
)
from gtcore.experiments.lag_probe.config import ProbeConfig
from gtcore.experiments.outcome import classify, is_fatal
from gtcore.history import History, Op

if TYPE_CHECKING:
    import pandas as pd

    from gtcore.target import Connection


EXPERIMENT = "lag_probe"
OVERLOAD_POLL = 0.5  # seconds between two questions to the emulator about its overload


@dataclass(frozen=True)
class ProbeProgress:
    state: str
    total: int
    done: int
    ok: int
    timeouts: int
    errors: int
    in_flight: int
    elapsed_s: float
    error: str | None = None
    overloaded: int = 0  # samples taken while the emulator was behind its lag model

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(eq=False)
class _Task:
    """One destination of one probe, being polled."""

    probe: str
    source: str
    dst: str
    sk: str
    token: str
    write_inv: Op
    write_done: Op
    deadline: float
    expected: tuple[float, float] | None
    reads: list[tuple[Op, Op | None]] = field(default_factory=list)
    outstanding: int = 0
    blocked: bool = False
    hit: bool = False
    ended: str | None = None  # "timeout" / "cancelled" once polling stopped without a hit
    finished: bool = False


class _DestQueue:
    def __init__(self) -> None:
        self.heap: list[tuple[float, int, _Task]] = []
        self.cv = threading.Condition()
        self.counter = itertools.count()

    def push(self, due: float, task: _Task) -> None:
        heapq.heappush(self.heap, (due, next(self.counter), task))
        self.cv.notify()


class LagProbe(BackgroundRun):
    """A lag-probe run: ``start()`` it, poll ``progress()`` and ``frame()``, ``cancel()`` it.

    ``run()`` does the same synchronously and returns the samples frame.
    """

    what = "lag probe run"

    def __init__(
        self,
        conn: Connection,
        config: ProbeConfig,
        *,
        history: History | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(history)
        self.conn = conn
        self.config = config
        self.table = conn.target.table
        self.run_id = run_id or uuid.uuid4().hex[:10]
        self.history.meta.update({
            "experiment": EXPERIMENT,
            "run_id": self.run_id,
            "table": self.table,
            "config": config.to_meta(),
        })
        self.warnings: list[str] = []
        self._stop_readers = threading.Event()
        self._queues = {d: _DestQueue() for _, d in config.pairs}
        self._samples: list[LagSample] = []
        self._tasks_open = 0
        self._in_flight_probes: dict[str, int] = {}
        self._slots = threading.Condition(self._lock)
        self._recent: dict[tuple[str, str], deque[float]] = {}
        self._given_up: dict[tuple[str, str], bool] = {}
        self._threads: list[threading.Thread] = []
        self._written: dict[str, list[str]] = {}
        self._overload: list[tuple[float, frozenset[tuple[str, str]]]] = []  # as noted in the history
        self._launcher_done = False
        self._finishing = False
        self.total = config.samples * len(config.pairs)

    # -- public API ---------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop launching probes and stop polling; polled probes become ``cancelled``."""
        super().cancel()
        for q in self._queues.values():
            with q.cv:
                q.cv.notify_all()
        with self._slots:
            self._slots.notify_all()

    def run(self) -> pd.DataFrame:
        """Start, wait for the end, and return :meth:`frame` (raises the run's error)."""
        self._run_to_end()
        return self.frame()

    @property
    def state(self) -> str:
        """idle, running, done, cancelled or failed."""
        return self._state

    def progress(self) -> ProbeProgress:
        with self._lock:
            samples = list(self._samples)
            in_flight = self._tasks_open
            state = self._state
        return ProbeProgress(
            state=state,
            total=self.total,
            done=len(samples),
            ok=sum(1 for s in samples if s.status == "ok"),
            timeouts=sum(1 for s in samples if s.status == "timeout"),
            errors=sum(1 for s in samples if s.status.startswith("write_")),
            in_flight=in_flight,
            elapsed_s=self._elapsed_s(),
            error=str(self.error) if self.error else None,
            overloaded=sum(1 for s in samples if s.overload),
        )

    def samples(self) -> list[LagSample]:
        with self._lock:
            return sorted(self._samples, key=lambda s: (s.seq, s.source, s.destination))

    def frame(self) -> pd.DataFrame:
        return samples_frame(self.samples())

    def summary(self) -> pd.DataFrame:
        return summarize(self.frame())

    def to_csv(self, path: str | Path | None = None) -> str:
        return save(self.frame().to_csv(index=False), path)

    def to_json(self, path: str | Path | None = None, *, include_history: bool = False) -> str:
        """Samples, per-pair summary and run parameters (and the raw history if asked)."""
        frame = self.frame()
        doc: dict[str, Any] = {
            "experiment": EXPERIMENT,
            "run_id": self.run_id,
            "state": self.state,
            "table": self.table,
            "config": self.config.to_meta(),
            "error": self.error.to_dict() if self.error else None,
            "samples": records(frame),
            "summary": records(summarize(frame)),
        }
        if include_history:
            doc["history"] = self.history.to_dict()
        text = json.dumps(doc, indent=1)
        return save(text, path)

    # -- internals ----------------------------------------------------------------------------

    def _begin(self) -> None:
        if self.conn.target.read_only:
            self._refuse(ReadOnlyError(
                "the lag probe writes probe items and this target is read-only",
                hint="drop --read-only to measure lag", action="start lag probe",
            ))
            return
        self._clock_start()
        self._watch_overload()
        for dst in self._queues:
            for n in range(self.config.threads_per_region):
                self._threads.append(self._spawn(self._reader, f"lagprobe-{dst}-{n}", dst, n))
        self._threads.append(self._spawn(self._launch_all, "lagprobe-writer"))

    def _watch_overload(self) -> None:
        """On the project's emulator: note its overload now, then watch it while the run lasts."""
        endpoint = self.conn.target.endpoint
        if endpoint is None:
            return
        from gtcore.emulator.client import EmulatorControl  # only for local targets

        try:
            control = EmulatorControl(endpoint, timeout=2.0)
        except (EmulatorError, ValueError):  # an endpoint the control client refuses: not our emulator
            return
        if not self._note_overload(control):
            return  # not the project's emulator: nothing to watch

        def watch() -> None:
            while not self._stop_readers.wait(OVERLOAD_POLL) and self._note_overload(control):
                pass

        self._threads.append(self._spawn(watch, "lagprobe-overload"))

    def _note_overload(self, control: Any) -> bool:
        """Note the pairs the emulator says are behind when they changed; False if it did not answer."""
        try:
            report = control.overload()
        except (EmulatorError, ValueError, OSError):  # not our emulator, or gone
            return False
        measured = set(self.config.pairs)
        behind = frozenset((str(p.get("source")), str(p.get("destination"))) for p in report.get("pairs") or ()
                           if isinstance(p, dict) and p.get("behind")) & measured
        with self._lock:  # a sample is judged under this lock: it sees every report up to its end
            if self._overload and self._overload[-1][1] == behind:
                return True
            op = self.history.append("overload-watch", "info", OVERLOAD_OP, "", sorted(map(list, behind)))
            self._overload.append((op.time, behind))
        return True

    def _fail(self, err: GtError) -> None:
        with self._lock:
            if self.error is None:
                self.error = err
            self._state = "failed"
        self.cancel()

    def _expected(self, pair: tuple[str, str]) -> tuple[float, float] | None:
        """(centre, guard) of the window where the next sample of ``pair`` should land, from
        the samples so far; None before the first one (or when not adaptive)."""
        recent = self._recent.get(pair)
        if not self.config.adaptive or not recent:
            return None
        centre = statistics.median(recent)
        spread = 0.1 * centre  # few samples yet: stay wide
        if len(recent) >= 3:
            spread = statistics.median(abs(v - centre) for v in recent)
        return centre, max(0.015, 4.0 * spread + 0.005)

    def _launch_all(self) -> None:
        cfg = self.config
        sources = cfg.sources
        t0 = time.monotonic()
        try:
            for seq in range(cfg.samples):
                for j, src in enumerate(sources):
                    due = t0 + (seq + j / len(sources)) / cfg.rate
                    if self._cancel.wait(max(0.0, due - time.monotonic())):
                        return
                    with self._slots:
                        while not self._cancel.is_set() and self._must_wait(src):
                            self._slots.wait(0.1)
                    if self._cancel.is_set():
                        return
                    self._launch(seq, src)
        except Exception as err:  # a bug must end the run visibly, not hang it
            self._fail(GtError(f"lag probe writer crashed: {type(err).__name__}: {err}"))
        finally:
            self._launcher_done = True
            self._maybe_finish()

    def _must_wait(self, src: str) -> bool:
        """Hold the next probe from ``src`` back (called with the lock held): too many probes
        in flight, or a pilot probe still out while some pair of ``src`` has no sample yet (so
        the first probes do not all poll densely at once)."""
        if sum(self._in_flight_probes.values()) >= self.config.max_in_flight:
            return True
        if not self.config.adaptive:
            return False
        piloting = any(
            not self._recent.get((src, dst)) and not self._given_up.get((src, dst))
            for dst in self.config.destinations(src)
        )
        return piloting and any(p.endswith(f":{src}") for p in self._in_flight_probes)

    def _launch(self, seq: int, src: str) -> None:
        cfg = self.config
        probe = f"{seq}:{src}"
        sk = f"{self.run_id}#{src}#{seq:06d}"
        token = f"{self.run_id}-{src}-{seq}-{uuid.uuid4().hex[:6]}"
        dests = cfg.destinations(src)
        item = {
            "PK": {"S": cfg.key_prefix},
            "SK": {"S": sk},
            "token": {"S": token},
            "source": {"S": src},
            cfg.ttl_attribute: {"N": str(int(time.time()) + cfg.ttl_seconds)},
        }
        client = self.conn.client("dynamodb", src)
        inv = self.history.invoke(
            "writer", "write", src, token, probe=probe, seq=seq, key=sk, destinations=list(dests)
        )
        try:
            client.put_item(TableName=self.table, Item=item)
        except Exception as err:  # every failure is recorded, then judged
            kind, mapped = classify(err, f"write probe item to {self.table}", src)
            done = self.history.complete(inv, kind, None, error=str(mapped))
            self._written.setdefault(src, []).append(sk)
            with self._lock:
                for dst in dests:
                    self._samples.append(make_sample(self.run_id, inv, done, dst, [], None))
            if is_fatal(mapped):
                self._fail(mapped)
            return
        done = self.history.ok(inv, token)
        self._written.setdefault(src, []).append(sk)
        with self._lock:
            self._in_flight_probes[probe] = len(dests)
            self._tasks_open += len(dests)
            tasks = [
                _Task(probe, src, dst, sk, token, inv, done, done.time + cfg.timeout,
                      self._expected((src, dst)))
                for dst in dests
            ]
        for task in tasks:
            q = self._queues[task.dst]
            with q.cv:
                q.push(done.time, task)

    def _spacing(self, task: _Task, now: float) -> float:
        """Seconds between two sends for this task (see the module docstring)."""
        cfg = self.config
        dense = cfg.poll_interval / cfg.readers
        elapsed = now - task.write_done.time
        if task.expected is None:
            return max(dense, elapsed * 0.02)
        centre, guard = task.expected
        window = centre - guard
        if elapsed < window:  # approach the window in few, shrinking steps
            return min(max((window - elapsed) * 0.6, dense), 0.25)
        in_window = max(dense, guard / 30.0)
        late = elapsed - (centre + guard)
        if late <= 0:
            return in_window
        # later than expected: back off gradually, up to the growth of an unknown lag
        return min(in_window + late * 0.25, max(in_window, elapsed * 0.02))

    def _reader(self, dst: str, n: int) -> None:
        q = self._queues[dst]
        cfg = self.config
        process = f"reader:{dst}:{n}"
        try:
            client = self.conn.client("dynamodb", dst)
        except GtError as err:
            self._fail(err)
            return
        while True:
            task = self._next_task(q)
            if task is None:
                return
            inv = self.history.invoke(process, "read", dst, None, probe=task.probe)
            try:
                resp = client.get_item(
                    TableName=self.table,
                    Key={"PK": {"S": cfg.key_prefix}, "SK": {"S": task.sk}},
                    ConsistentRead=True,
                    ProjectionExpression="#t",
                    ExpressionAttributeNames={"#t": "token"},
                )
                value = resp.get("Item", {}).get("token", {}).get("S")
                done = self.history.ok(inv, value)
                fatal = None
            except Exception as err:  # recorded as a failed read; polling goes on
                kind, mapped = classify(err, f"read probe item from {self.table}", dst)
                done = self.history.complete(inv, kind, None, error=str(mapped))
                fatal = mapped if is_fatal(mapped) else None
            self._read_done(q, task, inv, done)
            if fatal is not None:
                self._fail(fatal)

    def _next_task(self, q: _DestQueue) -> _Task | None:
        """Block until some task is due for a read (None when the readers should stop)."""
        readers = self.config.readers
        with q.cv:
            while True:
                if self._stop_readers.is_set():
                    return None
                now = time.monotonic()
                if not q.heap:
                    q.cv.wait(0.05)
                    continue
                due, _, task = q.heap[0]
                if task.hit or task.ended:
                    heapq.heappop(q.heap)
                    continue
                if self._cancel.is_set() or now >= task.deadline:
                    heapq.heappop(q.heap)
                    task.ended = "cancelled" if self._cancel.is_set() else "timeout"
                    if task.outstanding == 0:
                        self._finish(task)
                    continue
                if due > now:
                    q.cv.wait(min(due - now, 0.05))
                    continue
                heapq.heappop(q.heap)
                if task.outstanding >= readers:
                    task.blocked = True
                    continue
                task.outstanding += 1
                q.push(max(due + self._spacing(task, now), now), task)
                return task

    def _read_done(self, q: _DestQueue, task: _Task, inv: Op, done: Op) -> None:
        with q.cv:
            task.outstanding -= 1
            task.reads.append((inv, done))
            if done.type == "ok" and done.value == task.token:
                task.hit = True
            if task.hit or task.ended:
                if task.outstanding == 0:
                    self._finish(task)
            elif task.blocked:
                task.blocked = False
                q.push(time.monotonic(), task)

    def _finish(self, task: _Task) -> None:
        """Record the sample of a task whose polling is over (called with its queue's lock)."""
        if task.finished:
            return
        task.finished = True
        give_up = None
        if not task.hit:
            give_up = self.history.append(
                "prober", "info", "give-up", task.dst, None,
                {"probe": task.probe, "reason": task.ended or "cancelled"},
            )
        with self._slots:
            sample = make_sample(self.run_id, task.write_inv, task.write_done, task.dst, task.reads,
                                 give_up, self._overload)
            self._samples.append(sample)
            self._tasks_open -= 1
            left = self._in_flight_probes.get(task.probe, 1) - 1
            if left <= 0:
                self._in_flight_probes.pop(task.probe, None)
            else:
                self._in_flight_probes[task.probe] = left
            if sample.status != "ok":
                self._given_up[(task.source, task.dst)] = True
            else:
                self._recent.setdefault((task.source, task.dst), deque(maxlen=15)).append(
                    sample.lag_ms / 1000.0
                )
            self._slots.notify_all()
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        with self._lock:
            if not self._launcher_done or self._tasks_open > 0 or self._finishing:
                return
            self._finishing = True
        self._spawn(self._wrap_up, "lagprobe-wrapup")

    def _wrap_up(self) -> None:
        self._stop_readers.set()
        for q in self._queues.values():
            with q.cv:
                q.cv.notify_all()
        me = threading.current_thread()
        for t in self._threads:
            if t is not me:
                t.join(timeout=5.0)
        if self.config.cleanup:
            self._cleanup()
        self._end("cancelled" if self._cancel.is_set() else "done")

    def _cleanup(self) -> None:
        """Delete this run's probe items in their source regions (TTL is the fallback)."""
        for src, keys in self._written.items():
            client = self.conn.client("dynamodb", src)
            for start in range(0, len(keys), 25):
                batch = keys[start:start + 25]
                requests = [
                    {"DeleteRequest": {"Key": {"PK": {"S": self.config.key_prefix},
                                               "SK": {"S": sk}}}}
                    for sk in batch
                ]
                try:
                    with wrap("delete probe items", src):
                        for _ in range(3):
                            resp = client.batch_write_item(RequestItems={self.table: requests})
                            requests = resp.get("UnprocessedItems", {}).get(self.table) or []
                            if not requests:
                                break
                except GtError as err:
                    self.warnings.append(
                        f"could not delete {len(batch)} probe items in {src} ({err}); "
                        f"they expire through the {self.config.ttl_attribute} attribute"
                    )
