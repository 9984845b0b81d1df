"""Per-region status of a global table: table, replicas, settings, regional API and function.

All regions (and the parts of each region) are queried concurrently. A failure is part of the
result: a region whose table cannot be read carries its error message in ``RegionStatus.error``;
a part that fails (TTL, item count, API health, function concurrency) records its message in
``RegionStatus.errors[part]``. :func:`table_status` never raises for per-region problems.

On a local endpoint that is the project's emulator, the report also carries what the emulator
says about itself (:func:`emulator_health`): whether its background threads run, and the
replication faults recorded for the table (writes a replica could not apply), which no
DescribeTable would show, and the pairs where it delivers behind its lag model (overloaded: lag
measured there meanwhile is the emulator's backlog, not AWS-like lag).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from gtcore.errors import GtError, NotFoundError, wrap
from gtcore.target import Connection

__all__ = [
    "ApiHealth",
    "EmulatorHealth",
    "RegionStatus",
    "StatusReport",
    "count_items",
    "describe_region",
    "emulator_health",
    "table_status",
]

DEFAULT_COUNT_LIMIT = 20_000
CURRENT_VERSION = "2019.11.21"
LEGACY_VERSION = "2017.11.29"
LEGACY_NOTE = (f"legacy {LEGACY_VERSION} global table: upgrade to {CURRENT_VERSION} (AWS recommends it: simpler, "
               "cheaper writes, replicas managed with UpdateTable)")


@dataclass(frozen=True)
class ApiHealth:
    """The regional API's /health answer (a real read of the table through the function)."""

    url: str | None
    ok: bool
    status: int | None = None
    rtt_ms: float | None = None
    db_latency_ms: float | None = None
    served_by: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class EmulatorHealth:
    """The local emulator's own report: thread health, the table's replication faults, and the
    pairs it delivers behind its lag model (see gtcore.emulator.overload)."""

    endpoint: str
    healthy: bool
    problems: tuple[str, ...] = ()
    faults: tuple[dict[str, Any], ...] = ()  # this table's, newest first (see gtcore.emulator.faults)
    fault_total: int = 0  # every fault recorded, all tables, since start or the last clear
    behind: tuple[dict[str, Any], ...] = ()  # pairs delivering later than the model (overloaded)

    @property
    def ok(self) -> bool:
        return self.healthy and not self.problems and not self.faults and not self.behind

    def summaries(self) -> list[str]:
        """One line per problem, for people: "replication into eu-west-1 failed for 1 item: ..."."""
        lines = [f"the emulator is unhealthy: {p}" for p in self.problems]
        if not self.healthy and not self.problems:
            lines.append("the emulator is unhealthy")
        by_destination: dict[str, list[dict[str, Any]]] = {}
        for fault in self.faults:
            by_destination.setdefault(str(fault.get("destination")), []).append(fault)
        for destination, faults in sorted(by_destination.items()):
            items = {(f.get("table"), f.get("key")) for f in faults}
            latest = faults[0]
            lines.append(
                f"replication into {destination} failed for {len(items)} item{'s' if len(items) != 1 else ''}: "
                f"{latest.get('reason')} (item {latest.get('key')} from {latest.get('source')}); "
                "the replicas differ for it until it is written again"
            )
        for pair in self.behind:
            lines.append(
                f"the emulator is overloaded: replication {pair.get('source')} -> {pair.get('destination')} lands "
                f"{_seconds(pair.get('behind_ms'))} later than its lag model (p99 {_seconds(pair.get('p99_ms'))} "
                f"over the last minute, {pair.get('pending', 0)} pending); lag measured now is the emulator's "
                "backlog, not AWS-like lag: lighten the load"
            )
        return lines


def _seconds(ms: Any) -> str:
    return f"{float(ms or 0) / 1000.0:.1f} s"


