"""The replication engine on a fake clock: deterministic lag, last-writer-wins, faults."""

from __future__ import annotations

import random
import threading
from contextlib import AbstractContextManager
from typing import Any

import pytest

from gtcore.emulator.clock import FakeClock
from gtcore.emulator.engine import Delivery, ReplicationEngine
from gtcore.emulator.lag import FixedLag, LagSpecError, PairLag, RealisticLag, parse_lag


class DictStore:
    """Replicas as plain dicts: region -> table -> key -> image."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, dict[str, Any]]] = {}
        self._lock = threading.RLock()

    def region_lock(self, region: str) -> AbstractContextManager[Any]:
        return self._lock

    def apply(self, region: str, table: str, key: str, image: Any) -> bool:
        items = self.data.setdefault(region, {}).setdefault(table, {})
        if image is None:
            items.pop(key, None)
        else:
            items[key] = image
        return True

    def get(self, region: str, key: str, table: str = "t") -> Any:
        return self.data.get(region, {}).get(table, {}).get(key)


def make(lag: Any = None, regions: tuple[str, ...] = ("us-west-2", "eu-west-1")):
    store, clock, applied = DictStore(), FakeClock(), []
    engine = ReplicationEngine(store, clock=clock, lag=lag or FixedLag(100), rng=random.Random(1),
                               on_applied=lambda d, at: applied.append((d, at)))
    for region in regions:
        engine.add_replica("t", region, "ACTIVE")
    return engine, store, clock, applied


def write(engine: ReplicationEngine, store: DictStore, region: str, key: str, image: Any) -> None:
    store.apply(region, "t", key, image)
    engine.local_write(region, "t", key, image)


def test_a_write_arrives_exactly_after_the_fixed_lag() -> None:
    engine, store, clock, applied = make()
    write(engine, store, "us-west-2", "k", {"v": 1})
    clock.advance(0.099)
    assert engine.pump() == 0 and store.get("eu-west-1", "k") is None
    assert engine.pending() == {("us-west-2", "eu-west-1"): 1}
    clock.advance(0.001)
    assert engine.pump() == 1
    assert store.get("eu-west-1", "k") == {"v": 1}
    assert engine.pending() == {}
    delivery, at = applied[0]
    assert isinstance(delivery, Delivery) and at - delivery.write.ts == pytest.approx(0.1)


def test_last_writer_wins_and_every_replica_converges() -> None:
    engine, store, clock, _ = make(regions=("us-west-2", "eu-west-1", "ap-southeast-2"))
    write(engine, store, "us-west-2", "k", {"v": "west"})
    clock.advance(0.01)
    write(engine, store, "eu-west-1", "k", {"v": "eu"})  # later: must win everywhere
    clock.advance(0.001)
    write(engine, store, "ap-southeast-2", "k", {"v": "ap"})  # latest
    clock.advance(1)
    engine.pump()
    assert {store.get(r, "k")["v"] for r in ("us-west-2", "eu-west-1", "ap-southeast-2")} == {"ap"}
    assert engine.discarded_count >= 1


def test_an_older_write_arriving_late_is_discarded_so_replicas_never_go_back() -> None:
    lag = PairLag({("us-west-2", "eu-west-1"): 500, ("eu-west-1", "us-west-2"): 10})
    engine, store, clock, _ = make(lag=lag)
    write(engine, store, "us-west-2", "k", {"v": "old"})
    clock.advance(0.05)
    write(engine, store, "eu-west-1", "k", {"v": "new"})
    clock.advance(0.02)
    engine.pump()
    assert store.get("us-west-2", "k") == {"v": "new"}
    clock.advance(1)
    engine.pump()  # the old write reaches eu-west-1 after the new one was written there
    assert store.get("eu-west-1", "k") == {"v": "new"}


def test_deletes_replicate_and_win_by_timestamp() -> None:
    engine, store, clock, _ = make()
    write(engine, store, "us-west-2", "k", {"v": 1})
    clock.advance(1)
    engine.pump()
    write(engine, store, "eu-west-1", "k", None)
    clock.advance(1)
    engine.pump()
    assert store.get("us-west-2", "k") is None


def test_pause_holds_both_directions_and_resume_drains_everything() -> None:
    engine, store, clock, _ = make()
    engine.pause("t", "eu-west-1")
    for i in range(50):
        write(engine, store, "us-west-2", f"a{i}", {"v": i})
        write(engine, store, "eu-west-1", f"b{i}", {"v": i})
    clock.advance(5)
    engine.pump()
    assert store.get("eu-west-1", "a0") is None and store.get("us-west-2", "b0") is None
    assert engine.pending_total() == 100
    engine.resume("t", "eu-west-1")
    engine.pump()
    assert engine.pending_total() == 0
    assert all(store.get("eu-west-1", f"a{i}") == {"v": i} for i in range(50))
    assert all(store.get("us-west-2", f"b{i}") == {"v": i} for i in range(50))


def test_isolation_queues_replication_until_healed() -> None:
    engine, store, clock, _ = make()
    engine.isolate("eu-west-1")
    write(engine, store, "us-west-2", "k", {"v": 1})
    clock.advance(10)
    engine.pump()
    assert store.get("eu-west-1", "k") is None and engine.pending_total() == 1
    engine.heal("eu-west-1")
    engine.pump()
    assert store.get("eu-west-1", "k") == {"v": 1}


def test_removing_a_replica_drops_what_was_queued_for_it() -> None:
    engine, store, clock, _ = make()
    write(engine, store, "us-west-2", "k", {"v": 1})
    engine.remove_replica("t", "eu-west-1")
    assert engine.pending_total() == 0
    clock.advance(1)
    assert engine.pump() == 0


def test_writes_outside_a_global_table_are_not_shipped() -> None:
    engine, store, clock, _ = make()
    store.apply("us-west-2", "other", "k", {"v": 1})
    engine.local_write("us-west-2", "other", "k", {"v": 1})
    assert engine.pending_total() == 0


def test_realistic_lag_stays_in_the_documented_ranges() -> None:
    rng, model = random.Random(3), RealisticLag()
    same = [model.sample("us-west-2", "us-east-1", rng) for _ in range(2000)]
    ocean = [model.sample("us-west-2", "eu-west-1", rng) for _ in range(2000)]
    assert min(same) >= 0.5 and max(same) <= 2.5
    assert min(ocean) > 0.8 and max(ocean) < 3.7 and sum(ocean) / 2000 > sum(same) / 2000


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("fixed:250", "fixed:250"), ("uniform:100-300", "uniform:100-300"),
     ("pairs:us-west-2<>eu-west-1=800;default=fixed:50",
      "pairs:eu-west-1>us-west-2=800,us-west-2>eu-west-1=800;default=fixed:50")],
)
def test_lag_specs_parse_and_describe_themselves(spec: str, expected: str) -> None:
    assert parse_lag(spec).describe() == expected


@pytest.mark.parametrize("spec", ["", "fixed:", "fixed:abc", "fixed:-5", "uniform:9-1", "pairs:xx-1>us-west-2=5",
                                  "sometimes", "pairs:us-west-2>eu-west-1=5;oops"])
def test_bad_lag_specs_say_what_is_accepted(spec: str) -> None:
    with pytest.raises(LagSpecError):
        parse_lag(spec)


def test_a_tombstone_outlives_any_older_write_still_held() -> None:
    """A delete is remembered while an older write to the item waits, so resume cannot resurrect it."""
    from gtcore.emulator import engine as engine_module

    engine, store, clock, _ = make()
    engine.pause("t", "eu-west-1")
    write(engine, store, "us-west-2", "k", {"v": "old"})  # held on its way to eu-west-1
    clock.advance(1)
    write(engine, store, "eu-west-1", "k", None)  # deleted in eu-west-1 meanwhile (also held)
    clock.advance(engine_module.TOMBSTONE_SECONDS * 3)
    engine.pump()
    assert engine.sizes()["stamps"] == 2  # nothing forgotten while the older write is held
    engine.resume("t", "eu-west-1")
    engine.pump()
    assert store.get("eu-west-1", "k") is None and store.get("us-west-2", "k") is None
    clock.advance(engine_module.TOMBSTONE_SECONDS + engine_module.COLLECT_EVERY + 1)
    engine.pump()
    assert engine.sizes()["tombstones"] == 0  # and forgotten once nothing older can arrive
