"""The workshop's conflict, exactly: +1 in region A and −1 in region B at the same moment.

Through each region's regional API, on the demo bookmark, as the workshop's test harness does.
The run is recorded in a :class:`gtcore.history.History` in the conflict lab's format (one
trial), so the lab's own checker (`gtcore.experiments.conflict.check_history`) judges it and
names the winner and the lost write. (`ConflictConfig` writes the same amount in every region;
with per-region amounts this module could go, see NOTES-dashboard.md.) No Streamlit here.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

from gtcore.errors import ConfigError, GtError
from gtcore.experiments.conflict import TrialResult, check_history
from gtcore.experiments.outcome import classify
from gtcore.history import History
from gtcore.regional_client import RegionalApi

DEMO_AMOUNTS = (1, -1)


def _number(item: dict[str, Any] | None) -> Any:
    raw = (item or {}).get("Bookmark")
    if not isinstance(raw, dict) or "N" not in raw:
        return None
    value = Decimal(raw["N"])
    return int(value) if value == value.to_integral_value() else float(value)


def name_lost_writes(result: TrialResult) -> TrialResult:
    """Name the lost write of a +1/−1 trial (the lab's checker counts lost increments for
    equal amounts only, and names lost writes only when it knows what each write saw).

    Every write here reports the value it was based on (new minus its amount). Writes based on
    the same value did not see each other; the converged value is the winner's result, so every
    other acknowledged write based on that value vanished.
    """
    acked = [w for w in result.writes if w.status == "ok" and w.old_known]
    if not (result.converged and result.winner and acked):
        return result
    winner = next(w for w in result.writes if w.region == result.winner)
    result.lost = [w.region for w in acked if w is not winner and w.old == winner.old]
    result.lost_increments = None  # meaningless when the amounts differ
    return result


class PlusMinusDemo:
    """One trial: read until the regions agree, write +1 in A and −1 in B at once, read until
    they agree again, judge. `start()` runs it in a thread; poll `state`, `result`, `error`."""

    def __init__(self, apis: dict[str, RegionalApi], regions: tuple[str, str], pk: str, sk: str,
                 *, converge_timeout: float = 15.0, poll_interval: float = 0.02) -> None:
        if len(set(regions)) != 2:
            raise ConfigError("the demo needs two different regions")
        missing = [r for r in regions if r not in apis]
        if missing:
            raise ConfigError(f"no regional API for {', '.join(missing)}",
                              hint="run Setup so every region has its API")
        self.regions = regions
        self.apis = {r: apis[r] for r in regions}
        self.pk, self.sk = pk, sk
        self.converge_timeout = converge_timeout
        self.poll_interval = poll_interval
        self.history = History(meta={
            "experiment": "conflict", "regions": list(regions), "tagged": False,
            "key": {"PK": pk, "SK": sk}, "config": {"mode": "increment", "path": "api",
                                                     "amounts": list(DEMO_AMOUNTS)},
        })
        self.state = "idle"
        self.result: TrialResult | None = None
        self.error: GtError | None = None
        self._done = threading.Event()
        self._barrier = threading.Barrier(len(regions))

    def start(self) -> PlusMinusDemo:
        self.state = "running"
        threading.Thread(target=self._main, name="plus-minus-demo", daemon=True).start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def results(self) -> list[TrialResult]:
        return [self.result] if self.result is not None else []

    # -- the run ---------------------------------------------------------------------------

    def _read_all(self, trial: int) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for region, api in self.apis.items():
            inv = self.history.invoke(f"reader:{region}", "read", region, None, trial=trial)
            try:
                value = _number(api.get(self.pk, self.sk, consistent=True).body.get("Item"))
                self.history.ok(inv, {"value": value, "tag": None})
                seen[region] = value
            except GtError as err:
                kind, mapped = classify(err, "read the bookmark", region)
                self.history.complete(inv, kind, None, error=str(mapped))
                seen[region] = GtError  # a marker: not an agreement
        return seen

    def _converge(self, trial: int) -> tuple[Any, float] | None:
        deadline = time.monotonic() + self.converge_timeout
        while True:
            seen = self._read_all(trial)
            values = list(seen.values())
            if values[0] is not GtError and all(v == values[0] for v in values):
                return values[0], time.monotonic()
            if time.monotonic() >= deadline:
                self._last_seen = seen
                return None
            time.sleep(self.poll_interval)

    def _write(self, region: str, amount: int) -> None:
        api = self.apis[region]
        try:
            self._barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            return
        inv = self.history.invoke(f"writer:{region}", "increment", region, amount, trial=0)
        try:
            new = _number(api.increment(self.pk, self.sk, amount).body.get("Attributes"))
            old = new - amount if isinstance(new, int | float) else None
            self.history.ok(inv, {"old": old, "new": new, "old_known": old is not None})
        except GtError as err:
            kind, mapped = classify(err, "write the bookmark", region)
            self.history.complete(inv, kind, None, error=str(mapped))

    def _main(self) -> None:
        try:
            before = self._converge(-1)
            if before is None:
                raise GtError("the regions do not agree on the bookmark yet",
                              hint="wait a moment (replication) and try again",
                              action="prepare the conflict demo")
            if not isinstance(before[0], int | float):
                raise GtError("the demo bookmark has no number to add to",
                              hint="set it on Replicas live (Set) or run Setup",
                              action="prepare the conflict demo")
            self.history.append("lab", "info", "trial-start", "",
                                {"trial": 0, "base": before[0], "base_tag": None})
            writers = [threading.Thread(target=self._write, args=(r, a), daemon=True)
                       for r, a in zip(self.regions, DEMO_AMOUNTS, strict=True)]
            for w in writers:
                w.start()
            for w in writers:
                w.join(timeout=15)
            after = self._converge(0)
            by_region = self._last_seen if after is None else dict.fromkeys(self.regions,
                                                                            after[0])
            self.history.append("lab", "info", "trial-end", "", {
                "trial": 0, "converged": after is not None,
                "final": after[0] if after else None, "final_tag": None,
                "agreed_at": after[1] if after else None,
                "by_region": {r: (None if v is GtError else v) for r, v in by_region.items()},
            })
            self.result = name_lost_writes(check_history(self.history)[0])
            self.state = "done"
        except GtError as err:
            self.error = err
            self.state = "failed"
        finally:
            self._done.set()