@dataclass
class RegionStatus:
    """Everything known about the table in one region. ``error`` set: the table is unreadable."""

    region: str
    table: str
    table_status: str | None = None
    global_table_version: str | None = None
    consistency: str | None = None  # MultiRegionConsistency: EVENTUAL (default) or STRONG
    replicas: dict[str, str] = field(default_factory=dict)  # other regions -> ReplicaStatus
    witnesses: dict[str, str] = field(default_factory=dict)  # MRSC witness region -> WitnessStatus
    item_count: int | None = None  # DescribeTable ItemCount (AWS refreshes it ~every 6 h)
    size_bytes: int | None = None
    counted_items: int | None = None  # Scan Select=COUNT (only when asked)
    count_truncated: bool = False  # the counted scan stopped at the limit
    ttl_status: str | None = None
    ttl_attribute: str | None = None
    stream_enabled: bool | None = None
    stream_view_type: str | None = None
    api: ApiHealth | None = None
    function_name: str | None = None
    reserved_concurrency: int | None = None  # None: unreserved (no setting)
    function_found: bool | None = None
    elapsed_ms: float = 0.0
    error: str | None = None
    error_kind: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def members(self) -> tuple[str, ...]:
        """Regions of the global table as seen from here (this region included)."""
        if self.error:
            return ()
        return tuple(sorted({self.region, *self.replicas}))

    @property
    def legacy(self) -> bool:
        """A replica of a version 2017.11.29 (Legacy) global table."""
        return self.global_table_version == LEGACY_VERSION

    @property
    def throttled(self) -> bool:
        """The regional API function has reserved concurrency 0 (the workshop's Throttle)."""
        return self.reserved_concurrency == 0

    @property
    def healthy(self) -> bool:
        """Table ACTIVE, API answering (when checked), function not throttled, no errors."""
        return (
            self.error is None
            and self.table_status == "ACTIVE"
            and (self.api is None or self.api.ok)
            and not self.throttled
            and not self.errors
        )


@dataclass
class StatusReport:
    """Status of every region of a target, in the target's region order."""

    table: str
    regions: list[RegionStatus]
    checked_at: str
    elapsed_ms: float
    emulator: EmulatorHealth | None = None  # set when the endpoint is the project's emulator

    def by_region(self) -> dict[str, RegionStatus]:
        return {r.region: r for r in self.regions}

    @property
    def ok(self) -> bool:
        return (all(r.healthy for r in self.regions) and not self.missing_replicas()
                and (self.emulator is None or self.emulator.ok))

    def missing_replicas(self) -> list[str]:
        """Target regions the home region does not list as replicas of its global table."""
        if not self.regions or self.regions[0].error:
            return []
        members = set(self.regions[0].members)
        return [r.region for r in self.regions if r.region not in members]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        out["missing_replicas"] = self.missing_replicas()
        for region_out, region in zip(out["regions"], self.regions, strict=True):
            region_out["healthy"] = region.healthy
            region_out["legacy"] = region.legacy
            region_out["members"] = list(region.members)
        return out


def count_items(
    conn: Connection,
    region: str,
    *,
    limit: int = DEFAULT_COUNT_LIMIT,
    consistent: bool = False,
) -> tuple[int, bool]:
    """Count items with a Select=COUNT scan; returns (count, truncated).

    Stops once ``limit`` items were counted (then ``truncated`` is True): meant for small
    tables, where DescribeTable's ItemCount is too stale to be useful.
    """
    table = conn.target.table
    client = conn.client("dynamodb", region)
    total = 0
    kwargs: dict[str, Any] = {"TableName": table, "Select": "COUNT", "ConsistentRead": consistent}
    with wrap(f"count items of table {table}", region):
        while True:
            page = client.scan(**kwargs)
            total += int(page.get("Count", 0))
            last = page.get("LastEvaluatedKey")
            if not last:
                return total, False
            if total >= limit:
                return total, True
            kwargs["ExclusiveStartKey"] = last


