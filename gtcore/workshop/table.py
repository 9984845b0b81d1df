"""The global table: create it, add and remove replicas, wait for DescribeTable to settle."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from gtcore.errors import ConfigError, GtError, NotFoundError, wrap
from gtcore.workshop.report import _Run
from gtcore.workshop.tags import CREATED_BY

KEY_SCHEMA = [
    {"AttributeName": "PK", "KeyType": "HASH"},
    {"AttributeName": "SK", "KeyType": "RANGE"},
]
ATTRIBUTES = [
    {"AttributeName": "PK", "AttributeType": "S"},
    {"AttributeName": "SK", "AttributeType": "S"},
]
_REPLICA_FAILED = {
    "CREATION_FAILED",
    "REGION_DISABLED",
    "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
    "REPLICATION_NOT_AUTHORIZED",
}
# UpdateTable errors while another replica update is still running.
_REPLICA_BUSY = ("ResourceInUseException", "LimitExceededException")


def _describe(run: _Run, region: str) -> dict[str, Any] | None:
    """DescribeTable's Table, or None when it does not exist."""
    table = run.target.table
    try:
        with wrap(f"describe table {table}", region):
            return run.ddb(region).describe_table(TableName=table)["Table"]
    except NotFoundError:
        return None


def _replica_states(desc: dict[str, Any]) -> dict[str, str]:
    out = {}
    for rep in desc.get("Replicas", []) or []:
        status = rep.get("ReplicaStatus", "?")
        pct = rep.get("ReplicaStatusPercentProgress")
        out[rep["RegionName"]] = f"{status} {pct}%" if pct and status != "ACTIVE" else status
    return out


def _wait_seconds(target: Any, timeout: float | None) -> float:
    """How long each wait may take: ``timeout``, else 60 s on the emulator, 30 min on AWS."""
    return timeout if timeout is not None else (60.0 if target.is_local else 1800.0)


def _deadline(timeout: float) -> float:
    return time.monotonic() + timeout


def _wait_table(run: _Run, region: str, until: Callable[[dict[str, Any] | None], bool],
                what: str, deadline: float) -> dict[str, Any] | None:
    """Poll DescribeTable until ``until(desc)``; raises GtError at the deadline."""
    while True:
        desc = _describe(run, region)
        if until(desc):
            return desc
        states = _replica_states(desc) if desc else {}
        bad = {r: s for r, s in states.items() if s.split()[0] in _REPLICA_FAILED}
        if bad:
            region_bad, state = next(iter(bad.items()))
            raise GtError(
                f"replica in {region_bad} is {state}",
                hint="see the DynamoDB console for the replica's status description; "
                "remove it (`python -m setup down`) and try again",
                region=region_bad,
                action=what,
            )
        status = desc.get("TableStatus", "?") if desc else "absent"
        run.tell("wait", f"{what}: table {status}", region, states or None)
        if time.monotonic() > deadline:
            raise GtError(
                f"gave up waiting ({what}); table is {status}, replicas {states or 'none'}",
                hint="AWS can take many minutes for a replica; run the same command again "
                "later, it carries on where it stopped",
                region=region,
                action=what,
            )
        time.sleep(run.poll)


def _active_with(regions: Iterable[str]) -> Callable[[dict[str, Any] | None], bool]:
    wanted = set(regions)

    def check(desc: dict[str, Any] | None) -> bool:
        if not desc or desc.get("TableStatus") != "ACTIVE":
            return False
        states = {r["RegionName"]: r.get("ReplicaStatus") for r in desc.get("Replicas", []) or []}
        return all(states.get(r) == "ACTIVE" for r in wanted)

    return check


def _without(region: str) -> Callable[[dict[str, Any] | None], bool]:
    def check(desc: dict[str, Any] | None) -> bool:
        if not desc:
            return True
        regions = {r["RegionName"] for r in desc.get("Replicas", []) or []}
        return region not in regions and desc.get("TableStatus") == "ACTIVE"

    return check


def _find_anchor(run: _Run) -> str | None:
    """The first region of the target where the table exists, or None."""
    for region in run.target.regions:
        run.tell("table", f"looking for table {run.target.table}", region)
        if _describe(run, region) is not None:
            return region
    return None


