"""A global table's consistency mode: multi-Region eventual (MREC) or strong (MRSC) consistency.

AWS fixes the mode when a table's first replicas are created (``UpdateTable`` with
``MultiRegionConsistency``) and shows it in ``DescribeTable``; an MRSC table has exactly three
Regions of one Region set: three replicas, or two replicas and a witness (which holds no readable
table). Experiments and the CLI learn a table's mode from DescribeTable (:func:`read_mode`) rather
than from a flag, so they cannot be told the wrong one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gtcore.errors import ConfigError, wrap

MREC = "MREC"
MRSC = "MRSC"
SINGLE = "single-Region"
MEMBERS = 3
REGION_SETS: dict[str, tuple[str, ...]] = {
    "US": ("us-east-1", "us-east-2", "us-west-2"),
    "EU": ("eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1"),
    "AP": ("ap-northeast-1", "ap-northeast-2", "ap-northeast-3"),
}
CONFLICT_CODE = "ReplicatedWriteConflictException"


def region_set(region: str) -> str | None:
    """The MRSC Region set a region belongs to (US, EU, AP), or None."""
    return next((name for name, regions in REGION_SETS.items() if region in regions), None)


def strong_members_problem(replicas: Iterable[str], witness: str | None = None) -> str | None:
    """Why these cannot make an MRSC table (three distinct Regions, two replicas and a witness or
    three replicas, all in one Region set), or None when they can."""
    replicas = list(replicas)
    members = replicas + ([witness] if witness else [])
    if len(set(members)) != len(members):
        return f"MRSC members must be distinct Regions, got {', '.join(members)}"
    if len(members) != MEMBERS:
        return (f"an MRSC global table has exactly {MEMBERS} Regions (three replicas, or two replicas and one "
                f"witness), got {len(members)}: {', '.join(members)}")
    sets = {region_set(r) for r in members}
    if None in sets or len(sets) != 1:
        listing = "; ".join(f"{name}: {', '.join(regions)}" for name, regions in REGION_SETS.items())
        return (f"the Regions of an MRSC global table must all be in one Region set ({listing}), "
                f"got {', '.join(members)}")
    return None


def check_strong_members(replicas: Iterable[str], witness: str | None = None) -> None:
    """Raise ConfigError unless these Regions can make an MRSC table."""
    problem = strong_members_problem(replicas, witness)
    if problem is not None:
        raise ConfigError(problem, hint="use --regions us-west-2,us-east-1,us-east-2, or two of them with "
                          "--witness the third", action="create an MRSC table")


@dataclass(frozen=True)
class TableMode:
    """What DescribeTable says about a table's replication: its mode and members."""

    consistency: str  # MREC, MRSC or single-Region
    replicas: tuple[str, ...] = ()  # every replica region, the one asked included
    witnesses: dict[str, str] = field(default_factory=dict)  # region -> WitnessStatus

    @property
    def strong(self) -> bool:
        return self.consistency == MRSC

    def to_dict(self) -> dict[str, Any]:
        return {"consistency": self.consistency, "replicas": list(self.replicas), "witnesses": dict(self.witnesses)}


def mode_of(desc: Mapping[str, Any], region: str) -> TableMode:
    """The mode a DescribeTable ``Table`` (read in ``region``) shows."""
    others = [r["RegionName"] for r in desc.get("Replicas") or [] if r.get("RegionName")]
    witnesses = {w["RegionName"]: w.get("WitnessStatus", "?") for w in desc.get("GlobalTableWitnesses") or []
                 if w.get("RegionName")}
    replicas = tuple(sorted({region, *others}))
    if desc.get("MultiRegionConsistency") == "STRONG":
        return TableMode(MRSC, replicas, witnesses)
    return TableMode(MREC if others else SINGLE, replicas if others else (region,), witnesses)


def read_mode(conn: Any, table: str, region: str) -> TableMode:
    """Ask DescribeTable in ``region`` (a GtError when it cannot be read)."""
    with wrap(f"describe table {table}", region):
        desc = conn.client("dynamodb", region).describe_table(TableName=table)["Table"]
    return mode_of(desc, region)


def read_mode_anywhere(conn: Any, table: str, regions: Iterable[str]) -> TableMode:
    """The mode, from the first of ``regions`` that answers (an isolated one may not)."""
    last: Exception | None = None
    for region in regions:
        try:
            return read_mode(conn, table, region)
        except Exception as err:  # try the next region; the last error explains
            last = err
    if last is not None:
        raise last
    raise ConfigError("no region to read the table's consistency mode from")
