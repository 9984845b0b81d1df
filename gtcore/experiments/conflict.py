"""Conflict lab: write the same item in several regions at once and see who wins.

One trial: every region's writer thread (its own pre-warmed connection: a throwaway read first)
waits at a barrier; the barrier releases them together, so the writes start within a few
milliseconds of each other (the spread of their send times, the *start skew*, is measured and
reported).  Then the lab reads every replica until they all agree (or reports a divergence at
the timeout) and the checker judges the trial from the history alone:

* **conflict** - two acknowledged writes where neither saw the other (each write returns the
  item it replaced, so the lab knows what every write was based on);
* **winner** - the write whose image every replica converged to;
* **lost writes** - acknowledged writes that are neither the winner nor something the winner
  was based on: they vanished without an error;
* **last writer wins?** - the winner must be a latest write: no acknowledged write that saw it,
  and no concurrent write that was sent after the winner was acknowledged.  When the winner's
  request overlapped another concurrent write's request, the client cannot tell which was
  applied later: that is a *tie within the skew*, consistent with last-writer-wins.  Set
  ``stagger_ms`` to start region *i* ``i * stagger_ms`` after the release: the writes still
  conflict (when the stagger is well under the replication lag) but their order is known.

Two modes.  ``set`` writes a distinct absolute value per region (``Bookmark = 25``): a conflict
loses a write but leaves a state one writer produced.  ``increment`` runs ``Bookmark = Bookmark +
1`` everywhere: after a conflict the converged value is less than the start plus the number of
acknowledged increments - lost updates - which is why the workshop advises absolute values.

Two paths.  ``dynamodb`` (default) writes with UpdateItem and ``ReturnValues=ALL_OLD`` and tags
each write with a writer id attribute (``gtWriter``), so conflicts and winners are exact.
``api`` goes through each region's regional API (``/set`` and ``/update`` routes, as the
dashboard's guided demo on ``user100``/``AshlandValley`` does); that API returns only the new
value, so in ``set`` mode the lab cannot tell a conflict from two quick writes (``conflict`` is
then ``None``); in ``increment`` mode the old value is the new one minus the increment.
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from gtcore.errors import ConfigError, GtError, ReadOnlyError, wrap
from gtcore.experiments.background import BackgroundRun
from gtcore.experiments.outcome import classify, is_fatal
from gtcore.history import History, Op, jsonable

if TYPE_CHECKING:
    import pandas as pd

    from gtcore.target import Connection

__all__ = [
    "CONFLICT_PK",
    "ConflictConfig",
    "ConflictLab",
    "ConflictProgress",
    "TrialResult",
    "WriteOutcome",
    "check_history",
    "summarize_trials",
    "trials_frame",
]

CONFLICT_PK = "__gtconflict__"
EXPERIMENT = "conflict"
Mode = Literal["set", "increment"]
Path_ = Literal["dynamodb", "api"]


@dataclass(frozen=True)
class ConflictConfig:
    """A batch of conflict trials.

    ``regions``: the writers (at least two); empty means every region of the target.
    ``pk``/``sk``: the item; by default a dedicated ``__gtconflict__`` item per run.
    ``amounts``: increment mode only, what each region adds (in region order), e.g. ``(1, -1)``
    for the workshop's "+ in one region, - in the other"; empty means 1 everywhere.
    """

    regions: tuple[str, ...] = ()
    trials: int = 10
    mode: Mode = "set"
    amounts: tuple[int, ...] = ()
    path: Path_ = "dynamodb"
    pk: str = CONFLICT_PK
    sk: str | None = None
    attribute: str = "Bookmark"
    tag_attribute: str | None = "gtWriter"
    stagger_ms: float = 0.0
    converge_timeout: float = 15.0
    poll_interval: float = 0.02
    write_timeout: float = 10.0
    settle: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(dict.fromkeys(self.regions)))
        object.__setattr__(self, "amounts", tuple(self.amounts))
        if self.amounts and self.mode != "increment":
            raise ConfigError("per-region amounts are for increment mode",
                              hint="set mode writes a distinct value per region by itself")
        if any(isinstance(a, bool) or not isinstance(a, int) or a == 0 for a in self.amounts):
            raise ConfigError(f"amounts must be non-zero integers, got {self.amounts}")
        if self.amounts and self.regions and len(self.amounts) != len(self.regions):
            raise ConfigError(f"{len(self.amounts)} amounts for {len(self.regions)} regions")
        if self.regions and len(self.regions) < 2:
            raise ConfigError("a conflict needs writers in at least two regions")
        checks = [
            (self.trials >= 1, "trials must be at least 1"),
            (self.mode in ("set", "increment"), "mode must be 'set' or 'increment'"),
            (self.path in ("dynamodb", "api"), "path must be 'dynamodb' or 'api'"),
            (bool(self.pk), "pk must not be empty"),
            (self.sk is None or bool(self.sk), "sk must not be empty"),
            (0 <= self.stagger_ms <= 10_000, "stagger_ms must be 0..10000"),
            (self.converge_timeout > 0, "converge_timeout must be positive"),
            (self.poll_interval > 0, "poll_interval must be positive"),
            (self.write_timeout > 0, "write_timeout must be positive"),
            (self.settle >= 0, "settle must not be negative"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if self.path == "api" and self.attribute != "Bookmark":
            raise ConfigError("the regional API only writes the Bookmark attribute")

    def to_meta(self) -> dict[str, Any]:
        data = asdict(self)
        data["regions"] = list(self.regions)
        data["amounts"] = list(self.amounts)
        return data


# --- one region's way in ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Wrote:
    old: Any
    old_tag: str | None
    new: Any
    old_known: bool = True


class _Port(Protocol):
    region: str

    def warm(self) -> None: ...

    def write(self, mode: Mode, amount: int, tag: str | None) -> _Wrote: ...

    def read(self) -> tuple[Any, str | None]: ...


def _number(attr: dict[str, Any] | None) -> Any:
    if not attr:
        return None
    if "N" in attr:
        value = Decimal(attr["N"])
        return int(value) if value == value.to_integral_value() else float(value)
    if "S" in attr:
        return attr["S"]
    return jsonable(attr)


def _string(attr: dict[str, Any] | None) -> str | None:
    return attr.get("S") if attr else None


class _DynamoPort:
    def __init__(self, conn: Connection, region: str, table: str, cfg: ConflictConfig,
                 sk: str) -> None:
        self.region = region
        self.table = table
        self.cfg = cfg
        self.client = conn.client("dynamodb", region)
        self.key = {"PK": {"S": cfg.pk}, "SK": {"S": sk}}

    def warm(self) -> None:
        self.read()

    def write(self, mode: Mode, amount: int, tag: str | None) -> _Wrote:
        names = {"#a": self.cfg.attribute}
        values: dict[str, Any] = {":v": {"N": str(amount)}}
        expr = "SET #a = :v" if mode == "set" else "SET #a = if_not_exists(#a, :z) + :v"
        if mode == "increment":
            values[":z"] = {"N": "0"}
        if self.cfg.tag_attribute and tag is not None:
            names["#t"] = self.cfg.tag_attribute
            values[":t"] = {"S": tag}
            expr += ", #t = :t"
        resp = self.client.update_item(
            TableName=self.table, Key=self.key, UpdateExpression=expr,
            ExpressionAttributeNames=names, ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
        old_item = resp.get("Attributes") or {}
        old = _number(old_item.get(self.cfg.attribute))
        old_tag = _string(old_item.get(self.cfg.tag_attribute)) if self.cfg.tag_attribute else None
        new = amount if mode == "set" else (old or 0) + amount
        return _Wrote(old, old_tag, new)

    def read(self) -> tuple[Any, str | None]:
        names = {"#a": self.cfg.attribute}
        projection = "#a"
        if self.cfg.tag_attribute:
            names["#t"] = self.cfg.tag_attribute
            projection += ", #t"
        resp = self.client.get_item(
            TableName=self.table, Key=self.key, ConsistentRead=True,
            ProjectionExpression=projection, ExpressionAttributeNames=names,
        )
        item = resp.get("Item") or {}
        tag = _string(item.get(self.cfg.tag_attribute)) if self.cfg.tag_attribute else None
        return _number(item.get(self.cfg.attribute)), tag

    def put_initial(self, value: int, tag: str | None) -> None:
        item = {**self.key, self.cfg.attribute: {"N": str(value)}}
        if self.cfg.tag_attribute and tag is not None:
            item[self.cfg.tag_attribute] = {"S": tag}
        self.client.put_item(TableName=self.table, Item=item)

    def delete(self) -> None:
        self.client.delete_item(TableName=self.table, Key=self.key)


class _ApiPort:
    def __init__(self, conn: Connection, region: str, cfg: ConflictConfig, sk: str,
                 timeout: float) -> None:
        from gtcore.regional_client import RegionalApi

        url = conn.api_base_url(region)
        if not url:
            raise ConfigError(
                f"no regional API known for {region}",
                hint="deploy it (`python -m setup up`) or use the dynamodb path",
                region=region,
            )
        self.region = region
        self.api = RegionalApi(url, timeout=timeout, region=region)
        self.pk, self.sk = cfg.pk, sk

    def warm(self) -> None:
        self.api.ping()

    def write(self, mode: Mode, amount: int, tag: str | None) -> _Wrote:
        if mode == "set":
            reply = self.api.set_value(self.pk, self.sk, amount)
        else:
            reply = self.api.increment(self.pk, self.sk, amount)
        new = _number((reply.body.get("Attributes") or {}).get("Bookmark"))
        if mode == "increment" and isinstance(new, int | float):
            return _Wrote(new - amount, None, new)
        return _Wrote(None, None, new, old_known=False)

    def read(self) -> tuple[Any, str | None]:
        reply = self.api.get(self.pk, self.sk, consistent=True)
        item = reply.body.get("Item") or {}
        return _number(item.get("Bookmark")), None

    def put_initial(self, value: int, tag: str | None) -> None:
        self.api.set_value(self.pk, self.sk, value)

    def delete(self) -> None:  # the API has no delete route; the item stays
        return None


# --- the checker -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteOutcome:
    region: str
    amount: int
    tag: str | None
    status: str  # ok / fail / info / pending
    sent: float  # monotonic seconds
    acked: float | None
    old: Any = None
    old_tag: str | None = None
    new: Any = None
    old_known: bool = False
    error: str | None = None
    offset_ms: float = 0.0  # deliberate delay after the release (stagger)

    def overlaps(self, other: WriteOutcome) -> bool:
        """Their requests overlapped in time: which was applied first is unknowable."""
        if self.acked is None or other.acked is None:
            return True
        return self.sent <= other.acked and other.sent <= self.acked


@dataclass
class TrialResult:
    trial: int
    mode: str
    base: Any
    base_tag: str | None
    writes: list[WriteOutcome]
    converged: bool
    final: Any
    final_tag: str | None
    final_by_region: dict[str, Any]
    start_skew_ms: float
    convergence_ms: float
    conflict: bool | None
    concurrent: list[tuple[str, str]] = field(default_factory=list)
    winner: str | None = None
    winner_candidates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    lost_increments: int | None = None  # increment mode: acknowledged increments lost
    lost_amount: float | None = None  # increment mode: sum acked - (final - base)
    lww: str = "unknown"  # ok / tie / violation / unknown
    notes: list[str] = field(default_factory=list)

    @property
    def acked(self) -> int:
        return sum(1 for w in self.writes if w.status == "ok")

    @property
    def verdict(self) -> str:
        if not self.converged:
            return "diverged"
        if self.lww == "violation":
            return "lww-violation"
        if self.mode == "increment" and self.lost_increments:
            return "lost-updates"
        if self.lost:
            return "lost-writes"
        return "ok"

    def to_row(self) -> dict[str, Any]:
        return {
            "trial": self.trial,
            "mode": self.mode,
            "regions": ",".join(w.region for w in self.writes),
            "acked": self.acked,
            "conflict": self.conflict,
            "winner": self.winner,
            "lost": ",".join(self.lost),
            "lost_writes": len(self.lost),
            "lost_increments": self.lost_increments,
            "lost_amount": self.lost_amount,
            "base": self.base,
            "final": self.final,
            "converged": self.converged,
            "lww": self.lww,
            "verdict": self.verdict,
            "start_skew_ms": self.start_skew_ms,
            "convergence_ms": self.convergence_ms,
            "notes": "; ".join(self.notes),
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        data["acked"] = self.acked
        return jsonable(data)


def _writes_of(pairs: Sequence[tuple[Op, Op | None]]) -> list[WriteOutcome]:
    out = []
    for inv, done in pairs:
        if inv.f not in ("set", "increment"):
            continue
        result = done.value if done is not None and isinstance(done.value, dict) else {}
        out.append(WriteOutcome(
            region=inv.region,
            amount=int(inv.value),
            tag=inv.extra.get("tag"),
            status=done.type if done is not None else "pending",
            sent=inv.time,
            acked=done.time if done is not None and done.type == "ok" else None,
            old=result.get("old"),
            old_tag=result.get("old_tag"),
            new=result.get("new"),
            old_known=bool(result.get("old_known", False)),
            error=done.extra.get("error") if done is not None else None,
            offset_ms=float(inv.extra.get("offset_ms", 0.0)),
        ))
    out.sort(key=lambda w: (w.sent, w.region))
    return out


def judge_trial(
    trial: int, mode: str, start: dict[str, Any], end: dict[str, Any] | None,
    pairs: Sequence[tuple[Op, Op | None]], tagged: bool,
) -> TrialResult:
    """Judge one trial from its ops (see the module docstring)."""
    writes = _writes_of(pairs)
    base, base_tag = start.get("base"), start.get("base_tag")
    end = end or {}
    converged = bool(end.get("converged"))
    final, final_tag = end.get("final"), end.get("final_tag")
    sends = [w.sent - w.offset_ms / 1000.0 for w in writes]  # skew net of any stagger
    acks = [w.acked for w in writes if w.acked is not None]
    skew = (max(sends) - min(sends)) * 1000.0 if len(sends) > 1 else 0.0
    agreed_at = end.get("agreed_at")
    convergence = (agreed_at - max(acks)) * 1000.0 if converged and acks and agreed_at else math.nan
    result = TrialResult(
        trial=trial, mode=mode, base=base, base_tag=base_tag, writes=writes,
        converged=converged, final=final, final_tag=final_tag,
        final_by_region=dict(end.get("by_region") or {}), start_skew_ms=skew,
        convergence_ms=convergence, conflict=None,
    )
    acked = [w for w in writes if w.status == "ok"]
    maybe = [w for w in writes if w.status in ("ok", "info", "pending")]

    # what each acknowledged write was based on: its (direct) predecessor among this trial's
    # writes, or None when it was based on the state before the trial
    pred = _predecessors(acked, maybe, mode, tagged, base) if acked and all(
        w.old_known for w in acked) else None
    anc: dict[str, set[str]] = {}
    if pred is not None:
        anc = {w.region: _ancestors(w, pred) for w in acked}
        result.concurrent = [
            (a.region, b.region)
            for i, a in enumerate(acked) for b in acked[i + 1:]
            if a.region not in anc[b.region] and b.region not in anc[a.region]
        ]
        result.conflict = bool(result.concurrent)
    elif acked and all(w.old_known for w in acked):
        # equal increments through an untagged path: who saw whom is ambiguous, but two
        # writes based on the same value did not see each other
        olds = [w.old for w in acked]
        result.conflict = len(set(map(repr, olds))) < len(olds)
    elif acked:
        result.notes.append("old values unknown (regional API): conflicts cannot be told apart")

    if mode == "increment" and converged and isinstance(final, int | float) and acked:
        result.lost_amount = sum(w.amount for w in acked) - (final - (base or 0))
        if any(w.status in ("info", "pending") for w in writes):
            result.notes.append("some writes have unknown outcomes; lost count may be off")

    if not converged:
        result.notes.append("replicas still disagreed at the timeout")
        return result

    # the winner: the write every replica converged to
    if tagged:
        candidates = [w for w in maybe if final_tag is not None and w.tag == final_tag]
    elif mode == "set":
        candidates = [w for w in maybe if w.amount == final]
    else:
        candidates = [w for w in maybe if w.new is not None and w.new == final]
    if tagged and final_tag == base_tag and not candidates:
        result.notes.append("no write took effect")
        result.lost = [w.region for w in acked]
        result.lost_increments = len(acked) if mode == "increment" else None
        return result
    result.winner_candidates = [w.region for w in candidates]
    if len(candidates) == 1:
        result.winner = candidates[0].region
    elif not candidates:
        result.notes.append("the converged value matches no write of this trial")
        result.lww = "violation"
        return result

    # lost: acknowledged writes outside the winner's history (named only when that is
    # certain: outside the history of every candidate winner)
    if pred is not None:
        chains = [{c.region} | anc.get(c.region, set()) for c in candidates]
        result.lost = [w.region for w in acked if not any(w.region in ch for ch in chains)]
        if mode == "increment":
            result.lost_increments = len(acked) - len(chains[0] & {w.region for w in acked})
    elif mode == "increment" and len({w.amount for w in acked}) == 1 and acked[0].amount:
        in_final = (final - (base or 0)) / acked[0].amount
        result.lost_increments = int(round(len(acked) - in_final))

    # last writer wins?
    verdicts = []
    for c in candidates:
        later = [w for w in acked if w is not c and c.region in anc.get(w.region, set())]
        concurrent = [w for w in acked if w is not c and w.region not in anc.get(c.region, set())
                      and c.region not in anc.get(w.region, set())]
        if later or any(c.acked is not None and w.sent > c.acked for w in concurrent):
            verdicts.append("violation")
        elif any(w.overlaps(c) for w in concurrent):
            verdicts.append("tie")
        else:
            verdicts.append("ok")
    result.lww = "ok" if "ok" in verdicts else ("tie" if "tie" in verdicts else "violation")
    return result


def _predecessors(
    acked: list[WriteOutcome], maybe: list[WriteOutcome], mode: str, tagged: bool, base: Any,
) -> dict[str, WriteOutcome | None] | None:
    """Each acknowledged write's direct predecessor in this trial (None: the state before the
    trial), or None when that cannot be told (equal increments without writer tags)."""
    pred: dict[str, WriteOutcome | None] = {}
    for w in acked:
        # w can only have seen writes that were sent before w was acknowledged
        seeable = [x for x in maybe if x is not w and w.acked is not None and x.sent < w.acked]
        if tagged:
            found = [x for x in seeable if x.tag is not None and x.tag == w.old_tag]
        elif mode == "set":
            found = [x for x in seeable if x.amount == w.old]
        else:
            found = [x for x in seeable if x.new is not None and x.new == w.old]
            if w.old == base and found:
                return None  # based on the start value, or on a write that produced it?
        if len(found) > 1:
            return None
        pred[w.region] = found[0] if found else None
    return pred


def _ancestors(w: WriteOutcome, pred: dict[str, WriteOutcome | None]) -> set[str]:
    seen: set[str] = set()
    cur = pred.get(w.region)
    while cur is not None and cur.region not in seen:
        seen.add(cur.region)
        cur = pred.get(cur.region)
    return seen


def check_history(history: History) -> list[TrialResult]:
    """Re-check: judge every trial of a conflict-lab history."""
    mode = str(history.meta.get("config", {}).get("mode", "set"))
    tagged = bool(history.meta.get("tagged", False))
    starts: dict[int, dict[str, Any]] = {}
    ends: dict[int, dict[str, Any]] = {}
    for op in history.ops:
        if op.process == "lab" and op.f == "trial-start":
            starts[int(op.value["trial"])] = op.value
        elif op.process == "lab" and op.f == "trial-end":
            ends[int(op.value["trial"])] = op.value
    by_trial: dict[int, list[tuple[Op, Op | None]]] = {}
    for inv, done in history.pairs():
        if "trial" in inv.extra:
            by_trial.setdefault(int(inv.extra["trial"]), []).append((inv, done))
    return [
        judge_trial(t, mode, starts[t], ends.get(t), by_trial.get(t, []), tagged)
        for t in sorted(starts)
    ]


def trials_frame(results: Sequence[TrialResult]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([r.to_row() for r in results])


def _p(values: Sequence[float], q: float) -> float:
    values = sorted(v for v in values if not math.isnan(v))
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def summarize_trials(results: Sequence[TrialResult]) -> dict[str, Any]:
    """Batch figures: conflict rate, lost writes/updates, LWW verdicts, start skew."""
    n = len(results)
    conflicts = sum(1 for r in results if r.conflict)
    known = sum(1 for r in results if r.conflict is not None)
    skews = [r.start_skew_ms for r in results]
    conv = [r.convergence_ms for r in results]
    return {
        "trials": n,
        "conflicts": conflicts,
        "conflict_rate": conflicts / known if known else None,
        "acked_writes": sum(r.acked for r in results),
        "lost_writes": sum(len(r.lost) for r in results),
        "lost_increments": sum(r.lost_increments or 0 for r in results),
        "lost_amount": sum(r.lost_amount or 0 for r in results),
        "diverged": sum(1 for r in results if not r.converged),
        "lww_ok": sum(1 for r in results if r.lww == "ok"),
        "lww_tie": sum(1 for r in results if r.lww == "tie"),
        "lww_violations": sum(1 for r in results if r.lww == "violation"),
        "start_skew_ms_median": statistics.median(skews) if skews else None,
        "start_skew_ms_p99": _p(skews, 0.99) if skews else None,
        "convergence_ms_median": _p(conv, 0.5) if conv else None,
    }


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConflictProgress:
    state: str
    total: int
    done: int
    conflicts: int
    lost_writes: int
    lost_increments: int
    diverged: int
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

    def __init__(self, lab: ConflictLab, port: _Port, index: int) -> None:
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
                wrote = self.port.write(lab.config.mode, job.amount, job.tag)
                done = lab.history.ok(inv, {
                    "old": wrote.old, "old_tag": wrote.old_tag, "new": wrote.new,
                    "old_known": wrote.old_known,
                })
            except Exception as err:  # recorded; the checker allows for unknown outcomes
                kind, mapped = classify(err, f"write {lab.config.attribute}", self.port.region)
                done = lab.history.complete(inv, kind, None, error=str(mapped))
                if is_fatal(mapped):
                    lab._fatal = mapped
            job.done = done
            job.finished.set()


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
            error=str(self.error) if self.error else None,
        )

    def results(self) -> list[TrialResult]:
        with self._lock:
            return list(self._results)

    def frame(self) -> pd.DataFrame:
        return trials_frame(self.results())

    def summary(self) -> dict[str, Any]:
        return summarize_trials(self.results())

    def to_csv(self, path: str | Path | None = None) -> str:
        text = self.frame().to_csv(index=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_json(self, path: str | Path | None = None, *, include_history: bool = False) -> str:
        doc: dict[str, Any] = {
            "experiment": EXPERIMENT,
            "run_id": self.run_id,
            "state": self.state,
            "table": self.table,
            "regions": list(self.regions),
            "key": {"PK": self.config.pk, "SK": self.sk},
            "config": self.config.to_meta(),
            "error": self.error.to_dict() if self.error else None,
            "summary": jsonable(self.summary()),
            "trials": [r.to_dict() for r in self.results()],
        }
        if include_history:
            doc["history"] = self.history.to_dict()
        text = json.dumps(doc, indent=1, default=str)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    # -- internals ----------------------------------------------------------------------------

    def _begin(self) -> None:
        self._spawn(self._main, "conflict-lab")

    def _ports(self) -> list[_Port]:
        if self.config.path == "api":
            return [_ApiPort(self.conn, r, self.config, self.sk, self.api_timeout)
                    for r in self.regions]
        return [_DynamoPort(self.conn, r, self.table, self.config, self.sk)
                for r in self.regions]

    def _main(self) -> None:
        try:
            if self.conn.target.read_only:
                raise ReadOnlyError(
                    "the conflict lab writes and this target is read-only",
                    hint="drop --read-only to run it", action="start conflict lab",
                )
            ports = self._ports()
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

    def _prepare(self, ports: list[_Port]) -> tuple[Any, str | None, float]:
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
        self, ports: list[_Port], trial: int
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
        self, trial: int, ports: list[_Port], base: tuple[Any, str | None, float]
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
