"""The workshop's table as an MRSC global table: made in one UpdateTable, removed two members at once.

An MRSC table is made from an empty table by a single ``UpdateTable`` that creates every other
replica (and the witness) with ``MultiRegionConsistency: STRONG``; no member can be added later,
and members go two at a time (two replicas, or a replica and the witness), leaving a single-Region
table. So setup makes it before loading the sample data, and teardown removes the two other
members in one call before deleting the table.
"""

from __future__ import annotations

import time
from typing import Any

from gtcore.consistency import MRSC, check_strong_members, mode_of
from gtcore.errors import ConfigError, wrap
from gtcore.workshop.report import _Run
from gtcore.workshop.table import _deadline, _describe, _replica_states, _wait_table
from gtcore.workshop.tags import CREATED_BY


def _settled(replicas: list[str], witness: str | None) -> Any:
    def check(desc: dict[str, Any] | None) -> bool:
        if not desc or desc.get("TableStatus") != "ACTIVE":
            return False
        states = {r["RegionName"]: r.get("ReplicaStatus") for r in desc.get("Replicas") or []}
        witnesses = {w["RegionName"]: w.get("WitnessStatus") for w in desc.get("GlobalTableWitnesses") or []}
        return all(states.get(r) == "ACTIVE" for r in replicas) and (
            witness is None or witnesses.get(witness) == "ACTIVE")

    return check


def ensure_strong(run: _Run, home: str, others: list[str], witness: str | None, wait: float) -> None:
    """Make the (empty) table in ``home`` an MRSC table with replicas in ``others`` (and the
    witness), or check that it already is one with those members."""
    table = run.target.table
    check_strong_members([home, *others], witness)
    started = time.monotonic()
    desc = _describe(run, home) or {}
    mode = mode_of(desc, home)
    wanted = sorted([home, *others])
    if mode.strong:
        if list(mode.replicas) != wanted or sorted(mode.witnesses) != ([witness] if witness else []):
            raise ConfigError(
                f"table {table} is already an MRSC table with replicas {', '.join(mode.replicas)}"
                + (f" and witness {', '.join(mode.witnesses)}" if mode.witnesses else "")
                + "; an MRSC table's members cannot change",
                hint="use the same --regions/--witness, or tear it down first (`python -m setup down`)",
                region=home, action="set up the workshop")
        _wait_table(run, home, _settled(others, witness), "every MRSC member to become ACTIVE", _deadline(wait))
        run.record(f"MRSC replicas of {table}", None, "exists", ", ".join(others)
                   + (f" + witness {witness}" if witness else ""), started)
        return
    if mode.replicas != (home,):
        raise ConfigError(
            f"table {table} is already an {mode.consistency} global table ({', '.join(mode.replicas)}); "
            "a global table's consistency mode cannot be changed",
            hint="tear it down first (`python -m setup down`), or set it up without --consistency strong",
            region=home, action="set up the workshop")
    run.tell("replica", f"making {table} an MRSC table: replicas {', '.join(others)}"
             + (f", witness {witness}" if witness else ""), home)
    params: dict[str, Any] = {"ReplicaUpdates": [{"Create": {"RegionName": r}} for r in others],
                              "MultiRegionConsistency": "STRONG"}
    if witness:
        params["GlobalTableWitnessUpdates"] = [{"Create": {"RegionName": witness}}]
    with wrap(f"make {table} an MRSC global table", home):
        run.ddb(home).update_table(TableName=table, **params)
    _wait_table(run, home, _settled(others, witness), "every MRSC member to become ACTIVE", _deadline(wait))
    for region in others:  # tags do not propagate to replicas: tag each copy, so `down` knows it
        own = _describe(run, region)
        if own is not None:
            with wrap(f"tag the replica of {table}", region):
                run.ddb(region).tag_resource(ResourceArn=own["TableArn"], Tags=[CREATED_BY])
    run.record(f"MRSC replicas of {table}", None, "created", ", ".join(others)
               + (f" + witness {witness}" if witness else ""), started)


def is_strong(desc: dict[str, Any] | None, region: str) -> bool:
    return bool(desc) and mode_of(desc or {}, region).consistency == MRSC


def remove_strong_members(run: _Run, home: str, desc: dict[str, Any], wait: float) -> list[str]:
    """Remove the other two members of the MRSC table in ``home`` in one UpdateTable (they must
    all be in the target's regions, the witness aside); returns the regions it removed, or the
    replicas outside ``--regions`` that kept it (nothing is removed then)."""
    table = run.target.table
    others = sorted(set(_replica_states(desc)) - {home})
    outside = [r for r in others if r not in run.target.regions]
    if outside:
        return outside
    witnesses = [w["RegionName"] for w in desc.get("GlobalTableWitnesses") or []]
    started = time.monotonic()
    run.tell("replica", f"removing the MRSC members {', '.join(others + witnesses)}", home)
    params: dict[str, Any] = {"ReplicaUpdates": [{"Delete": {"RegionName": r}} for r in others]}
    if witnesses:
        params["GlobalTableWitnessUpdates"] = [{"Delete": {"RegionName": w}} for w in witnesses]
    with wrap(f"remove the MRSC members of {table}", home):
        run.ddb(home).update_table(TableName=table, **params)
    _wait_table(run, home, lambda d: bool(d) and not d.get("Replicas") and not d.get("GlobalTableWitnesses")
                and d.get("TableStatus") == "ACTIVE", "the MRSC members to go", _deadline(wait))
    for region in others:
        run.record(f"replica of {table}", region, "deleted", "MRSC member", started)
    for region in witnesses:
        run.record(f"witness of {table}", region, "deleted", "MRSC witness", started)
    return []
