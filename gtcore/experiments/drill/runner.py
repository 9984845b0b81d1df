"""Failover drill run: the player's ticks, failover and failback, the final re-reads.

See :mod:`gtcore.experiments.drill` for what the drill does and :mod:`.checker` for the verdict.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gtcore.background import BackgroundRun
from gtcore.consistency import TableMode, read_mode_anywhere
from gtcore.errors import ConfigError, GtError, ReadOnlyError
from gtcore.experiments.drill.checker import DrillVerdict, check_drill, holds_expected
from gtcore.experiments.drill.config import EXPERIMENT, DrillConfig
from gtcore.experiments.export import save
from gtcore.experiments.outcome import classify
from gtcore.history import History

if TYPE_CHECKING:
    import pandas as pd

    from gtcore.target import Connection


@dataclass(frozen=True)
class RegionView:
    """What the player last read from one region."""

    region: str
    value: str | None
    ok: bool
    error: str | None
    latency_ms: float | None
    read_wall: float | None


@dataclass(frozen=True)
class LogEntry:
    wall: float
    kind: str  # write / failover / failback / health / info
    region: str
    message: str
    ok: bool = True


@dataclass(frozen=True)
class DrillState:
    """A snapshot for the dashboard's live view."""

    phase: str  # idle / running / converging / done / failed
    home: str
    active: str
    tick: int
    elapsed_s: float
    consecutive_failures: int
    last_written: str | None
    last_acked: str | None
    last_acked_region: str | None
    write_latency_ms: float | None
    db_latency_ms: float | None
    regions: dict[str, RegionView]
    failovers: int
    rto_ms: list[float]
    log: list[LogEntry]
    verdict: DrillVerdict | None
    error: str | None



