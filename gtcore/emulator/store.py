"""moto's DynamoDB backends as the emulator's replica store, and the hooks that see writes.

moto has no locking and no change feed. This module adds both:

- one re-entrant lock per region; the gateway holds it for every DynamoDB request to that
  region, and the engine holds it while it applies a replicated write, so concurrent writers
  never lose an update and replicated writes never interleave with a local request;
- a thread-local write journal: while a request runs, every item key that moto puts, deletes
  or updates in place is noted (`Table.put_item`, `Table.delete_item`, and the backend's
  `update_item`, which edits items in place), with the item as it was before the request first
  touched it. After a successful request the gateway reads the current image of each noted key
  and hands it to the engine. Reading the state after the request makes every write path look
  the same (Put/Update/Delete, BatchWriteItem, TransactWriteItems, PartiQL). A request that
  fails is undone from the journal (moto writes a batch's valid items before it meets the
  invalid one, and edits an item in place before it finds the result too large), so a failed
  request changes nothing, as in AWS, and ships nothing.
- transactions roll back through the same journal: moto deep-copied every table a transaction
  names (2 s for one item on a 25,000-item table, the region locked meanwhile); the copy is
  skipped and undoing the journal restores just the items the transaction touched.

Writes the engine applies run outside any capture, so they are never replicated again.
"""

from __future__ import annotations

import copy
import json
import operator
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.common_models import BaseModel
from moto.dynamodb.exceptions import ConditionalCheckFailed, MockValidationException
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Item, StreamShard, Table

from gtcore.emulator.engine import Image

ACCOUNT_ID = DEFAULT_ACCOUNT_ID

_capture = threading.local()


@dataclass
class _Before:
    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None  # as it was before the first write of the request (None: absent)


class WriteJournal:
    """The item keys a request wrote, and how to put each back (see the module docstring).

    Iterating it yields the (region, table, key) of every written item."""

    def __init__(self) -> None:
        self.touched: set[tuple[str, str, str]] = set()
        self._before: dict[tuple[str, str, str], _Before] = {}
        self._streams: dict[int, tuple[StreamShard, int]] = {}

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        return iter(self.touched)

    def remember(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None, *,
                 mutable: bool) -> None:
        """Keep the item's current state unless this request already did. `mutable`: moto is
        about to edit the item object in place, so keep a copy rather than the object."""
        ident = (table.region_name, table.name, key_of(table, hash_key, range_key))
        if ident in self._before:
            return
        current = table.get_item(hash_key, range_key)
        if current is not None and mutable:
            current = copy.deepcopy(current)
        self._before[ident] = _Before(table, hash_key, range_key, current)
        shard = table.stream_shard
        if shard is not None and id(shard) not in self._streams:
            self._streams[id(shard)] = (shard, len(shard.items))

    def undo(self) -> None:
        """Put every item this request wrote back as it was; drop its stream records."""
        for before in self._before.values():
            _restore(before)
        for shard, length in self._streams.values():
            if len(shard.items) >= length:
                del shard.items[length:]
        self.touched.clear()
        self._before.clear()
        self._streams.clear()

    def absorb(self, inner: WriteJournal) -> None:
        """Take over what a nested journal recorded (its earlier states win only where new)."""
        self.touched |= inner.touched
        for ident, before in inner._before.items():
            self._before.setdefault(ident, before)
        for ident, stream in inner._streams.items():
            self._streams.setdefault(ident, stream)


def _restore(before: _Before) -> None:
    items = before.table.items
    if before.table.range_key_attr is None:
        if before.item is None:
            items.pop(before.hash_key, None)
        else:
            items[before.hash_key] = before.item
        return
    bucket = items.get(before.hash_key)
    if before.item is not None:
        items.setdefault(before.hash_key, {})[before.range_key] = before.item
    elif bucket is not None:
        bucket.pop(before.range_key, None)
        if not bucket:
            del items[before.hash_key]


def _journal() -> WriteJournal | None:
    return getattr(_capture, "journal", None)


def _remember(table: Table, hash_key: DynamoType, range_key: DynamoType | None, *, mutable: bool) -> None:
    journal = _journal()
    if journal is not None:
        journal.remember(table, hash_key, range_key, mutable=mutable)


