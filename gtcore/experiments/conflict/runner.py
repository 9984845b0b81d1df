"""Conflict lab run: writers released together at a barrier, then read until replicas agree."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gtcore.background import BackgroundRun
from gtcore.consistency import CONFLICT_CODE, TableMode, read_mode_anywhere
from gtcore.errors import ConfigError, GtError, ReadOnlyError, wrap
from gtcore.experiments.conflict.checker import TrialResult, judge_trial, summarize_trials, trials_frame
from gtcore.experiments.conflict.config import CONFLICT_PK, ConflictConfig
from gtcore.experiments.conflict.ports import Port, open_ports
from gtcore.experiments.export import save
from gtcore.experiments.outcome import classify, is_fatal
from gtcore.history import History, Op, jsonable

if TYPE_CHECKING:
    import pandas as pd

    from gtcore.target import Connection


EXPERIMENT = "conflict"
RETRY_PAUSE = 0.02  # seconds before the first retry of a rejected write; doubles per rejection


@dataclass(frozen=True)
class ConflictProgress:
    state: str
    total: int
    done: int
    conflicts: int
    lost_writes: int
    lost_increments: int
    diverged: int
    rejected: int = 0
    consistency: str | None = None
    error: str | None = None


@dataclass
class _Job:
    """One trial's write for one worker; ``finished`` and the ops belong to this trial only,
    so a writer that comes back late from an earlier trial cannot be mistaken for this one."""

    trial: int
    amount: int
    tag: str | None
    finished: threading.Event = field(default_factory=threading.Event)
    invoked: Op | None = None
    done: Op | None = None


class _Worker(threading.Thread):
    """One region's writer: waits at the barrier, writes, reports."""

    def __init__(self, lab: ConflictLab, port: Port, index: int) -> None:
        super().__init__(name=f"conflict-{port.region}", daemon=True)
        self.lab, self.port, self.index = lab, port, index
        self.job: _Job | None = None

    def run(self) -> None:
        lab = self.lab
        while True:
            try:
                lab._barrier.wait()
            except threading.BrokenBarrierError:
                return
            job = self.job
            if lab._stopping or job is None:
                return
            offset_ms = self.index * lab.config.stagger_ms
            if offset_ms:
                time.sleep(offset_ms / 1000.0)
            inv = lab.history.invoke(
                f"writer:{self.port.region}", lab.config.mode, self.port.region, job.amount,
                trial=job.trial, tag=job.tag, offset_ms=offset_ms,
            )
            job.invoked = inv
            try:
                wrote, rejected = self._write(job)
                done = lab.history.ok(inv, {
                    "old": wrote.old, "old_tag": wrote.old_tag, "new": wrote.new,
                    "old_known": wrote.old_known, "rejected": rejected,
                })
            except Exception as err:  # recorded; the checker allows for unknown outcomes
                kind, mapped = classify(err, f"write {lab.config.attribute}", self.port.region)
                done = lab.history.complete(inv, kind, None, error=str(mapped))
                if is_fatal(mapped):
                    lab._fatal = mapped
            job.done = done
            job.finished.set()


    def _write(self, job: _Job) -> tuple[Any, int]:
        """Write; on an MRSC table a write racing another Region's is rejected with
        ReplicatedWriteConflictException, changing nothing: note it and retry, with a short
        growing pause, while the write timeout allows. Returns what was written and how many
        times it was rejected first."""
        lab = self.lab
        deadline = time.monotonic() + lab.config.write_timeout
        rejected = 0
        while True:
            try:
                return self.port.write(lab.config.mode, job.amount, job.tag), rejected
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") != CONFLICT_CODE or time.monotonic() > deadline:
                    raise
            rejected += 1
            lab.history.append(f"rejections:{self.port.region}", "info", "write-rejected", self.port.region,
                               {"trial": job.trial, "attempt": rejected, "code": CONFLICT_CODE})
            time.sleep(min(0.5, RETRY_PAUSE * 2 ** (rejected - 1)) * (0.5 + random.random()))


