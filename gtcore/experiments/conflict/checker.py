"""Conflict lab checker: judge every trial from the history alone (the rules are in
:mod:`gtcore.experiments.conflict`), and the batch figures."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from gtcore.history import History, Op, jsonable

if TYPE_CHECKING:
    import pandas as pd


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
    rejected: int = 0  # MRSC: ReplicatedWriteConflictException answers before it was acknowledged

    @property
    def latency_ms(self) -> float | None:
        """From sending (net of the stagger) to the acknowledgement, retries included."""
        return None if self.acked is None else (self.acked - self.sent) * 1000.0

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
    def rejected(self) -> int:
        """Writes rejected with ReplicatedWriteConflictException (MRSC), each retried."""
        return sum(w.rejected for w in self.writes)

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
            "rejected": self.rejected,
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
        data["rejected"] = self.rejected
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
            rejected=int(result.get("rejected") or 0),
        ))
    out.sort(key=lambda w: (w.sent, w.region))
    return out


def judge_trial(
    trial: int, mode: str, start: dict[str, Any], end: dict[str, Any] | None,
    pairs: Sequence[tuple[Op, Op | None]], tagged: bool,
) -> TrialResult:
    """Judge one trial from its ops (see :mod:`gtcore.experiments.conflict`)."""
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

    if any(w.rejected for w in writes):
        result.conflict = True  # MRSC: the service saw the race and rejected a write

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


def summarize_trials(results: Sequence[TrialResult], consistency: str | None = None) -> dict[str, Any]:
    """Batch figures: conflict rate, lost writes/updates, rejected writes, LWW verdicts, write
    latency, start skew; and in words what the table's consistency mode did."""
    n = len(results)
    latencies = [w.latency_ms for r in results for w in r.writes if w.latency_ms is not None]
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
        "writes_rejected": sum(r.rejected for r in results),
        "write_latency_ms_p50": _p(latencies, 0.5) if latencies else None,
        "write_latency_ms_p99": _p(latencies, 0.99) if latencies else None,
        "consistency": consistency,
    } | {"said": said(consistency, conflicts, sum(len(r.lost) for r in results), sum(r.rejected for r in results))}


def said(consistency: str | None, conflicts: int, lost: int, rejected: int) -> str:
    """What the mode did with the conflicts, in words (for a room, not a log)."""
    if consistency == "MRSC":
        return (f"MRSC: {conflicts} conflict(s); {rejected} write(s) rejected with ReplicatedWriteConflictException "
                f"and retried; {lost} acknowledged write(s) lost")
    label = consistency or "MREC"
    return (f"{label}: {conflicts} conflict(s); {lost} acknowledged write(s) silently lost (last writer wins), "
            f"{rejected} rejected")

