"""Failover drill checker: the verdict, judged from the history alone.

After the drill the replicas are re-read until they agree; then every region must hold the last
acknowledged bookmark (or a later write whose outcome was unknown).  Acknowledged writes that
the converged state does not reflect are lost: that count is the RPO and it must be 0.  RTO is
measured per outage from the first failed write to the first acknowledged write after it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from gtcore.history import History, Op, jsonable


@dataclass(frozen=True)
class Outage:
    """A run of failed writes and how it ended."""

    region: str  # where the first failed write went
    started: float  # monotonic time the first failed write was sent
    started_wall: float
    failed_writes: int
    recovered_region: str | None  # where the next acknowledged write went
    rto_ms: float | None  # first failure -> next acknowledged write (None: never recovered)

    @property
    def elsewhere(self) -> bool:
        return self.recovered_region is not None and self.recovered_region != self.region


@dataclass
class DrillVerdict:
    passed: bool
    converged: bool
    final_by_region: dict[str, Any]
    last_acked: str | None
    last_acked_region: str | None
    accepted_finals: list[str]
    writes: int
    acked: int
    failed: int
    unknown: int
    lost_acked: int  # RPO in writes: acknowledged writes the converged state does not reflect
    rpo_ms: float  # how much acknowledged progress was lost, in time (0 when none)
    outages: list[Outage] = field(default_factory=list)
    failovers: list[dict[str, Any]] = field(default_factory=list)
    regressions: int = 0  # a region's read went back to an older bookmark
    reasons: list[str] = field(default_factory=list)
    consistency: str | None = None  # the table's mode (MREC/MRSC) as DescribeTable said
    failover_lost: int = 0  # acknowledged bookmarks the failover region lacked as it took over
    failover_rpo_ms: float = 0.0  # ... in time: from the bookmark it held to the last acknowledged
    write_latency_ms_p50: float | None = None
    write_latency_ms_p99: float | None = None

    @property
    def said(self) -> str:
        """What the mode did when the region failed, in words."""
        label = self.consistency or "mode unknown"
        if not self.failovers:
            return f"{label}: no failover happened"
        if self.failover_lost:
            return (f"{label}: the failover region was {self.failover_lost} acknowledged bookmark(s) "
                    f"({self.failover_rpo_ms:.0f} ms) behind when it took over")
        return f"{label}: the failover region held the last acknowledged bookmark when it took over (RPO 0)"

    @property
    def rto_ms(self) -> float | None:
        """The longest recovery among outages that recovered (None when there was none)."""
        values = [o.rto_ms for o in self.outages if o.rto_ms is not None]
        return max(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rto_ms"] = self.rto_ms
        data["said"] = self.said
        for o, src in zip(data["outages"], self.outages, strict=True):
            o["elsewhere"] = src.elsewhere
        return jsonable(data)

    def describe(self) -> str:
        head = "PASSED" if self.passed else "FAILED"
        rto = f"{self.rto_ms:.0f} ms" if self.rto_ms is not None else "n/a"
        text = (f"{head}: {self.acked}/{self.writes} writes acknowledged, "
                f"{self.lost_acked} acknowledged lost (RPO), RTO {rto}, "
                f"{len(self.failovers)} region switches; {self.said}")
        if self.reasons:
            text += "; " + "; ".join(self.reasons)
        return text


def check_drill(history: History) -> DrillVerdict:
    """Judge a drill history (see the module docstring)."""
    writes = [(i, c) for i, c in history.pairs() if i.f == "write"]
    acked = [(i, c) for i, c in writes if c is not None and c.type == "ok"]
    failed = [(i, c) for i, c in writes if c is not None and c.type == "fail"]
    unknown = [(i, c) for i, c in writes if c is None or c.type == "info"]
    order = {i.value: n for n, (i, _) in enumerate(writes)}

    # the final state: the last round of final reads
    finals: dict[str, Any] = {}
    converged_flag = False
    for op in history.ops:
        if op.process == "drill" and op.f == "converged":
            converged_flag = bool(op.value.get("agreed"))
            finals = dict(op.value.get("by_region") or {})

    last = acked[-1] if acked else None
    last_value = last[0].value if last else None
    accepted = [last_value] if last else []
    if last is not None:
        accepted += [i.value for i, _ in unknown if i.index > last[0].index]
    values = set(finals.values())
    converged = converged_flag and len(values) == 1 and None not in values

    reasons: list[str] = []
    lost = 0
    rpo_ms = 0.0
    if not acked:
        reasons.append("no write was acknowledged")
    if not finals:
        reasons.append("the replicas were not re-read after the drill")
    elif not converged:
        reasons.append(f"the replicas did not converge: {finals}")
    if acked and finals:
        # measure loss against the oldest value any region ended with
        seqs = [order.get(v, -1) for v in finals.values()]
        floor = min(seqs)
        lost_ops = [(i, c) for i, c in acked if order[i.value] > floor]
        lost = len(lost_ops)
        if lost:
            kept = [c for i, c in acked if order[i.value] <= floor]
            since = kept[-1].time if kept else writes[0][0].time
            rpo_ms = (lost_ops[-1][1].time - since) * 1000.0
            reasons.append(
                f"{lost} acknowledged bookmark writes are missing from the final state "
                f"(last acknowledged {last_value!r}, regions hold {finals})"
            )
        elif converged and next(iter(values)) not in accepted:
            reasons.append(f"the replicas agree on {next(iter(values))!r}, which is not the "
                           f"last acknowledged bookmark {last_value!r}")

    # outages: a run of failures up to the next acknowledged write
    outages: list[Outage] = []
    current: list[tuple[Op, Op | None]] = []
    for inv, done in writes:
        if done is not None and done.type == "ok":
            if current:
                first = current[0][0]
                outages.append(Outage(first.region, first.time, first.wall, len(current),
                                      inv.region, (done.time - first.time) * 1000.0))
                current = []
        else:
            current.append((inv, done))
    if current:
        first = current[0][0]
        outages.append(Outage(first.region, first.time, first.wall, len(current), None, None))

    switches = [dict(op.value, time=op.time, wall=op.wall) for op in history.ops
                if op.process == "drill" and op.f in ("failover", "failback")]

    # per-region reads should never go back to an older bookmark
    regressions = 0
    newest: dict[str, int] = {}
    for inv, done in history.pairs():
        if inv.f != "read" or done is None or done.type != "ok" or done.value not in order:
            continue
        seq = order[done.value]
        if seq < newest.get(inv.region, -1):
            regressions += 1
        newest[inv.region] = max(seq, newest.get(inv.region, -1))
    if regressions:
        reasons.append(f"{regressions} reads went back to an older bookmark")

    failover_lost, failover_rpo_ms = _behind_at_failover(history, acked, order)
    latencies = [(c.time - i.time) * 1000.0 for i, c in acked]
    passed = bool(acked) and converged and lost == 0 and not reasons
    return DrillVerdict(
        consistency=(history.meta.get("mode") or {}).get("consistency"),
        failover_lost=failover_lost, failover_rpo_ms=failover_rpo_ms,
        write_latency_ms_p50=_p(latencies, 0.5), write_latency_ms_p99=_p(latencies, 0.99),
        passed=passed, converged=converged, final_by_region=finals,
        last_acked=last_value, last_acked_region=last[0].region if last else None,
        accepted_finals=accepted, writes=len(writes), acked=len(acked), failed=len(failed),
        unknown=len(unknown), lost_acked=lost, rpo_ms=rpo_ms, outages=outages,
        failovers=switches, regressions=regressions, reasons=reasons,
    )


def _behind_at_failover(history: History, acked: list[tuple[Op, Op | None]],
                        order: dict[Any, int]) -> tuple[int, float]:
    """The worst failover: how many acknowledged bookmarks the new region lacked when it took
    over (its resume read), and the time between the one it held and the last acknowledged."""
    worst = (0, 0.0)
    for op in history.ops:
        if op.process != "drill" or op.f != "failover":
            continue
        before = [(i, c) for i, c in acked if c is not None and c.time <= op.time]
        if not before:
            continue
        held = order.get(op.value.get("resumed"), -1)
        missing = [(i, c) for i, c in before if order[i.value] > held]
        if not missing:
            continue
        kept = [c for i, c in before if order[i.value] <= held]
        since = kept[-1].time if kept and kept[-1] is not None else missing[0][0].time
        last = before[-1][1]
        rpo = ((last.time if last is not None else since) - since) * 1000.0
        worst = max(worst, (len(missing), rpo))
    return worst


def _p(values: list[float], q: float) -> float | None:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))] if values else None


def holds_expected(history: History, values: Iterable[str | None]) -> bool:
    """True when every region's ``values`` are one value :func:`check_drill` would accept as
    final.  Until then replication may still be catching up, so the drill keeps re-reading."""
    held = set(values)
    writes = [(i, c) for i, c in history.pairs() if i.f == "write"]
    acked = [i for i, c in writes if c is not None and c.type == "ok"]
    if not acked:
        return len(held) == 1
    accepted = {acked[-1].value} | {
        i.value for i, c in writes if (c is None or c.type == "info") and i.index > acked[-1].index
    }
    return len(held) == 1 and held <= accepted
