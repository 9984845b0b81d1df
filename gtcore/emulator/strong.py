"""Multi-Region strong consistency (MRSC) global tables, on top of the MREC machinery.

Control plane, in AWS's shapes: ``UpdateTable`` with ``ReplicaUpdates`` Create actions and
``MultiRegionConsistency: STRONG`` (plus at most one ``GlobalTableWitnessUpdates`` Create) turns an
empty single-Region table into an MRSC table of exactly three members (three replicas, or two and
a witness) in one Region set; ``DescribeTable`` then shows ``MultiRegionConsistency`` and
``GlobalTableWitnesses`` (``WitnessStatus`` CREATING then ACTIVE). Members can only go two at a
time (two replicas, or a replica with the witness), which leaves a single-Region table. Everything
else is a ``ValidationException``: the wrong count or Region set, a non-empty table, TTL or LSIs,
changing the mode of a global table, a fourth member, transactions, enabling TTL. AWS's messages
for these are not published; ours say what is wrong.

Data plane. A write in a member returns only once it is applied in one other member: the first
reachable one to answer (the replica or the witness nearest under the lag model), and its latency
includes that trip (:func:`sync_trip`). The third member gets it asynchronously, through the
replication engine, as in MREC. While a write is in flight, a write to the same item from another
Region fails with ``ReplicatedWriteConflictException`` (HTTP 409, as botocore's retry config
expects) and changes nothing anywhere. What the quorum acknowledged is kept per item (the witness's
change data, in effect) until every replica holds it; a strongly consistent read, and every write
(so conditions and update expressions see the latest version), first brings the local replica up
to that state. So ``ConsistentRead=true`` in any member returns the latest acknowledged write.

Isolation (the emulator's isolate fault; a paused (table, region) counts too): a member that
cannot reach another member has no quorum, and its writes and strongly consistent reads fail with
503 ``ServiceUnavailable`` (AWS does not document the code; a 5xx says "try another Region");
eventually consistent reads keep answering from local data. The other two members keep working,
a witness counting for the quorum. ``ReplicationLatency`` is not published for MRSC tables (their
writes are synchronous; AWS documents the metric for MREC only).

Limits of the emulation, said plainly: PartiQL writes to an MRSC table are refused (the emulator
cannot see which items a statement will write before it runs); BatchWriteItem conflicts fail the
whole batch (AWS does not say whether it returns them as UnprocessedItems).

Why one module of this size: the control plane and the data plane share the membership and the
per-item quorum state under one lock; the region-set rules live apart (:mod:`gtcore.consistency`).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.dynamodb.models.utilities import dynamo_json_dump

from gtcore.consistency import CONFLICT_CODE, MEMBERS, strong_members_problem
from gtcore.emulator.lag import LagModel, PairLag, RealisticLag
from gtcore.emulator.protocol import Headers, aws_json_response
from gtcore.emulator.replicas import ApiError
from gtcore.emulator.write_path import run_write
from gtcore.regions import REGIONS, physics_floor_ms

if TYPE_CHECKING:
    from gtcore.emulator import Emulator

Reply = tuple[int, Headers, bytes]
Describe = Callable[[str, str, int, Headers, bytes], Reply]

STRONG = "STRONG"
EVENTUAL = "EVENTUAL"
CONFLICT_MESSAGE = ("The request was rejected because one or more items in the request are being modified "
                    "by a request in another Region.")
_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})
_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})
_TRANSACTIONS = frozenset({"TransactWriteItems", "TransactGetItems", "ExecuteTransaction"})
_PARTIQL = frozenset({"ExecuteStatement", "BatchExecuteStatement"})
_CONTROL_KEYS = {"TableName", "ReplicaUpdates", "GlobalTableWitnessUpdates", "MultiRegionConsistency"}
_PROCESSING_MS = (4.0, 20.0, 8.0)  # a synchronous trip's work on top of the round trip: low, high, mode


def check_members(replicas: Iterable[str], witness: str | None = None) -> None:
    """Raise ApiError (ValidationException) unless these make a valid MRSC table."""
    problem = strong_members_problem(replicas, witness)
    if problem is not None:
        raise _invalid(problem)


def sync_trip(lag: LagModel, src: str, dst: str, rng: random.Random) -> float:
    """Seconds for a synchronous write from `src` to be acknowledged by `dst`. Under the realistic
    model it is the physical round trip plus a few ms of work (AWS: MRSC adds tens of ms within a
    Region set), not MREC's 0.5-2.5 s asynchronous pipeline; fixed, uniform and per-pair models
    give their own figure."""
    if isinstance(lag, PairLag):
        ms = lag.pairs.get((src, dst))
        return ms / 1000.0 if ms is not None else sync_trip(lag.default, src, dst, rng)
    if isinstance(lag, RealisticLag):
        floor = 2 * physics_floor_ms(src, dst) if src in REGIONS and dst in REGIONS else 0.0
        return (floor + rng.triangular(*_PROCESSING_MS)) / 1000.0
    return lag.sample(src, dst, rng)


def _invalid(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def _unavailable(region: str, table: str) -> ApiError:
    return ApiError("ServiceUnavailable", f"Region {region} cannot reach another Region of the MRSC global table "
                    f"{table}: writes and strongly consistent reads need a quorum (eventually consistent reads "
                    "still answer)", 503)


@dataclass
class _Acked:
    """The latest acknowledged write of an item: what a quorum holds."""

    stamp: tuple[float, str]
    image: dict[str, Any] | None
    holders: frozenset[str]


@dataclass
class _Group:
    name: str
    replicas: tuple[str, ...]
    witness: str | None
    tables: dict[str, Any]  # region -> moto Table object: a reset or a recreated table ends the group
    witness_ready: float  # monotonic time the witness becomes ACTIVE
    leaving: dict[str, float] = field(default_factory=dict)  # region -> time it is gone
    acked: OrderedDict[str, _Acked] = field(default_factory=OrderedDict)  # key -> latest, oldest first

    @property
    def members(self) -> tuple[str, ...]:
        return self.replicas + ((self.witness,) if self.witness else ())


class StrongConsistency:
    """The MRSC tables of one emulator: control plane, synchronous writes, strong reads."""

    def __init__(self, emu: Emulator, *, seed: int | None = None) -> None:
        self._emu = emu
        self._store = emu.store
        self._engine = emu.engine
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._groups: dict[str, _Group] = {}
        self._in_flight: dict[tuple[str, str], tuple[str, int]] = {}  # (table, key) -> (region, writes)
        self.conflicts = 0
        emu.publisher.exclude(self.is_strong)

    # -- lookups -------------------------------------------------------------------------
    def group(self, table: str) -> _Group | None:
        """The table's MRSC group, while it lasts (forgotten after a reset or the last removal)."""
        with self._lock:
            group = self._groups.get(table)
            if group is None:
                return None
            now = time.monotonic()
            for region, gone in list(group.leaving.items()):
                if now >= gone:
                    group.leaving.pop(region)
                    group.replicas = tuple(r for r in group.replicas if r != region)
                    group.tables.pop(region, None)
                    if region == group.witness:
                        group.witness = None
            alive = all(self._store.table(r, table) is t for r, t in group.tables.items())
            if not alive or len(group.members) < 2:
                del self._groups[table]
                return None
            return group

    def is_strong(self, table: str) -> bool:
        return table in self._groups and self.group(table) is not None  # no lock for the common "no"

    def describe(self, table: str) -> dict[str, Any] | None:
        """The table's mode and members (for the control API and tests), or None for MREC/plain tables."""
        group = self.group(table)
        if group is None:
            return None
        return {"MultiRegionConsistency": STRONG, "Replicas": list(group.replicas), "Witness": group.witness}

    # -- the gateway's entry point -------------------------------------------------------
    def answer(self, region: str, op: str, request: dict[str, Any], call: Callable[[], Reply],
               describe: Describe) -> Reply | None:
        """The reply to a DynamoDB request MRSC concerns, or None to let the usual path run
        (the caller holds no region lock)."""
        if op == "UpdateTable":
            return self._update_table(region, request, describe)
        if not self._groups:
            return None
        tables = _tables_named(op, request)
        groups = [g for g in (self.group(t) for t in tables) if g is not None]
        if not groups:
            return None
        names = ", ".join(g.name for g in groups)
        if op in _TRANSACTIONS:
            raise _invalid(f"Transactions are not supported on MRSC global tables ({names})")
        if op in _PARTIQL and not _partiql_reads(request):
            raise _invalid(f"PartiQL writes to MRSC global tables ({names}) are not supported by this emulator; "
                           "use PutItem, UpdateItem, DeleteItem or BatchWriteItem")
        if op == "UpdateTimeToLive" and (request.get("TimeToLiveSpecification") or {}).get("Enabled"):
            raise _invalid(f"Time to Live is not supported on MRSC global tables ({names})")
        if op == "DeleteTable" and region in groups[0].replicas:
            raise _invalid(f"Table {names} is a replica of an MRSC global table: remove two replicas (or a replica "
                           "and the witness) with UpdateTable ReplicaUpdates first, which leaves a single-Region table")
        local = [g for g in groups if region in g.replicas]
        if not local:
            return None  # the witness Region (or elsewhere) holds no table: moto says so
        if op in _WRITES:
            return self._write(region, op, request, local, call)
        if op in _READS | _PARTIQL and _strong_read(op, request):
            return self._strong_read(region, op, request, local, call)
        return None

    def describe_extras(self, region: str, table: str, extras: dict[str, Any]) -> dict[str, Any]:
        """DescribeTable's MRSC fields for a replica, on top of the replica manager's `extras`."""
        group = self.group(table)
        if group is None or region not in group.replicas:
            return extras
        out = {**extras, "MultiRegionConsistency": STRONG}
        if group.witness:
            status = self._witness_status(group)
            out["GlobalTableWitnesses"] = [{"RegionName": group.witness, "WitnessStatus": status}]
            if status != "ACTIVE" and out.get("TableStatus", "ACTIVE") == "ACTIVE":
                out["TableStatus"] = "UPDATING"
        return out

    @staticmethod
    def _witness_status(group: _Group) -> str:
        if group.witness in group.leaving:
            return "DELETING"
        return "ACTIVE" if time.monotonic() >= group.witness_ready else "CREATING"

    # -- control plane -------------------------------------------------------------------
    def _update_table(self, region: str, request: dict[str, Any], describe: Describe) -> Reply | None:
        name = request.get("TableName")
        mode = request.get("MultiRegionConsistency")
        witness_updates = request.get("GlobalTableWitnessUpdates")
        if not isinstance(name, str):
            return None
        group = self.group(name)
        if group is not None:
            if mode is not None:
                raise _invalid(f"Table {name} is an MRSC global table: its consistency mode cannot be changed")
            if "ReplicaUpdates" in request or witness_updates is not None:
                return self._remove_members(region, group, request, describe)
            return None
        if mode is None and witness_updates is None:
            return None
        table = self._store.table(region, name)
        if table is None:
            raise ApiError("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found")
        creates = _replica_creates(request.get("ReplicaUpdates"))
        if mode is not None and not creates:
            raise _invalid("MultiRegionConsistency is only valid when you create a global table with one or more "
                           "Create actions in ReplicaUpdates")
        if mode == EVENTUAL and witness_updates is None:
            request.pop("MultiRegionConsistency")  # the default: an MREC global table, the replica manager's
            return None
        witness = _witness_create(witness_updates)
        if mode != STRONG:
            raise _invalid("GlobalTableWitnessUpdates is only valid when creating an MRSC global table "
                           "(MultiRegionConsistency STRONG)")
        self._check_new(region, name, table, request, creates, witness)
        with self._store.region_lock(region):
            self._emu.replicas.apply_replica_updates(region, name, [{"Create": {"RegionName": r}} for r in creates])
        replicas = (region, *creates)
        with self._lock:
            self._groups[name] = _Group(
                name, replicas, witness, {r: self._store.table(r, name) for r in replicas},
                witness_ready=time.monotonic() + self._emu.replicas.create_seconds)
        return self._described(region, name, describe)

    def _check_new(self, region: str, name: str, table: Any, request: dict[str, Any], creates: list[str],
                   witness: str | None) -> None:
        extra = sorted(set(request) - _CONTROL_KEYS)
        if extra:
            raise _invalid(f"Creating an MRSC global table cannot be combined with other table changes "
                           f"({', '.join(extra)}): make them in a separate UpdateTable")
        if self._engine.members(name):
            raise _invalid(f"Table {name} is already a global table with multi-Region eventual consistency (MREC): "
                           "a global table's consistency mode cannot be changed")
        check_members([region, *creates], witness)
        if table.indexes:
            raise _invalid(f"Local secondary indexes are not supported on MRSC global tables; table {name} has "
                           f"{', '.join(ix.name for ix in table.indexes)}")
        if (table.ttl or {}).get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            raise _invalid(f"Time to Live is not supported on MRSC global tables; disable it on table {name} first")
        with self._store.region_lock(region):
            empty = next(iter(table.all_items()), None) is None
        if not empty:
            raise _invalid(f"Table {name} must be empty to become an MRSC global table; it holds items")

    def _remove_members(self, region: str, group: _Group, request: dict[str, Any],
                        describe: Describe) -> Reply | None:
        updates = request.get("ReplicaUpdates") or []
        actions = [next(iter(u), None) for u in updates if isinstance(u, dict)]
        if "Create" in actions or any("Create" in (u or {}) for u in request.get("GlobalTableWitnessUpdates") or []):
            raise _invalid(f"Table {group.name} is an MRSC global table with its {MEMBERS} Regions: no replica or "
                           "witness can be added to it")
        deletes = [u["Delete"].get("RegionName") for u in updates if isinstance(u, dict) and "Delete" in u]
        witness_deletes = [(u.get("Delete") or {}).get("RegionName")
                           for u in request.get("GlobalTableWitnessUpdates") or [] if isinstance(u, dict)]
        if not deletes and not witness_deletes:
            return None  # ReplicaUpdates Update only: the replica manager's
        if group.leaving:
            raise ApiError("ResourceInUseException", f"Table {group.name} is already removing members")
        if witness_deletes and witness_deletes != [group.witness]:
            raise _invalid(f"Witness {', '.join(map(str, witness_deletes))} is not the witness of table {group.name}")
        others = [r for r in group.replicas if r != region]
        if any(r not in others for r in deletes):
            raise _invalid(f"ReplicaUpdates Delete names {', '.join(map(str, deletes))}: the replicas of {group.name} "
                           f"other than {region} are {', '.join(others)} (the local Region cannot be deleted through "
                           "ReplicaUpdates)")
        removed = set(deletes) | set(witness_deletes)
        if len(removed) != 2:
            raise _invalid(f"Members of an MRSC global table go two at a time (two replicas, or a replica and the "
                           f"witness), leaving a single-Region table: table {group.name} cannot lose only "
                           f"{', '.join(sorted(map(str, removed)))}")
        with self._store.region_lock(region):
            self._emu.replicas.apply_replica_updates(region, group.name,
                                                     [{"Delete": {"RegionName": r}} for r in deletes])
        gone = time.monotonic() + min(1.0, self._emu.replicas.create_seconds / 2) + 0.05
        with self._lock:
            for r in removed:
                group.leaving[r] = gone
        return self._described(region, group.name, describe)

    def _described(self, region: str, name: str, describe: Describe) -> Reply:
        """UpdateTable's answer: the table as DescribeTable shows it, under TableDescription."""
        with self._store.region_lock(region):
            table = self._store.backend(region).describe_table(name)["Table"]
        _, headers, body = aws_json_response(json.loads(dynamo_json_dump({"TableDescription": table})))
        return describe(region, name, 200, headers, body)

    # -- data plane ----------------------------------------------------------------------
    def _peers(self, region: str, group: _Group) -> list[str]:
        """The members `region` can reach now (isolated regions and paused replicas cannot)."""
        def cut(r: str) -> bool:
            return self._engine.is_isolated(r) or (group.name, r) in set(self._engine.paused())

        if cut(region):
            return []
        return [m for m in group.members if m != region and m not in group.leaving and not cut(m)]

    def _quorum(self, region: str, groups: list[_Group]) -> dict[str, list[str]]:
        peers = {g.name: self._peers(region, g) for g in groups}
        for name, reachable in peers.items():
            if not reachable:
                raise _unavailable(region, name)
        return peers

    def _write(self, region: str, op: str, request: dict[str, Any], groups: list[_Group],
               call: Callable[[], Reply]) -> Reply:
        peers = self._quorum(region, groups)
        keys = self._request_keys(region, op, request, {g.name for g in groups})
        claimed = self._claim(region, keys)
        try:
            with self._store.region_lock(region):
                self._catch_up(region, keys)
                before = {tk: self._engine.stamp_of(region, *tk) for tk in keys}
                reply = run_write(self._emu, region, op, request, call)
                if reply[0] != 200:
                    return reply
                written = []
                for tk in keys:
                    stamp = self._engine.stamp_of(region, *tk)
                    if stamp is not None and stamp != before[tk]:
                        written.append((tk, stamp, self._store.read(region, *tk)))
            trip = 0.0
            for (table, key), stamp, image in written:
                peer, seconds = self._nearest(region, peers[table])
                self._apply(peer, table, key, stamp, image)
                self._acked(table, key, _Acked(stamp, image, frozenset({region, peer})))
                trip = max(trip, seconds)
            if not written:  # nothing changed (e.g. deleting a missing item): still a quorum round trip
                trip = max((self._nearest(region, p)[1] for p in peers.values()), default=0.0)
            time.sleep(trip)
            return reply
        finally:
            self._release(region, claimed)

    def _strong_read(self, region: str, op: str, request: dict[str, Any], groups: list[_Group],
                     call: Callable[[], Reply]) -> Reply:
        peers = self._quorum(region, groups)
        with self._store.region_lock(region):
            if op in ("GetItem", "BatchGetItem"):
                self._catch_up(region, self._request_keys(region, op, request, {g.name for g in groups}))
            else:
                for group in groups:
                    self._catch_up_table(region, group)
            reply = run_write(self._emu, region, op, request, call)
        time.sleep(max(self._nearest(region, p)[1] for p in peers.values()))
        return reply

    def _nearest(self, region: str, peers: list[str]) -> tuple[str, float]:
        """The peer whose acknowledgement comes back first, and when (seconds)."""
        lag = self._engine.lag
        with self._lock:
            trips = [(sync_trip(lag, region, p, self._rng), p) for p in peers]
        seconds, peer = min(trips)
        return peer, seconds

    def _apply(self, peer: str, table: str, key: str, stamp: tuple[float, str], image: dict[str, Any] | None) -> None:
        """Apply an acknowledged write in a replica (a witness keeps only the change data)."""
        if self._store.table(peer, table) is None:
            return
        with self._store.region_lock(peer):
            if self._engine.seed_stamp(peer, table, key, stamp):
                self._store.apply(peer, table, key, image)

    def _acked(self, table: str, key: str, acked: _Acked) -> None:
        """Keep the item's latest acknowledged write; forget those every replica holds."""
        with self._lock:
            group = self._groups.get(table)
            if group is None:
                return
            group.acked[key] = acked
            group.acked.move_to_end(key)
            while group.acked:
                head_key, head = next(iter(group.acked.items()))
                if not all((self._engine.stamp_of(r, table, head_key) or (0.0, "")) >= head.stamp
                           for r in group.replicas):
                    break
                group.acked.popitem(last=False)

    def _catch_up(self, region: str, keys: Iterable[tuple[str, str]]) -> None:
        """Bring `region`'s copies of these items to their latest acknowledged write (the caller
        holds the region's lock)."""
        for table, key in keys:
            with self._lock:
                group = self._groups.get(table)
                latest = group.acked.get(key) if group is not None else None
            if latest is not None:
                self._apply(region, table, key, latest.stamp, latest.image)

    def _catch_up_table(self, region: str, group: _Group) -> None:
        with self._lock:
            keys = list(group.acked)
        self._catch_up(region, ((group.name, k) for k in keys))

    def _claim(self, region: str, keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Mark the items as being modified from `region`; refuse the whole request (nothing
        written) when another Region is modifying one of them."""
        with self._lock:
            for tk in keys:
                owner = self._in_flight.get(tk)
                if owner is not None and owner[0] != region:
                    self.conflicts += 1
                    raise ApiError(CONFLICT_CODE, CONFLICT_MESSAGE, 409)
            for tk in keys:
                _, count = self._in_flight.get(tk, (region, 0))
                self._in_flight[tk] = (region, count + 1)
        return keys

    def _release(self, region: str, keys: list[tuple[str, str]]) -> None:
        with self._lock:
            for tk in keys:
                owner = self._in_flight.get(tk)
                if owner is None:
                    continue
                if owner[1] <= 1:
                    del self._in_flight[tk]
                else:
                    self._in_flight[tk] = (region, owner[1] - 1)

    def _request_keys(self, region: str, op: str, request: dict[str, Any], tables: set[str]) -> list[tuple[str, str]]:
        """(table, canonical key) of every item the request names in these tables (unreadable
        keys are skipped: validation refuses the request)."""
        named: list[tuple[str, Any]] = []
        if op in ("PutItem", "UpdateItem", "DeleteItem", "GetItem"):
            named.append((request.get("TableName"), request.get("Item") if op == "PutItem" else request.get("Key")))
        elif op == "BatchWriteItem":
            for table, entries in (request.get("RequestItems") or {}).items():
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict):
                        named.append((table, (entry.get("PutRequest") or {}).get("Item")
                                      or (entry.get("DeleteRequest") or {}).get("Key")))
        elif op == "BatchGetItem":
            for table, spec in (request.get("RequestItems") or {}).items():
                for key in (spec or {}).get("Keys") or [] if isinstance(spec, dict) else []:
                    named.append((table, key))
        out: list[tuple[str, str]] = []
        for table, attrs in named:
            if table not in tables or not isinstance(attrs, dict):
                continue
            moto_table = self._store.table(region, table)
            names = [a for a in (moto_table.hash_key_attr, moto_table.range_key_attr) if a] if moto_table else []
            if not names or any(not isinstance(attrs.get(a), dict) for a in names):
                continue
            key = json.dumps({a: attrs[a] for a in names}, sort_keys=True, separators=(",", ":"))
            if (table, key) not in out:
                out.append((table, key))
        return out


def _replica_creates(updates: Any) -> list[str]:
    if not isinstance(updates, list):
        return []
    out = []
    for update in updates:
        if not isinstance(update, dict) or set(update) != {"Create"}:
            raise _invalid("Creating an MRSC global table takes only Create actions in ReplicaUpdates")
        out.append(str((update["Create"] or {}).get("RegionName")))
    return out


def _witness_create(updates: Any) -> str | None:
    if updates is None:
        return None
    if not isinstance(updates, list) or len(updates) != 1 or not isinstance(updates[0], dict) \
            or set(updates[0]) != {"Create"}:
        raise _invalid("GlobalTableWitnessUpdates takes one Create action when creating an MRSC global table")
    return str((updates[0]["Create"] or {}).get("RegionName"))


def _tables_named(op: str, request: dict[str, Any]) -> list[str]:
    """Every table a request names."""
    names: list[Any] = [request.get("TableName")]
    if op in ("BatchWriteItem", "BatchGetItem"):
        names += list((request.get("RequestItems") or {}).keys())
    elif op in ("TransactWriteItems", "TransactGetItems"):
        for item in request.get("TransactItems") or []:
            for action in (item or {}).values() if isinstance(item, dict) else []:
                names.append((action or {}).get("TableName") if isinstance(action, dict) else None)
    elif op in _PARTIQL | {"ExecuteTransaction"}:
        statements = [request] if op == "ExecuteStatement" else (
            request.get("Statements") or request.get("TransactStatements") or [])
        for s in statements:
            text = (s or {}).get("Statement") if isinstance(s, dict) else None
            if isinstance(text, str):
                names += re.findall(r'"([A-Za-z0-9_.-]+)"', text)
                names += re.findall(r"(?i)\b(?:from|into|update)\s+([A-Za-z0-9_.-]+)", text)
    return list(dict.fromkeys(n for n in names if isinstance(n, str)))


def _partiql_reads(request: dict[str, Any]) -> bool:
    statements = [request] if "Statement" in request else request.get("Statements") or []
    return all(str((s or {}).get("Statement", "")).lstrip()[:6].upper() == "SELECT" for s in statements
               if isinstance(s, dict))


def _strong_read(op: str, request: dict[str, Any]) -> bool:
    if op == "BatchGetItem":
        specs = (request.get("RequestItems") or {}).values()
        return any(isinstance(s, dict) and s.get("ConsistentRead") for s in specs)
    return bool(request.get("ConsistentRead"))