def key_of(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> str:
    """The canonical text of an item key: the engine's per-item identity."""
    key = {table.hash_key_attr: hash_key.to_json()}
    if table.range_key_attr is not None and range_key is not None:
        key[table.range_key_attr] = range_key.to_json()
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


def _note(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
    journal = _journal()
    if journal is not None:
        journal.touched.add((table.region_name, table.name, key_of(table, hash_key, range_key)))


def _item_key(table: Table, attrs: Any) -> tuple[DynamoType, DynamoType | None] | None:
    """The key of an item moto is asked to put, or None when it has none (moto refuses it)."""
    try:
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
    return hash_key, range_key


_installed = False
_install_lock = threading.Lock()


def install_hooks() -> None:
    """Patch moto's classes once per process so every item write is noted (see module doc)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        put_item, delete_item, update_item = Table.put_item, Table.delete_item, DynamoDBBackend.update_item
        get_item, transact = Table.get_item, DynamoDBBackend.transact_write_items
        statement = DynamoDBBackend.execute_statement

        def hooked_put(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            key = _item_key(self, item_attrs)
            if key is not None:
                _remember(self, *key, mutable=False)
            item = put_item(self, item_attrs, *args, **kwargs)
            _note(self, item.hash_key, item.range_key)
            return item

        def hooked_delete(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Any:
            _remember(self, hash_key, range_key, mutable=False)
            item = delete_item(self, hash_key, range_key)
            if item is not None:
                _note(self, hash_key, range_key)
            if range_key is not None and not self.items.get(hash_key, True):
                del self.items[hash_key]  # moto leaves the hash key's empty bucket behind
            return item

        def hooked_get(self: Table, hash_key: DynamoType, range_key: DynamoType | None = None,
                       *args: Any, **kwargs: Any) -> Any:
            # moto's items are a defaultdict: looking up a missing hash key with a range key
            # would add an empty bucket for it, forever (one per GetItem of a missing item).
            if range_key and hash_key not in self.items:
                return None
            return get_item(self, hash_key, range_key, *args, **kwargs)

        def hooked_update(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any,
                          **kwargs: Any) -> Any:
            table = self.get_table(table_name)
            try:
                hash_key, range_key = self.get_keys_value(table, key)
            except Exception:  # a malformed key: moto's own call below refuses it, unwritten
                pass
            else:
                _remember(table, hash_key, range_key, mutable=True)
            item = update_item(self, table_name, key, *args, **kwargs)
            _note(table, item.hash_key, item.range_key)
            return item

        def hooked_transact(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            # moto deep-copies each named table to roll back; share them instead and roll back
            # the items this transaction wrote from its own journal.
            _capture.sharing_tables = True
            try:
                with capture() as journal:
                    try:
                        return transact(self, *args, **kwargs)
                    except BaseException:
                        journal.undo()
                        raise
            finally:
                _capture.sharing_tables = False

        def hooked_statement(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            text = str(kwargs.get("statement", args[0] if args else ""))
            with capture() as journal:
                try:
                    result = statement(self, *args, **kwargs)
                except (AssertionError, ValueError, KeyError, IndexError, TypeError) as err:
                    # moto's PartiQL parser fails with a traceback (an HTML 500) on what it cannot
                    # read; answer a ValidationException that says so instead.
                    raise MockValidationException(
                        "Statement wasn't well formed, can't be processed: the emulator's PartiQL parser "
                        f"(moto) cannot process it ({type(err).__name__}: {err}); pass values as ? parameters"
                    ) from err
            if text.lstrip()[:6].upper() == "UPDATE" and not journal.touched:
                # A PartiQL UPDATE is not an upsert: AWS refuses one whose WHERE matches no item.
                raise ConditionalCheckFailed()
            return result

        def table_deepcopy(self: Table, memo: dict[int, Any]) -> Any:
            if getattr(_capture, "sharing_tables", False):
                return self
            clone = object.__new__(type(self))  # what copy.deepcopy does for a plain object
            memo[id(self)] = clone
            clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
            return clone

        def exact(original: Any, operation: Any) -> Any:
            # moto adds numbers with int() unless they hold a ".", so `SET n = n + :v` with 9E125
            # was an HTML 500; DynamoDB computes with 38 digits. Compute with room to spare and let
            # validation refuse a result DynamoDB could not store.
            def arithmetic(self: DynamoType, other: DynamoType) -> DynamoType:
                if not (self.is_number() and getattr(other, "type", None) == self.type):
                    return original(self, other)
                with localcontext() as context:
                    context.prec = 80
                    try:
                        value = operation(Decimal(self.value), Decimal(other.value))
                    except ArithmeticError:
                        return original(self, other)
                return DynamoType({"N": f"{value}"})
            return arithmetic

        DynamoType.__add__ = exact(DynamoType.__add__, operator.add)  # type: ignore[method-assign]
        DynamoType.__sub__ = exact(DynamoType.__sub__, operator.sub)  # type: ignore[method-assign]

        stream_get = StreamShard.get

        def clamped_get(self: StreamShard, start: int, quantity: int) -> Any:
            # After trimming, an old iterator starts before the shard's first record: read from there.
            return stream_get(self, max(start, self.starting_sequence_number), quantity)

        StreamShard.get = clamped_get  # type: ignore[method-assign]

        def untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
            # moto's BaseModel keeps every instance it ever made in `cls.instances_tracked` (for
            # its web dashboard), so every item version, stream record and metric datum stayed
            # in memory forever: tens of MB per minute under steady writes. S3 reads the list.
            instance = super(BaseModel, cls).__new__(cls)
            if cls.__module__.startswith("moto.s3."):
                cls.instances_tracked.append(instance)  # type: ignore[attr-defined]
            return instance

        BaseModel.__new__ = staticmethod(untracked_new)  # type: ignore[method-assign,assignment]
        Table.put_item = hooked_put  # type: ignore[method-assign]
        Table.delete_item = hooked_delete  # type: ignore[method-assign]
        Table.get_item = hooked_get  # type: ignore[method-assign]
        DynamoDBBackend.update_item = hooked_update  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = hooked_transact  # type: ignore[method-assign]
        DynamoDBBackend.execute_statement = hooked_statement  # type: ignore[method-assign]
        Table.__deepcopy__ = table_deepcopy  # type: ignore[attr-defined]
        _installed = True


@contextmanager
def capture() -> Iterator[WriteJournal]:
    """Journal every item write made by this thread inside the block; a nested block's journal
    is absorbed by the outer one when it ends."""
    outer = _journal()
    journal = WriteJournal()
    _capture.journal = journal
    try:
        yield journal
    finally:
        _capture.journal = outer
        if outer is not None:
            outer.absorb(journal)


class MotoStore:
    """Per-region locks plus item reads and writes straight into moto's backends."""

    def __init__(self, account_id: str = ACCOUNT_ID) -> None:
        self.account_id = account_id
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        install_hooks()

    def lock_for(self, region: str) -> threading.RLock:
        lock = self._locks.get(region)
        if lock is None:
            with self._locks_guard:
                lock = self._locks.setdefault(region, threading.RLock())
        return lock

    def region_lock(self, region: str) -> threading.RLock:
        return self.lock_for(region)

    def backend(self, region: str) -> DynamoDBBackend:
        return dynamodb_backends[self.account_id][region]

    def table(self, region: str, name: str) -> Table | None:
        return self.backend(region).tables.get(name)

    @staticmethod
    def _key_values(table: Table, key: str) -> tuple[DynamoType, DynamoType | None]:
        attrs = json.loads(key)
        rng = attrs.get(table.range_key_attr) if table.range_key_attr else None
        return DynamoType(attrs[table.hash_key_attr]), (DynamoType(rng) if rng else None)

    def read(self, region: str, table_name: str, key: str) -> Image:
        table = self.table(region, table_name)
        if table is None:
            return None
        item = table.get_item(*self._key_values(table, key))
        return None if item is None else copy.deepcopy(item.to_json()["Attributes"])

    def apply(self, region: str, table_name: str, key: str, image: Image) -> bool:
        table = self.table(region, table_name)
        if table is None:
            return False
        if image is None:
            table.delete_item(*self._key_values(table, key))
        else:
            table.put_item(copy.deepcopy(image))
        return True

    def sizes(self) -> dict[str, int]:
        """Tables, items, hash-key buckets (empty ones are a leak) and stream records held.

        Without the region locks: copying a dict's values and taking lengths run whole under the
        GIL, and a count a request later is as good; `state` must answer while a region is busy."""
        out = dict.fromkeys(("tables", "items", "hash_keys", "empty_hash_keys", "stream_records"), 0)
        for backend in list(dynamodb_backends[self.account_id].values()):
            for table in list(backend.tables.values()):
                buckets = list(table.items.values())
                out["tables"] += 1
                out["hash_keys"] += len(buckets)
                if table.range_key_attr:
                    out["items"] += sum(len(b) for b in buckets)
                    out["empty_hash_keys"] += sum(1 for b in buckets if not b)
                else:
                    out["items"] += len(buckets)
                if table.stream_shard is not None:
                    out["stream_records"] += len(table.stream_shard.items)
        return out

    def trim_streams(self, keep: int) -> int:
        """Keep the newest `keep` records of every table's stream (moto never trims them)."""
        trimmed = 0
        for region, backend in list(dynamodb_backends[self.account_id].items()):
            for table in list(backend.tables.values()):
                shard = table.stream_shard
                if shard is None or len(shard.items) <= keep:
                    continue
                with self.region_lock(region):
                    drop = len(shard.items) - keep
                    del shard.items[:drop]
                    shard.starting_sequence_number += drop
                    trimmed += drop
        return trimmed

    def snapshot(self, region: str, table_name: str) -> list[tuple[str, dict[str, Any]]]:
        """Every (key, image) of a table, copied (the caller holds the region lock)."""
        table = self.table(region, table_name)
        if table is None:
            return []
        return [
            (key_of(table, item.hash_key, item.range_key), copy.deepcopy(item.to_json()["Attributes"]))
            for item in table.all_items()
        ]