def _ensure_table(run: _Run, home: str, wait: float) -> None:
    table = run.target.table
    started = time.monotonic()
    run.tell("table", f"looking for table {table}", home)
    desc = _describe(run, home)
    if desc is not None:
        keys = sorted((k["AttributeName"], k["KeyType"]) for k in desc.get("KeySchema", []))
        if keys != [("PK", "HASH"), ("SK", "RANGE")]:
            raise ConfigError(
                f"table {table} exists in {home} with key {keys}, not PK (hash) + SK (range)",
                hint="use another --table name; setup leaves existing tables alone",
                region=home,
                action="set up the workshop",
            )
        if desc.get("TableStatus") != "ACTIVE":
            _wait_table(run, home, _active_with([]), f"table {table} to become ACTIVE",
                        _deadline(wait))
        run.record(f"table {table}", home, "exists", desc.get("TableStatus", ""), started)
        return
    with wrap(f"create table {table}", home):
        run.ddb(home).create_table(
            TableName=table,
            KeySchema=KEY_SCHEMA,
            AttributeDefinitions=ATTRIBUTES,
            BillingMode="PAY_PER_REQUEST",
            Tags=[CREATED_BY],
        )
    _wait_table(run, home, _active_with([]), f"table {table} to become ACTIVE", _deadline(wait))
    run.record(f"table {table}", home, "created", "on-demand, PK/SK strings", started)


def _update_replicas(run: _Run, via: str, update: str, region: str, what: str,
                     deadline: float) -> None:
    """UpdateTable ``ReplicaUpdates=[{update: {"RegionName": region}}]`` through ``via``.

    DynamoDB takes one replica update at a time: while another is still running, wait for the
    table to be ACTIVE and try again, until ``deadline``.
    """
    while True:
        try:
            with wrap(what, via):
                run.ddb(via).update_table(
                    TableName=run.target.table, ReplicaUpdates=[{update: {"RegionName": region}}]
                )
            return
        except GtError as err:
            if err.code not in _REPLICA_BUSY or time.monotonic() > deadline:
                raise
            _wait_table(run, via, _active_with([]), "table to become ACTIVE", deadline)


def _ensure_replicas(run: _Run, home: str, others: list[str], wait: float) -> None:
    table = run.target.table
    desc = _describe(run, home) or {}
    present = _replica_states(desc)
    for region in others:
        started = time.monotonic()
        if region in present:
            if present[region] != "ACTIVE":
                _wait_table(run, home, _active_with([region]),
                            f"replica in {region} to become ACTIVE", _deadline(wait))
            run.record(f"replica of {table}", region, "exists", present[region], started)
            continue
        run.tell("replica", f"adding a replica in {region}", region)
        deadline = _deadline(wait)
        _update_replicas(run, home, "Create", region, f"add a replica of {table} in {region}",
                         deadline)
        _wait_table(run, home, _active_with([region]), f"replica in {region} to become ACTIVE",
                    deadline)
        # Tags do not propagate to replicas: tag each copy setup made, so `down` knows it.
        own = _describe(run, region)
        if own is not None:
            with wrap(f"tag the replica of {table}", region):
                run.ddb(region).tag_resource(ResourceArn=own["TableArn"], Tags=[CREATED_BY])
        run.record(f"replica of {table}", region, "created", "ACTIVE", started)
    extra = sorted(set(present) - set(run.target.regions))
    if extra:
        run.record("replicas outside --regions", None, "kept", ", ".join(extra))
    run.tell("wait", "every replica ACTIVE", home,
             _replica_states(_describe(run, home) or {}) or None)


def _delete_replica(run: _Run, via: str, region: str, wait: float) -> None:
    """UpdateTable(Delete) from ``via`` and wait until the replica in ``region`` is gone."""
    table = run.target.table
    started = time.monotonic()
    deadline = _deadline(wait)
    run.tell("replica", f"removing the replica in {region}", region)
    _update_replicas(run, via, "Delete", region, f"remove the replica of {table} in {region}",
                     deadline)
    _wait_table(run, via, _without(region), f"replica in {region} to go", deadline)
    run.record(f"replica of {table}", region, "deleted", "", started)