class ConflictLab(BackgroundRun):
    """A batch of conflict trials in a background thread.

    ``start()``, then poll ``progress()`` / ``results()``; ``cancel()`` stops after the current
    trial.  ``run()`` does it synchronously and returns the results.
    """

    what = "conflict lab run"

    def __init__(
        self,
        conn: Connection,
        config: ConflictConfig,
        *,
        history: History | None = None,
        run_id: str | None = None,
        api_timeout: float = 3.0,
    ) -> None:
        super().__init__(history)
        self.conn = conn
        self.config = config
        self.regions = config.regions or conn.target.regions
        if len(self.regions) < 2:
            raise ConfigError(
                "a conflict needs writers in at least two regions",
                hint="add a replica region to the target (--regions)",
            )
        if config.amounts and len(config.amounts) != len(self.regions):
            raise ConfigError(
                f"{len(config.amounts)} amounts for the {len(self.regions)} regions "
                f"{', '.join(self.regions)}"
            )
        self.table = conn.target.table
        self.run_id = run_id or uuid.uuid4().hex[:10]
        self.sk = config.sk or f"run-{self.run_id}"
        self.dedicated = config.pk == CONFLICT_PK
        self.tagged = config.path == "dynamodb" and bool(config.tag_attribute)
        self.api_timeout = api_timeout
        self.history.meta.update({
            "experiment": EXPERIMENT,
            "run_id": self.run_id,
            "table": self.table,
            "regions": list(self.regions),
            "key": {"PK": config.pk, "SK": self.sk},
            "tagged": self.tagged,
            "config": config.to_meta(),
        })
        self._fatal: GtError | None = None
        self.mode: TableMode | None = None  # the table's consistency mode, from DescribeTable
        self._results: list[TrialResult] = []
        self._stopping = False
        self._barrier = threading.Barrier(len(self.regions) + 1)
        self._workers: list[_Worker] = []

    # -- public API ---------------------------------------------------------------------------

    def run(self) -> list[TrialResult]:
        self._run_to_end()
        return self.results()

    @property
    def state(self) -> str:
        return self._state

    def progress(self) -> ConflictProgress:
        with self._lock:
            results = list(self._results)
        return ConflictProgress(
            state=self._state,
            total=self.config.trials,
            done=len(results),
            conflicts=sum(1 for r in results if r.conflict),
            lost_writes=sum(len(r.lost) for r in results),
            lost_increments=sum(r.lost_increments or 0 for r in results),
            diverged=sum(1 for r in results if not r.converged),
            rejected=sum(r.rejected for r in results),
            consistency=self.mode.consistency if self.mode else None,
            error=str(self.error) if self.error else None,
        )

    def results(self) -> list[TrialResult]:
        with self._lock:
            return list(self._results)

    def frame(self) -> pd.DataFrame:
        return trials_frame(self.results())

    def summary(self) -> dict[str, Any]:
        return summarize_trials(self.results(), self.mode.consistency if self.mode else None)

    def to_csv(self, path: str | Path | None = None) -> str:
        return save(self.frame().to_csv(index=False), path)

    def to_json(self, path: str | Path | None = None, *, include_history: bool = False) -> str:
        doc: dict[str, Any] = {
            "experiment": EXPERIMENT,
            "run_id": self.run_id,
            "state": self.state,
            "table": self.table,
            "regions": list(self.regions),
            "key": {"PK": self.config.pk, "SK": self.sk},
            "config": self.config.to_meta(),
            "mode": self.mode.to_dict() if self.mode else None,
            "error": self.error.to_dict() if self.error else None,
            "summary": jsonable(self.summary()),
            "trials": [r.to_dict() for r in self.results()],
        }
        if include_history:
            doc["history"] = self.history.to_dict()
        text = json.dumps(doc, indent=1, default=str)
        return save(text, path)

    # -- internals ----------------------------------------------------------------------------

    def _begin(self) -> None:
        self._spawn(self._main, "conflict-lab")

    def _main(self) -> None:
        try:
            if self.conn.target.read_only:
                raise ReadOnlyError(
                    "the conflict lab writes and this target is read-only",
                    hint="drop --read-only to run it", action="start conflict lab",
                )
            self.mode = read_mode_anywhere(self.conn, self.table, self.regions)
            self.history.meta["mode"] = self.mode.to_dict()
            ports = open_ports(self.conn, self.regions, self.table, self.config, self.sk,
                               self.api_timeout)
            for port in ports:
                with wrap("warm up the connection", port.region):
                    port.warm()
            self._workers = [_Worker(self, p, i) for i, p in enumerate(ports)]
            for w in self._workers:
                w.start()
            base = self._prepare(ports)
            for trial in range(self.config.trials):
                if self._cancel.is_set():
                    break
                base = self._trial(trial, ports, base)
                if self._fatal is not None:
                    raise self._fatal
                if self.config.settle:
                    self._cancel.wait(self.config.settle)
            if self.dedicated and self.config.path == "dynamodb":
                with wrap("delete the conflict item", ports[0].region):
                    ports[0].delete()
        except GtError as err:
            self.error = err
        except Exception as err:  # a bug must end the run visibly
            self.error = GtError(f"conflict lab crashed: {type(err).__name__}: {err}")
        finally:
            self._stopping = True
            self._barrier.abort()
            self._end("cancelled" if self._cancel.is_set() else "done")

    def _prepare(self, ports: list[Port]) -> tuple[Any, str | None, float]:
        """Create the dedicated item (or take the named one as it is) and wait until every
        replica holds the same value."""
        if self.dedicated:
            tag = f"{self.run_id}:init"
            with wrap("create the conflict item", ports[0].region):
                ports[0].put_initial(0, tag)
        agreed = self._converge(ports, trial=-1)
        if agreed is None:
            raise GtError(
                "the replicas did not agree on the item before the first trial",
                hint="check that replication works (lag probe) or raise the converge timeout",
                action="prepare conflict lab",
            )
        return agreed

    def _converge(
        self, ports: list[Port], trial: int
    ) -> tuple[Any, str | None, float] | None:
        """Read every replica until all agree: (value, tag, time) or None at the timeout."""
        deadline = time.monotonic() + self.config.converge_timeout
        self._last_by_region: dict[str, Any] = {}
        while True:
            seen = []
            for port in ports:
                inv = self.history.invoke(f"reader:{port.region}", "read", port.region, None,
                                          trial=trial)
                try:
                    value, tag = port.read()
                    done = self.history.ok(inv, {"value": value, "tag": tag})
                    seen.append((value, tag))
                    self._last_by_region[port.region] = value
                except Exception as err:  # a failed read only means "not agreed yet"
                    kind, mapped = classify(err, "read the conflict item", port.region)
                    done = self.history.complete(inv, kind, None, error=str(mapped))
                    seen.append(("<error>", str(mapped)))
                    self._last_by_region[port.region] = None
                    if is_fatal(mapped):
                        raise mapped from err
            if all(s == seen[0] for s in seen) and seen[0][0] != "<error>":
                return seen[0][0], seen[0][1], done.time
            if time.monotonic() >= deadline:
                return None
            time.sleep(self.config.poll_interval)

    def _amount(self, trial: int, index: int) -> int:
        """Set mode: a value distinct per region and trial; increment mode: the delta."""
        cfg = self.config
        if cfg.mode == "set":
            return (trial + 1) * 1000 + index + 1
        return cfg.amounts[index] if cfg.amounts else 1

    def _trial(
        self, trial: int, ports: list[Port], base: tuple[Any, str | None, float]
    ) -> tuple[Any, str | None, float]:
        cfg = self.config
        self.history.append("lab", "info", "trial-start", "", {
            "trial": trial, "base": base[0], "base_tag": base[1],
        })
        busy = [w.port.region for w in self._workers
                if w.job is not None and not w.job.finished.is_set()]
        jobs = []
        for i, w in enumerate(self._workers):
            amount = self._amount(trial, i)
            tag = f"{self.run_id}:{trial}:{w.port.region}" if self.tagged else None
            w.job = _Job(trial, amount, tag)
            jobs.append(w.job)
        try:
            # a writer still blocked in the previous trial's request cannot reach the barrier
            self._barrier.wait(timeout=cfg.write_timeout + 30.0)
        except threading.BrokenBarrierError:
            raise GtError(
                "a writer did not get back to the start line: its previous request never "
                "returned",
                hint="the region may be hanging; check it (status) and run the lab again",
                region=", ".join(busy) or None, action=f"start conflict trial {trial}",
            ) from None
        deadline = time.monotonic() + cfg.write_timeout + len(ports) * cfg.stagger_ms / 1000
        for job in jobs:
            job.finished.wait(max(0.0, deadline - time.monotonic()))
        agreed = self._converge(ports, trial)
        end = {
            "trial": trial,
            "converged": agreed is not None,
            "final": agreed[0] if agreed else None,
            "final_tag": agreed[1] if agreed else None,
            "agreed_at": agreed[2] if agreed else None,
            "by_region": dict(self._last_by_region),
        }
        self.history.append("lab", "info", "trial-end", "", end)
        # a write still in flight is judged as pending (its outcome unknown), as a re-check
        # of the history would
        pairs = [(job.invoked, job.done) for job in jobs if job.invoked is not None]
        result = judge_trial(trial, cfg.mode, {"base": base[0], "base_tag": base[1]}, end,
                             pairs, self.tagged)
        with self._lock:
            self._results.append(result)
        if agreed is None:
            # carry on from whatever the home region holds now; the trial is marked diverged
            return (self._last_by_region.get(ports[0].region), None, time.monotonic())
        return agreed