def _describe(conn: Connection, region: str, st: RegionStatus) -> None:
    table = conn.target.table
    with wrap(f"read table {table}", region):
        desc = conn.client("dynamodb", region).describe_table(TableName=table)["Table"]
    st.table_status = desc.get("TableStatus")
    st.global_table_version = desc.get("GlobalTableVersion")
    st.consistency = desc.get("MultiRegionConsistency") or "EVENTUAL"
    st.replicas = {
        r["RegionName"]: r.get("ReplicaStatus", "UNKNOWN")
        for r in desc.get("Replicas", [])
        if r.get("RegionName") and r.get("RegionName") != region
    }
    st.witnesses = {w["RegionName"]: w.get("WitnessStatus", "UNKNOWN")
                    for w in desc.get("GlobalTableWitnesses") or [] if w.get("RegionName")}
    st.item_count = desc.get("ItemCount")
    st.size_bytes = desc.get("TableSizeBytes")
    spec = desc.get("StreamSpecification") or {}
    st.stream_enabled = bool(spec.get("StreamEnabled", False))
    st.stream_view_type = spec.get("StreamViewType") if st.stream_enabled else None
    if st.global_table_version != CURRENT_VERSION and st.stream_view_type == "NEW_AND_OLD_IMAGES":
        _legacy_group(conn, region, st)


def _legacy_group(conn: Connection, region: str, st: RegionStatus) -> None:
    """A 2017.11.29 replica is known by DescribeGlobalTable answering for its name (AWS's documented test:
    DescribeTable need not say); its members come from the replication group. Such replicas need
    NEW_AND_OLD_IMAGES streams, so no other table costs the extra call."""
    table = conn.target.table
    try:
        with wrap(f"read the 2017.11.29 global table {table}", region):
            group = conn.client("dynamodb", region).describe_global_table(GlobalTableName=table)
    except NotFoundError:
        return
    except GtError as err:  # the table itself was read: only this part failed
        st.errors["global_table"] = str(err)
        return
    st.global_table_version = LEGACY_VERSION
    st.replicas = {
        r["RegionName"]: r.get("ReplicaStatus", "ACTIVE")
        for r in group["GlobalTableDescription"].get("ReplicationGroup", [])
        if r.get("RegionName") and r["RegionName"] != region
    }


def _ttl(conn: Connection, region: str, st: RegionStatus) -> None:
    table = conn.target.table
    with wrap(f"read TTL settings of table {table}", region):
        desc = conn.client("dynamodb", region).describe_time_to_live(TableName=table)
    ttl = desc.get("TimeToLiveDescription") or {}
    st.ttl_status = ttl.get("TimeToLiveStatus", "DISABLED")
    st.ttl_attribute = ttl.get("AttributeName")


def _count(conn: Connection, region: str, st: RegionStatus, limit: int) -> None:
    st.counted_items, st.count_truncated = count_items(conn, region, limit=limit)


def _api(conn: Connection, region: str, st: RegionStatus, timeout: float) -> None:
    try:
        url = conn.api_base_url(region)
    except ImportError:
        st.api = ApiHealth(url=None, ok=False, error="no record of the regional API URLs")
        return
    if not url:
        st.api = ApiHealth(
            url=None, ok=False, error="no regional API URL recorded (run `python -m setup up`)"
        )
        return
    from gtcore.regional_client import RegionalApi

    try:
        reply = RegionalApi(url, timeout=timeout, region=region).health()
    except GtError as err:
        st.api = ApiHealth(url=url, ok=False, error=str(err), status=_http_status(err))
        return
    st.api = ApiHealth(
        url=url,
        ok=reply.ok,
        status=reply.status,
        rtt_ms=round(reply.rtt_ms, 1),
        db_latency_ms=reply.db_latency_ms,
        served_by=reply.region,
    )


def _http_status(err: GtError) -> int | None:
    code = err.code or ""
    return int(code[4:]) if code.startswith("HTTP") and code[4:].isdigit() else None


def _function(conn: Connection, region: str, st: RegionStatus) -> None:
    name = conn.target.function_name
    st.function_name = name
    try:
        with wrap(f"read reserved concurrency of function {name}", region):
            resp = conn.client("lambda", region).get_function_concurrency(FunctionName=name)
    except NotFoundError:
        st.function_found = False
        raise
    st.function_found = True
    value = resp.get("ReservedConcurrentExecutions")
    st.reserved_concurrency = None if value is None else int(value)