class FailoverDrill(BackgroundRun):
    """A running drill: ``start()``, poll ``state()``, ``stop()`` (or set ``duration``), then
    ``wait()`` for the verdict.  ``run(seconds)`` does it all synchronously."""

    what = "drill"
    state_meta_key = "phase"

    def __init__(
        self,
        conn: Connection,
        config: DrillConfig | None = None,
        *,
        history: History | None = None,
        api_factory: Callable[[str, float], Any] | None = None,
    ) -> None:
        super().__init__(history)
        self.conn = conn
        self.config = config or DrillConfig()
        self.regions = self.config.regions or conn.target.regions
        if not self.regions:
            raise ConfigError("the drill needs at least one region")
        self.home = self.regions[0]
        self.thumb = self.config.thumb or _catalog_thumb(self.config.video)
        self._api_factory = api_factory or self._default_api
        self.history.meta.update({
            "experiment": EXPERIMENT,
            "table": conn.target.table,
            "regions": list(self.regions),
            "config": self.config.to_meta(),
        })
        self._active = self.home
        self._tick = 0
        self._failures = 0
        self._healthy_streak = 0
        self._last_written: str | None = None
        self._last_acked: str | None = None
        self._last_acked_region: str | None = None
        self._write_latency: float | None = None
        self._db_latency: float | None = None
        self._views: dict[str, RegionView] = {
            r: RegionView(r, None, False, None, None, None) for r in self.regions
        }
        self._log: deque[LogEntry] = deque(maxlen=200)
        self._outage_started: float | None = None
        self._rto: list[float] = []
        self._switches = 0
        self._want_failback = False
        self._want_failover: str | None = None
        self.verdict: DrillVerdict | None = None
        self.mode: TableMode | None = None  # the table's consistency mode, from DescribeTable
        self._apis: dict[str, Any] = {}
        self._pool: ThreadPoolExecutor | None = None

    # -- public API ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop watching; the drill then converges and judges in the background."""
        self.cancel()

    def run(self, seconds: float) -> DrillVerdict:
        """Watch for ``seconds``, stop, converge and return the verdict."""
        self._run_to_end(seconds)
        assert self.verdict is not None
        return self.verdict

    def request_failback(self) -> None:
        """Go back to the home region at the next tick."""
        self._want_failback = True

    def request_failover(self, region: str | None = None) -> None:
        """Switch to ``region`` (or the next healthy one) at the next tick, as the workshop's
        region buttons do."""
        if region is not None and region not in self.regions:
            raise ConfigError(f"{region} is not one of the drill's regions {self.regions}")
        self._want_failover = region or ""

    @property
    def phase(self) -> str:
        return self._state

    @property
    def active(self) -> str:
        return self._active

    def state(self) -> DrillState:
        with self._lock:
            return DrillState(
                phase=self._state,
                home=self.home,
                active=self._active,
                tick=self._tick,
                elapsed_s=self._elapsed_s(),
                consecutive_failures=self._failures,
                last_written=self._last_written,
                last_acked=self._last_acked,
                last_acked_region=self._last_acked_region,
                write_latency_ms=self._write_latency,
                db_latency_ms=self._db_latency,
                regions=dict(self._views),
                failovers=self._switches,
                rto_ms=list(self._rto),
                log=list(self._log),
                verdict=self.verdict,
                error=str(self.error) if self.error else None,
            )

    def frame(self) -> pd.DataFrame:
        """The history as a table (one row per op)."""
        return self.history.to_frame()

    def to_json(self, path: str | Path | None = None) -> str:
        doc = {
            "experiment": EXPERIMENT,
            "phase": self._state,
            "config": self.config.to_meta(),
            "regions": list(self.regions),
            "mode": self.mode.to_dict() if self.mode else None,
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "error": self.error.to_dict() if self.error else None,
            "history": self.history.to_dict(),
        }
        text = json.dumps(doc, indent=1, default=str)
        return save(text, path)

    # -- internals ----------------------------------------------------------------------------

    def _begin(self) -> None:
        if self.conn.target.read_only:
            self._refuse(ReadOnlyError(
                "the drill writes bookmarks and this target is read-only",
                hint="drop --read-only to run the drill", action="start failover drill",
            ))
            return
        try:
            self._apis = {r: self._api_factory(r, self.config.api_timeout) for r in self.regions}
        except GtError as err:
            self._refuse(err)
            return
        self._clock_start()
        self._pool = ThreadPoolExecutor(max_workers=len(self.regions),
                                        thread_name_prefix="drill-read")
        self._spawn(self._main, "failover-drill")

    def _default_api(self, region: str, timeout: float) -> Any:
        from gtcore.regional_client import RegionalApi

        url = self.conn.api_base_url(region)
        if not url:
            raise ConfigError(
                f"no regional API known for {region}",
                hint="deploy it with `python -m setup up --deploy-api`", region=region,
            )
        return RegionalApi(url, timeout=timeout, region=region)

    def _note(self, kind: str, region: str, message: str, ok: bool = True) -> None:
        self._log.append(LogEntry(time.time(), kind, region, message, ok))

    def _main(self) -> None:
        cfg = self.config
        try:
            self.history.append("drill", "info", "start", self.home,
                                {"home": self.home, "regions": list(self.regions)})
            try:
                self.mode = read_mode_anywhere(self.conn, self.conn.target.table, self.regions)
                self.history.meta["mode"] = self.mode.to_dict()
            except Exception as err:  # the drill runs on; its verdict just cannot name the mode
                self._note("info", self.home, f"consistency mode unknown: {err}", ok=False)
            self._note("info", self.home, f"watching {cfg.user}/{cfg.video} from {self.home}")
            next_tick = time.monotonic()
            while not self._cancel.is_set():
                if cfg.duration is not None and time.monotonic() - self._started >= cfg.duration:
                    break
                switched = self._one_tick()
                next_tick += cfg.interval
                now = time.monotonic()
                if next_tick < now or switched:
                    # running late: no burst to catch up; after a failover write at once
                    next_tick = now
                self._cancel.wait(next_tick - now)
            with self._lock:
                self._state = "converging"
            self._converge()
            self.verdict = check_drill(self.history)
            self._note("info", self._active, self.verdict.describe(), self.verdict.passed)
        except Exception as err:  # a bug must end the drill visibly
            self.error = err if isinstance(err, GtError) else GtError(
                f"drill crashed: {type(err).__name__}: {err}")
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._end("done")

    def _one_tick(self) -> bool:
        """One write and a read of every region; True when it failed over."""
        cfg = self.config
        self._handle_requests()
        with self._lock:
            self._tick += 1
            tick = self._tick
        value = f"{tick * cfg.interval / cfg.video_seconds:.6f}"
        region = self._active
        self._last_written = value
        inv = self.history.invoke("player", "write", region, value, tick=tick)
        try:
            reply = self._apis[region].set_bookmark(cfg.user, cfg.video, value, self.thumb)
            done = self.history.ok(inv, value, rtt_ms=reply.rtt_ms,
                                   db_latency_ms=reply.db_latency_ms)
            ok = True
        except Exception as err:  # recorded; enough of them in a row trigger a failover
            kind, mapped = classify(err, "write bookmark", region)
            done = self.history.complete(inv, kind, None, error=str(mapped))
            ok = False
        with self._lock:
            if ok:
                self._write_latency = reply.rtt_ms
                self._db_latency = reply.db_latency_ms
                self._last_acked, self._last_acked_region = value, region
                if self._outage_started is not None:
                    self._rto.append((done.time - self._outage_started) * 1000.0)
                    self._outage_started = None
                self._failures = 0
            else:
                self._failures += 1
                if self._outage_started is None:
                    self._outage_started = inv.time
        if ok:
            self._note("write", region, f"bookmark {value} -> {region} "
                       f"({reply.rtt_ms:.0f} ms)")
        else:
            self._note("write", region, f"bookmark {value} -> {region} failed: "
                       f"{done.extra.get('error')}", ok=False)
        self._read_all(tick)
        if not ok and self._failures >= cfg.fail_after:
            return self._fail_over(f"{self._failures} failed writes in a row")
        if (ok and self._active != self.home and cfg.auto_failback
                and tick % cfg.health_every == 0):
            self._check_home()
        return False

    def _handle_requests(self) -> None:
        if self._want_failback:
            self._want_failback = False
            if self._active != self.home:
                self._switch(self.home, "failback", "asked to fail back")
        if self._want_failover is not None:
            target, self._want_failover = self._want_failover, None
            if target:
                if target != self._active:
                    self._switch(target, "failover", "asked to switch")
            else:
                self._fail_over("asked to fail over")

    def _read_all(self, tick: int) -> None:
        assert self._pool is not None
        futures = {r: self._pool.submit(self._read_one, r, tick, "read") for r in self.regions}
        for region, future in futures.items():
            try:
                view = future.result(timeout=self.config.api_timeout + 2.0)
            except Exception as err:  # a stuck read: show it as failed, go on
                view = RegionView(region, None, False, f"no answer: {err}", None, time.time())
            with self._lock:
                self._views[region] = view

    def _read_one(self, region: str, tick: int, f: str) -> RegionView:
        cfg = self.config
        # a process per request: a read that timed out must not block the next one
        inv = self.history.invoke(f"{f}:{region}:{tick}", f, region, None, tick=tick)
        try:
            reply = self._apis[region].get(cfg.user, cfg.video, consistent=True)
            item = reply.body.get("Item") or {}
            value = (item.get("bookmark") or {}).get("S")
            self.history.ok(inv, value, rtt_ms=reply.rtt_ms)
            return RegionView(region, value, True, None, reply.rtt_ms, time.time())
        except Exception as err:  # recorded as a failed read
            kind, mapped = classify(err, "read bookmark", region)
            self.history.complete(inv, kind, None, error=str(mapped))
            return RegionView(region, None, False, str(mapped), None, time.time())

    def _healthy(self, region: str) -> bool:
        inv = self.history.invoke(f"health:{region}", "health", region, None)
        try:
            self._apis[region].health()
            self.history.ok(inv, "ok")
            return True
        except Exception as err:  # unhealthy
            kind, mapped = classify(err, "health check", region)
            self.history.complete(inv, kind, None, error=str(mapped))
            return False

    def _fail_over(self, reason: str) -> bool:
        start = self.regions.index(self._active)
        candidates = [self.regions[(start + k) % len(self.regions)]
                      for k in range(1, len(self.regions))]
        for region in candidates:
            if self._healthy(region):
                self._switch(region, "failover", reason)
                return True
        self._note("failover", self._active, f"{reason}, but no other region is healthy; "
                   "staying", ok=False)
        with self._lock:
            self._failures = 0  # try the next round of failures before checking again
        return False

    def _check_home(self) -> None:
        if self._healthy(self.home):
            self._healthy_streak += 1
            if self._healthy_streak >= self.config.healthy_needed:
                self._switch(self.home, "failback", "home region healthy again")
        else:
            self._healthy_streak = 0

    def _switch(self, region: str, kind: str, reason: str) -> None:
        previous = self._active
        # where the player resumes: what the new region holds as it takes over (a strongly
        # consistent read); the checker compares it with the last acknowledged bookmark
        resumed = self._read_one(region, self._tick, "resume-read")
        self.history.append("drill", "info", kind, region,
                            {"from": previous, "to": region, "reason": reason,
                             "resumed": resumed.value if resumed.ok else None})
        with self._lock:
            self._active = region
            self._failures = 0
            self._healthy_streak = 0
            self._switches += 1
        self._note(kind, region, f"{kind} {previous} -> {region}: {reason}")

    def _converge(self) -> None:
        """Re-read every region until all hold the bookmark the checker expects (the last
        acknowledged one, or a later write whose outcome is unknown), or the timeout."""
        deadline = time.monotonic() + self.config.converge_timeout
        views: dict[str, RegionView] = {}
        rounds = 0
        while True:
            rounds += 1
            views = {r: self._read_one(r, -rounds, "final-read") for r in self.regions}
            with self._lock:
                self._views.update(views)
            if all(v.ok for v in views.values()) and holds_expected(self.history, [v.value for v in views.values()]):
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(min(0.1, self.config.interval))
        values = {v.value for v in views.values()}
        agreed = all(v.ok for v in views.values()) and len(values) == 1
        self.history.append("drill", "info", "converged", "", {
            "agreed": agreed, "by_region": {r: v.value for r, v in views.items()},
            "errors": {r: v.error for r, v in views.items() if not v.ok},
        })
        self._note("info", "", "replicas agree" if agreed else
                   "replicas still disagree at the timeout", agreed)


def _catalog_thumb(video: str) -> str:
    """The thumbnail the player would send for ``video`` (the sample catalog's), or a
    placeholder when the video is not in it."""
    try:
        from gtcore.workshop import catalog

        for entry in catalog():
            if entry.get("sk") == video and entry.get("thumb"):
                return entry["thumb"]
    except Exception:  # no catalog to hand: any non-empty thumb will do
        pass
    return "drill.svg"