def describe_region(
    conn: Connection,
    region: str,
    *,
    count: bool = False,
    count_limit: int = DEFAULT_COUNT_LIMIT,
    check_api: bool = True,
    check_function: bool = True,
    api_timeout: float = 3.0,
    pool: ThreadPoolExecutor | None = None,
) -> RegionStatus:
    """Status of one region; never raises GtError (errors are recorded in the result)."""
    st = RegionStatus(region=region, table=conn.target.table)
    start = time.perf_counter()
    parts: dict[str, Callable[[], None]] = {"ttl": lambda: _ttl(conn, region, st)}
    if count:
        parts["count"] = lambda: _count(conn, region, st, count_limit)
    if check_api:
        parts["api"] = lambda: _api(conn, region, st, api_timeout)
    if check_function:
        parts["function"] = lambda: _function(conn, region, st)

    own_pool = pool is None
    executor = pool or ThreadPoolExecutor(max_workers=len(parts) + 1)
    try:
        futures = {name: executor.submit(fn) for name, fn in parts.items()}
        try:
            _describe(conn, region, st)
        except GtError as err:
            st.error, st.error_kind = str(err), err.kind
        for name, fut in futures.items():
            try:
                fut.result()
            except GtError as err:
                # Once the table itself is unreadable, its parts' errors add nothing.
                if st.error is None or name in ("api", "function"):
                    st.errors[name] = str(err)
    finally:
        if own_pool:
            executor.shutdown(wait=True)
    st.elapsed_ms = round((time.perf_counter() - start) * 1000.0, 1)
    return st


def emulator_health(conn: Connection, *, timeout: float = 3.0) -> EmulatorHealth | None:
    """What the emulator at the target's endpoint says about itself; None for real AWS and for
    an endpoint that is not the project's emulator (or does not answer: the regions say so)."""
    endpoint = conn.target.endpoint
    if endpoint is None:
        return None
    from gtcore.emulator.client import EmulatorControl  # only for local targets
    from gtcore.emulator.errors import EmulatorError

    try:
        answer = EmulatorControl(endpoint, timeout=timeout).faults()
    except (EmulatorError, ValueError, OSError):  # not our emulator, or no answer: the regions say so
        return None
    table = conn.target.table
    return EmulatorHealth(
        endpoint=endpoint,
        healthy=bool(answer.get("healthy")),
        problems=tuple(str(p) for p in answer.get("problems") or ()),
        faults=tuple(f for f in answer.get("faults") or () if isinstance(f, dict) and f.get("table") == table),
        fault_total=int(answer.get("total") or 0),
        behind=tuple(p for p in (answer.get("overload") or {}).get("pairs") or ()
                     if isinstance(p, dict) and p.get("behind")),
    )


def table_status(
    conn: Connection,
    *,
    count: bool = False,
    count_limit: int = DEFAULT_COUNT_LIMIT,
    check_api: bool = True,
    check_function: bool = True,
    api_timeout: float = 3.0,
) -> StatusReport:
    """Status of the target's table in every region, regions queried concurrently."""
    regions = conn.target.regions
    start = time.perf_counter()
    checked_at = datetime.now(UTC).isoformat(timespec="seconds")
    # One worker per region for DescribeTable plus one per (region, part).
    workers = len(regions) * (2 + int(count) + int(check_api) + int(check_function))
    with ThreadPoolExecutor(max_workers=min(64, workers)) as parts_pool, ThreadPoolExecutor(
        max_workers=len(regions)
    ) as region_pool:
        futures = [
            region_pool.submit(
                describe_region,
                conn,
                region,
                count=count,
                count_limit=count_limit,
                check_api=check_api,
                check_function=check_function,
                api_timeout=api_timeout,
                pool=parts_pool,
            )
            for region in regions
        ]
        emulator = parts_pool.submit(emulator_health, conn, timeout=api_timeout)
        results = [f.result() for f in futures]
    return StatusReport(
        table=conn.target.table,
        regions=results,
        checked_at=checked_at,
        elapsed_ms=round((time.perf_counter() - start) * 1000.0, 1),
        emulator=emulator.result(),
    )
